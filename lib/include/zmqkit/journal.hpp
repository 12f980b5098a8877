// The journal: an append-only log of (topic, envelope) records on disk, in a
// directory of segment files, each record numbered by fseq (1, 2, 3...) and
// protected by an XXH3 checksum. It knows nothing of ZeroMQ. docs/journal.md
// is the normative description of the format and of what each fsync policy
// promises.
//
// One journal object is used by one thread (the forwarder's); its readers
// belong to that thread too. A directory is opened for writing by one process
// at a time (an exclusive lock on DIR/LOCK); open_read_only() takes no lock,
// repairs nothing and is meant for offline inspection (zmq-journal).
//
// Example:
//   auto j = zmqkit::journal::open("/var/lib/zmqkit/journal", {});
//   std::uint64_t fseq = j.append(now_ns, "orders", envelope_bytes);
//   j.commit();                    // fdatasync'd: safe to acknowledge
//   auto r = j.read_from(1);
//   while (auto rec = r.next()) use(rec->fseq, rec->topic, rec->envelope);
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <zmqkit/error.hpp>

namespace zmqkit {

// When committed records reach the disk.
//   always       commit() returns after fdatasync: an acknowledged record
//                survives a power cut. The default.
//   interval:MS  commit() writes to the kernel and fdatasyncs at most every
//                MS: survives a crash of the process, a power cut may lose
//                the last MS.
//   never        commit() writes to the kernel; the kernel decides.
struct durability {
  enum class policy { always, interval, never };
  policy mode = policy::always;
  std::chrono::milliseconds interval{0};

  // "always", "never" or "interval:MS" (MS >= 1); throws std::invalid_argument.
  static durability parse(std::string_view text);
  std::string to_string() const;
};

// An optional key stored with a record: who sent it and its number in that
// sender's gap-free count, so a forwarder can rebuild its duplicate table
// from the journal (docs/protocol.md, Intake).
struct record_key {
  std::array<std::uint8_t, 16> sender{};
  std::uint64_t seq = 0;
};

// A record as read back. The views point into the reader's buffer and stay
// valid until its next call to next().
struct journal_record {
  std::uint64_t fseq = 0;
  std::int64_t time_ns = 0;
  std::string_view topic;
  std::string_view envelope;
  std::optional<record_key> key;
};

// A range of fseqs lost to damage (docs/journal.md, Quarantine): the file
// they were in, which fseqs no reader returns, and why.
struct journal_damage {
  enum class state {
    quarantined,  // renamed NNN.log.quarantined (at this open, an earlier one, or by a reader)
    bad,          // open_read_only() found it bad and left it; a writable open quarantines it
    torn,         // open_read_only(): bytes after the tail's last good record; a writable open cuts them
  };
  std::string file;              // as named on disk now
  std::uint64_t first_fseq = 0;  // the first fseq not returned
  std::uint64_t last_fseq = 0;   // the last; 0 for a torn tail: whatever followed first_fseq
  std::string problem;           // "bad record (checksum mismatch) at fseq 968", "quarantined earlier", ...
  state what = state::quarantined;
};

// The disk is full (ENOSPC or EDQUOT): the records appended since the last
// commit were not stored. Nothing committed is affected; appending may be
// tried again once space returns.
class journal_full : public error {
 public:
  using error::error;
};

// A write, sync or rename failed in a way the journal cannot vouch for
// (EIO from fdatasync above all). The journal refuses every further call;
// the owner must stop, and recovery on the next open finds what was stored.
class journal_failed : public error {
 public:
  using error::error;
};

class journal {
 public:
  struct options {
    std::uint64_t segment_bytes = 64ull << 20;  // roll to a new segment past this
    durability sync{};
    // Retention, applied by enforce_retention() to whole sealed segments,
    // oldest first. 0 means no limit.
    std::uint64_t max_bytes = 0;
    std::chrono::seconds max_age{0};
    std::uint64_t max_messages = 0;
    // Problems worth a line in a log (torn tail dropped, segment
    // quarantined). Called on the journal's thread; must not throw.
    std::function<void(const std::string&)> on_problem;
    // Each fdatasync of the segment being written, with how long it took
    // (the forwarder's fsync latency histogram). Called on the journal's
    // thread; must not throw.
    std::function<void(std::chrono::nanoseconds)> on_sync;
  };

  // What open() found and did, and the damage readers have found since.
  struct open_report {
    std::uint64_t bytes_dropped = 0;  // torn or bad tail truncated away (read-only: left, not read)
    std::string tail_problem;         // why, when bytes_dropped > 0
    // Every range of fseqs no reader returns because of damage: files
    // quarantined at this open or an earlier one, segments a reader
    // quarantined since, and with open_read_only() what a writable open
    // would quarantine or truncate. Ranges deleted by retention are not
    // damage and are not listed.
    std::vector<journal_damage> damaged;
  };

  struct segment_info {
    std::string file;
    std::uint64_t base_fseq = 0;
    std::uint64_t bytes = 0;
    std::uint64_t records = 0;  // the fseqs it holds: from its base to where the next segment starts
    bool sealed = false;
  };

  struct statistics {
    std::uint64_t first_fseq = 0;  // oldest record kept (next_fseq when empty)
    std::uint64_t next_fseq = 1;   // what the next append gets
    std::uint64_t bytes = 0;       // segment bytes on disk
    std::uint64_t segments = 0;
    std::uint64_t syncs = 0;                 // fdatasyncs done since open
    std::chrono::nanoseconds sync_time{0};   // spent in them
    std::uint64_t quarantined_segments = 0;  // since open
    std::uint64_t segments_removed = 0;      // by retention, since open
  };

  class reader;

  // Opens dir for writing, creating it if missing: locks it, checks every
  // segment's header, scans the tail segment and truncates a torn or bad
  // tail (reported in report()). A sealed segment with a bad header is
  // quarantined. Throws error (with errno) when the directory cannot be used,
  // including when another process holds it.
  static journal open(const std::string& dir, options opts);
  // Opens dir for inspection: no lock, no repair, nothing written. Damage
  // is reported in report().damaged, not repaired: a torn tail is left and
  // reads stop before it; a damaged tail is read up to its first bad record.
  static journal open_read_only(const std::string& dir);

  journal(journal&&) noexcept;
  journal& operator=(journal&&) noexcept;
  ~journal();

  // Adds a record, buffered until commit(); returns its fseq. time_ns is
  // raised to the previous record's time if it is earlier, so time order
  // matches fseq order (replay by time relies on it). Throws
  // std::length_error when topic or envelope exceed the format's limits,
  // journal_full when rolling to a new segment finds the disk full.
  std::uint64_t append(std::int64_t time_ns, std::string_view topic, std::string_view envelope,
                       const std::optional<record_key>& key = std::nullopt);

  // Writes what append() buffered and syncs it as the policy says; returns
  // the highest committed fseq (0 when empty). On journal_full the buffered
  // records are discarded (their fseqs are given out again) and the file is
  // as it was at the last commit. A failed fdatasync throws journal_failed.
  std::uint64_t commit();
  // commit(), then fdatasync whatever the policy: for a clean shutdown.
  std::uint64_t sync();
  // Records appended but not yet committed.
  std::size_t pending() const noexcept;

  // With the interval policy, the time by which sync_due() should be called
  // again; nullopt when nothing written is waiting for a sync.
  std::optional<std::chrono::steady_clock::time_point> sync_deadline() const;
  // Syncs written data when the interval has passed (a no-op otherwise).
  void sync_due();

  // Deletes the oldest sealed segments beyond the retention limits; returns
  // how many were deleted. The segment being written is never deleted.
  std::size_t enforce_retention(std::chrono::system_clock::time_point now =
                                    std::chrono::system_clock::now());

  // The first fseq whose record time is >= time_ns (next_fseq() if none).
  std::uint64_t fseq_at_time(std::int64_t time_ns);
  // A reader from fseq (clamped to first_fseq()) up to the last committed record.
  reader read_from(std::uint64_t fseq);

  std::uint64_t first_fseq() const noexcept;
  std::uint64_t next_fseq() const noexcept;       // next to be appended
  std::uint64_t committed_fseq() const noexcept;  // highest readable (0: none)
  std::uint64_t segment_base() const noexcept;    // first fseq of the segment being written
  const open_report& report() const noexcept;
  statistics stats() const;
  std::vector<segment_info> segments() const;
  const std::string& directory() const noexcept;
  const options& settings() const noexcept;

 private:
  struct state;  // shared with readers
  explicit journal(std::shared_ptr<state> s);
  std::shared_ptr<state> s_;
};

// Reads committed records in fseq order, checking every checksum. A bad
// record in a sealed segment quarantines that segment (reported through
// on_problem and in report().damaged) and the reader goes on with the next
// one: a corrupt record is never returned. Created by journal::read_from(); used on the journal's
// thread; stays valid after retention deletes the segment it is reading.
class journal::reader {
 public:
  reader(reader&&) noexcept;
  reader& operator=(reader&&) noexcept;
  ~reader();

  // The next committed record, or nullopt when the reader has caught up
  // (call again after later commits).
  std::optional<journal_record> next();
  // The fseq next() will look for.
  std::uint64_t position() const noexcept;
  // Records passed over because their segment was quarantined or removed by
  // retention before they were read.
  std::uint64_t skipped() const noexcept;

 private:
  friend class journal;
  struct impl;
  explicit reader(std::unique_ptr<impl> p);
  std::unique_ptr<impl> p_;
};

// Checks every record of every segment in dir without opening it for
// writing; for zmq-journal verify. Each problem names its file and the
// fseqs it makes unreadable (what is state::bad, or state::quarantined for
// a file set aside earlier).
struct journal_verification {
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;
  std::uint64_t segments = 0;
  std::vector<journal_damage> problems;
};
journal_verification verify_journal(const std::string& dir);

}  // namespace zmqkit
