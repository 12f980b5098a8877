// The journal keeps records in segment files named by their first fseq. Only
// the last segment (the tail) is ever written; the others are sealed and only
// read. Open does work proportional to the number of segments plus the size
// of the tail, never to the whole journal: sealed segments are trusted at
// open (their headers are checked) and every record's checksum is checked
// when it is read. A sealed segment found bad is renamed *.quarantined and
// its range of fseqs is skipped, loudly, by every reader.
//
// Durability rests on three rules: a record is committed only when write(2)
// has taken all of it; under the always policy commit() returns only after
// fdatasync; and any failed fdatasync makes the journal refuse further use,
// because after such a failure the kernel may already have dropped the dirty
// pages and a later successful sync would prove nothing.
#include <zmqkit/journal.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <set>
#include <stdexcept>

#include "journal_format.hpp"
#include "posix_file.hpp"

namespace zmqkit {

namespace jf = detail::jformat;
using detail::fd_handle;

namespace {

// One index entry per this many segment bytes: a seek reads at most this far.
constexpr std::uint64_t index_spacing = 1u << 20;

struct index_entry {
  std::uint64_t fseq;
  std::uint64_t offset;
  std::int64_t time_ns;
};

struct segment {
  std::uint64_t base = 0;
  std::string path;
  std::uint64_t bytes = 0;  // for the tail: bytes written and accepted
  bool quarantined = false;
  std::optional<std::int64_t> first_time;  // read on demand
  std::uint64_t end = 0;  // when set: one past its last fseq, if a gap follows it
  std::vector<index_entry> index;          // sparse, by offset
};

// EDQUOT has no std::errc; the error category maps it to the generic one too.
bool disk_full(const std::error_code& c) {
  return c == std::errc::no_space_on_device ||
         c == std::error_condition(EDQUOT, std::generic_category());
}

void note_index(std::vector<index_entry>& index, const index_entry& e) {
  if (index.empty() || e.offset >= index.back().offset + index_spacing) index.push_back(e);
}

}  // namespace

durability durability::parse(std::string_view text) {
  if (text == "always") return {policy::always, std::chrono::milliseconds(0)};
  if (text == "never") return {policy::never, std::chrono::milliseconds(0)};
  constexpr std::string_view prefix = "interval:";
  if (text.substr(0, prefix.size()) == prefix) {
    const std::string ms(text.substr(prefix.size()));
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(ms.c_str(), &end, 10);
    if (!ms.empty() && *end == '\0' && errno == 0 && v >= 1 && v <= 3600000)
      return {policy::interval, std::chrono::milliseconds(v)};
  }
  throw std::invalid_argument("fsync policy '" + std::string(text) +
                              "' is not one of always, interval:MS (1..3600000), never");
}

std::string durability::to_string() const {
  switch (mode) {
    case policy::always: return "always";
    case policy::never: return "never";
    case policy::interval: return "interval:" + std::to_string(interval.count());
  }
  return "?";
}

struct journal::state {
  // Reads dir's segments, repairs what a writable open repairs, and returns
  // the state a journal (and its readers) share.
  static std::shared_ptr<state> load(const std::string& dir, options opts, bool read_only);

  std::string dir;
  options opts;
  bool read_only = false;
  bool failed = false;
  fd_handle lock;
  std::map<std::uint64_t, segment> segs;  // by base fseq; the last is the tail
  fd_handle tail_fd;

  std::string pending;                  // encoded records not yet written
  std::size_t pending_count = 0;
  std::vector<index_entry> pending_index;
  std::uint64_t next = 1;               // next fseq to hand out
  std::uint64_t committed = 0;          // highest fseq written (readable)
  std::int64_t last_time = INT64_MIN;   // of the last appended record
  std::int64_t committed_time = INT64_MIN;

  bool unsynced = false;  // written since the last fdatasync
  std::chrono::steady_clock::time_point last_sync = std::chrono::steady_clock::now();

  open_report report;
  statistics counters;

  segment& tail() { return std::prev(segs.end())->second; }
  const segment& tail() const { return std::prev(segs.end())->second; }

  void problem(const std::string& line) const {
    if (opts.on_problem) opts.on_problem(line);
  }
  void check_usable() const {
    if (failed)
      throw journal_failed(EIO, "journal " + dir + " failed earlier and must be reopened");
    if (read_only) throw error(EROFS, "journal " + dir + " is open read-only");
  }
  [[noreturn]] void fail(const error& e) {
    failed = true;
    throw journal_failed(e.code().value(), e.what());
  }

  void sync_tail() {
    const auto t0 = std::chrono::steady_clock::now();
    try {
      detail::sync_data(tail_fd.get(), tail().path);
    } catch (const error& e) {
      fail(e);
    }
    last_sync = std::chrono::steady_clock::now();
    counters.syncs++;
    counters.sync_time += last_sync - t0;
    unsynced = false;
    if (opts.on_sync) opts.on_sync(last_sync - t0);
  }

  // Writes the pending records to the tail. On a full disk the file is cut
  // back to its last committed size and the pending records are forgotten.
  void write_pending() {
    if (pending.empty()) return;
    segment& t = tail();
    try {
      detail::write_all(tail_fd.get(), pending, t.path);
    } catch (const error& e) {
      if (!disk_full(e.code())) fail(e);
      try {
        detail::truncate_file(tail_fd.get(), t.bytes, t.path);
      } catch (const error& te) {
        fail(te);
      }
      discard_pending();
      throw journal_full(e.code().value(), std::string("journal ") + dir + ": disk full (" +
                                               e.code().message() + "); records not stored");
    }
    t.bytes += pending.size();
    for (const auto& e : pending_index) note_index(t.index, e);
    committed = next - 1;
    committed_time = last_time;
    pending.clear();
    pending_index.clear();
    pending_count = 0;
    unsynced = true;
  }

  void discard_pending() {
    next -= pending_count;
    last_time = committed_time;
    pending.clear();
    pending_index.clear();
    pending_count = 0;
  }

  // Makes an empty segment starting at base the new tail, durably.
  void create_segment(std::uint64_t base) {
    const std::string path = dir + "/" + jf::segment_name(base);
    fd_handle fd;
    try {
      fd = detail::open_file(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND);
      detail::write_all(fd.get(), jf::encode_segment_header(base), path);
      detail::sync_data(fd.get(), path);
      detail::sync_directory(dir);
    } catch (const error& e) {
      if (!disk_full(e.code())) fail(e);
      ::unlink(path.c_str());
      throw journal_full(e.code().value(),
                         "journal " + dir + ": disk full, cannot start segment " + path);
    }
    segment s;
    s.base = base;
    s.path = path;
    s.bytes = jf::segment_header_size;
    segs[base] = std::move(s);
    tail_fd = std::move(fd);
    counters.segments++;
  }

  // Seals the tail (everything in it written and synced) and starts a new one.
  void roll() {
    write_pending();
    sync_tail();
    create_segment(next);
  }

  // Renames a segment aside; readers skip its fseqs from now on. The fseqs
  // first to last are the ones lost (those before first were read, if any).
  // A read-only journal only marks it and reports it as bad.
  void quarantine(std::uint64_t base, const std::string& why, std::uint64_t first, std::uint64_t last) {
    auto it = segs.find(base);
    if (it == segs.end() || it->second.quarantined) return;
    segment& s = it->second;
    const std::string to = s.path + std::string(jf::quarantine_suffix);
    const std::string line = "journal: segment " + s.path + " quarantined: " + why;
    if (!read_only) {
      if (::rename(s.path.c_str(), to.c_str()) != 0)
        fail(error(errno, "cannot quarantine " + s.path));
      try {
        detail::sync_directory(dir);
      } catch (const error& e) {
        fail(e);
      }
      s.path = to;
    }
    s.quarantined = true;
    s.index.clear();
    using st = journal_damage::state;
    report.damaged.push_back({s.path, first, last, why, read_only ? st::bad : st::quarantined});
    if (!read_only) counters.quarantined_segments++;
    problem(line);
  }

  // First fseq after the segment at base: the next segment's base, or for the
  // tail the next fseq to be written.
  std::uint64_t end_of(std::uint64_t base) const {
    if (auto own = segs.find(base); own != segs.end() && own->second.end != 0) return own->second.end;
    auto it = segs.upper_bound(base);
    return it == segs.end() ? committed + 1 : it->first;
  }

  std::uint64_t first() const {
    for (const auto& [base, s] : segs)
      if (!s.quarantined) return std::min(base, next);
    return next;
  }

  // Reads the first record's time of a segment (nullopt when it has none or
  // it cannot be read; a bad record is left for a reader to find).
  std::optional<std::int64_t> first_time(segment& s) {
    if (s.first_time) return s.first_time;
    if (s.quarantined || s.bytes <= jf::segment_header_size) return std::nullopt;
    try {
      const fd_handle fd = detail::open_file(s.path, O_RDONLY);
      std::string buf(jf::record_header_size, '\0');
      if (detail::pread_some(fd.get(), buf.data(), buf.size(), jf::segment_header_size, s.path) <
          buf.size())
        return std::nullopt;
      s.first_time = static_cast<std::int64_t>(jf::get_le(buf.data() + 20, 8));
    } catch (const error&) {
      return std::nullopt;
    }
    return s.first_time;
  }
};

// --- opening ---------------------------------------------------------------

namespace {

struct scan_result {
  std::uint64_t good_end = 0;  // offset after the last good record
  std::uint64_t next = 0;      // fseq after the last good record
  std::int64_t last_time = INT64_MIN;
  std::string problem;         // why the scan stopped before the end
};

// Reads a segment's records from the header on, stopping at the first that is
// short, bad or out of order. Notes sparse index entries on the way.
scan_result scan_segment(int fd, const std::string& path, std::uint64_t base,
                         std::uint64_t size, std::vector<index_entry>* index) {
  scan_result r;
  r.good_end = jf::segment_header_size;
  r.next = base;
  std::string buf;
  std::size_t start = 0;        // parse position in buf
  std::uint64_t buf_off = r.good_end;  // file offset of buf[0]
  std::uint64_t read_to = r.good_end;
  for (;;) {
    const auto p = jf::parse_record(std::string_view(buf).substr(start));
    if (p.st == jf::parsed::status::need_more) {
      if (read_to >= size) {
        if (start < buf.size()) r.problem = "torn record at the end";
        return r;
      }
      buf.erase(0, start);
      buf_off += start;
      start = 0;
      const std::size_t want = std::max<std::size_t>(p.size, 1u << 20);
      const std::size_t have = buf.size();
      buf.resize(have + want);
      const std::size_t n = detail::pread_some(fd, buf.data() + have, want, read_to, path);
      buf.resize(have + n);
      read_to += n;
      if (n == 0) {
        r.problem = "torn record at the end";
        return r;
      }
      continue;
    }
    if (p.st == jf::parsed::status::bad) {
      r.problem = std::string("bad record (") + p.why + ")";
      return r;
    }
    if (p.fseq != r.next) {
      r.problem = "record out of order (fseq " + std::to_string(p.fseq) + " where " +
                  std::to_string(r.next) + " was due)";
      return r;
    }
    if (index) note_index(*index, {p.fseq, buf_off + start, p.time_ns});
    r.last_time = p.time_ns;
    r.next++;
    start += p.size;
    r.good_end = buf_off + start;
  }
}

// Whether a record that checks out, numbered fseq or later, starts anywhere
// in [from, size): tells damage in the middle from a torn end.
bool record_after(int fd, const std::string& path, std::uint64_t from, std::uint64_t size,
                  std::uint64_t fseq) {
  const std::uint64_t n = std::min<std::uint64_t>(size - from, 256u << 20);
  std::string rest(static_cast<std::size_t>(n), '\0');
  rest.resize(detail::pread_some(fd, rest.data(), rest.size(), from, path));
  for (std::size_t at = 1; at + jf::record_header_size <= rest.size(); ++at) {
    const auto p = jf::parse_record(std::string_view(rest).substr(at));
    if (p.st == jf::parsed::status::ok && p.fseq >= fseq) return true;
  }
  return false;
}

std::string read_header(int fd, const std::string& path) {
  std::string h(jf::segment_header_size, '\0');
  h.resize(detail::pread_some(fd, h.data(), h.size(), 0, path));
  return h;
}

// The last fseq a damaged file can have held, bases being those of every
// segment file, live or set aside: a segment ends where the next one
// begins, and the newest holds at most one record per 32 bytes.
std::uint64_t last_held(const std::set<std::uint64_t>& bases, std::uint64_t base, std::uint64_t bytes) {
  const auto after = bases.upper_bound(base);
  return after != bases.end() ? *after - 1 : base + bytes / jf::record_header_size;
}

bool by_first_fseq(const journal_damage& a, const journal_damage& b) { return a.first_fseq < b.first_fseq; }

}  // namespace

journal::journal(std::shared_ptr<state> s) : s_(std::move(s)) {}
journal::journal(journal&&) noexcept = default;
journal& journal::operator=(journal&&) noexcept = default;
journal::~journal() = default;

std::shared_ptr<journal::state> journal::state::load(const std::string& dir, options opts,
                                                   bool read_only) {
  auto st = std::make_shared<journal::state>();
  auto& s = *st;
  s.dir = dir;
  s.opts = std::move(opts);
  s.read_only = read_only;
  if (s.opts.segment_bytes < 4096) s.opts.segment_bytes = 4096;

  if (!read_only) {
    detail::make_directory(dir);
    s.lock = detail::open_file(dir + "/LOCK", O_RDWR | O_CREAT);
    if (::flock(s.lock.get(), LOCK_EX | LOCK_NB) != 0)
      throw error(errno, "journal " + dir + " is in use by another process (lock on " + dir +
                             "/LOCK)");
  } else if (!detail::exists(dir)) {
    throw error(ENOENT, "no journal at " + dir);
  }

  using damage_state = journal_damage::state;
  std::uint64_t past_quarantine = 1;  // no fseq at or above this was ever in a quarantined file
  std::set<std::uint64_t> bases;      // of every segment file, live or set aside
  struct set_aside_file {
    std::string path;
    std::uint64_t base, bytes;
  };
  std::vector<set_aside_file> set_aside;
  for (const auto& name : detail::list_directory(dir)) {
    const std::string_view n(name);
    const bool q = n.size() > jf::quarantine_suffix.size() &&
                   n.substr(n.size() - jf::quarantine_suffix.size()) == jf::quarantine_suffix;
    const auto base = jf::parse_segment_name(q ? n.substr(0, n.size() - jf::quarantine_suffix.size()) : n);
    if (!base) continue;
    segment seg;
    seg.base = *base;
    seg.path = dir + "/" + name;
    seg.quarantined = q;
    const fd_handle fd = detail::open_file(seg.path, O_RDONLY);
    seg.bytes = detail::file_size(fd.get(), seg.path);
    bases.insert(*base);
    if (q) {
      set_aside.push_back({seg.path, *base, seg.bytes});
      // Each record takes more than a header's bytes, so this bounds the
      // fseqs the file can have held.
      past_quarantine = std::max(past_quarantine, *base + seg.bytes / jf::record_header_size + 1);
    }
    // A quarantined and a live file with the same base: the live one wins.
    if (auto it = s.segs.find(*base); it != s.segs.end() && !it->second.quarantined) continue;
    s.segs[*base] = std::move(seg);
  }
  for (const auto& f : set_aside)
    s.report.damaged.push_back({f.path, f.base, last_held(bases, f.base, f.bytes), "quarantined earlier",
                                damage_state::quarantined});

  // Sealed segments: check headers only.
  std::uint64_t tail_base = 0;
  for (auto it = s.segs.rbegin(); it != s.segs.rend(); ++it)
    if (!it->second.quarantined) {
      tail_base = it->first;
      break;
    }
  for (auto& [base, seg] : s.segs) {
    if (seg.quarantined || base == tail_base) continue;
    const fd_handle fd = detail::open_file(seg.path, O_RDONLY);
    std::string why;
    const auto b = jf::decode_segment_header(read_header(fd.get(), seg.path), why);
    if (!b || *b != base)
      s.quarantine(base, b ? "header names base fseq " + std::to_string(*b) : why, base,
                   last_held(bases, base, seg.bytes));
  }

  // Quarantined files after the tail mean the tail is not the newest data.
  // Drop them from the map (they stay on disk and in the report) and start
  // fresh past them.
  bool tail_ends_early = false;  // fseqs after the tail's last good record were set aside
  for (auto it = s.segs.begin(); it != s.segs.end();) {
    if (it->second.quarantined && it->first > tail_base) {
      tail_ends_early = true;
      it = s.segs.erase(it);
    } else {
      ++it;
    }
  }

  if (tail_base != 0) {
    segment& t = s.segs[tail_base];
    fd_handle fd = detail::open_file(t.path, read_only ? O_RDONLY : O_RDWR | O_APPEND);
    const std::string header = read_header(fd.get(), t.path);
    std::string why;
    const auto b = jf::decode_segment_header(header, why);
    const bool blank = std::all_of(header.begin(), header.end(), [](char c) { return c == '\0'; });
    if (!b || *b != tail_base) {
      if (blank && t.bytes <= jf::segment_header_size) {
        // Created but its header never reached the disk: start it again.
        s.report.bytes_dropped += t.bytes;
        s.report.tail_problem = "segment " + t.path + " had no header";
        s.problem("journal: " + s.report.tail_problem + " (a crash as it was created); started again");
        if (!read_only) {
          detail::truncate_file(fd.get(), 0, t.path);
          detail::write_all(fd.get(), jf::encode_segment_header(tail_base), t.path);
          detail::sync_data(fd.get(), t.path);
        } else {
          s.report.damaged.push_back({t.path, tail_base, 0, "no segment header (a crash as it was created)",
                                      damage_state::torn});
        }
        t.bytes = jf::segment_header_size;
      } else {
        const std::uint64_t last = last_held(bases, tail_base, t.bytes);
        s.quarantine(tail_base, b ? "header names base fseq " + std::to_string(*b) : why, tail_base, last);
        past_quarantine = std::max(past_quarantine, tail_base + t.bytes / jf::record_header_size + 1);
        tail_base = 0;
      }
    }
    scan_result r;
    if (tail_base != 0) {
      r = scan_segment(fd.get(), t.path, tail_base, t.bytes, &t.index);
      if (r.good_end < t.bytes && record_after(fd.get(), t.path, r.good_end, t.bytes, r.next)) {
        // Good records after a bad one: damage, not a torn write. Keep it all
        // aside rather than cut committed records away.
        past_quarantine = std::max(past_quarantine, tail_base + t.bytes / jf::record_header_size + 1);
        const std::string damage = r.problem + " at offset " + std::to_string(r.good_end) +
                                   " with good records after it";
        const std::uint64_t last = last_held(bases, tail_base, t.bytes);
        if (read_only) {
          // Left in place, it reads as a sealed segment found bad: its
          // records up to the damage, then nothing.
          s.report.damaged.push_back({t.path, r.next, last, damage, damage_state::bad});
          t.bytes = r.good_end;
          tail_ends_early = true;
        } else {
          s.quarantine(tail_base, damage, tail_base, last);
          tail_base = 0;
        }
      }
    }
    if (tail_base != 0) {
      if (r.good_end < t.bytes) {
        s.report.bytes_dropped += t.bytes - r.good_end;
        const std::string torn = r.problem + " at offset " + std::to_string(r.good_end) + ", " +
                                 std::to_string(t.bytes - r.good_end) + " bytes " +
                                 (read_only ? "past the last good record" : "dropped");
        s.report.tail_problem = "segment " + t.path + ": " + torn;
        s.problem("journal: " + s.report.tail_problem);
        if (!read_only) {
          detail::truncate_file(fd.get(), r.good_end, t.path);
          detail::sync_data(fd.get(), t.path);
        } else {
          s.report.damaged.push_back({t.path, r.next, 0, torn, damage_state::torn});
        }
        t.bytes = r.good_end;
      }
      s.next = r.next;
      s.last_time = s.committed_time = r.last_time;
      if (r.next == tail_base) {  // empty tail: times go on from the segment before it
        auto prev = s.segs.find(tail_base);
        while (prev != s.segs.begin() && (--prev)->second.quarantined) {
        }
        if (prev != s.segs.end() && prev->first < tail_base && !prev->second.quarantined) {
          const fd_handle pfd = detail::open_file(prev->second.path, O_RDONLY);
          s.last_time = s.committed_time =
              scan_segment(pfd.get(), prev->second.path, prev->first, prev->second.bytes, nullptr).last_time;
        }
      }
      if (r.next > tail_base) t.first_time = t.index.empty() ? std::nullopt : std::optional(t.index.front().time_ns);
      if (!read_only) s.tail_fd = std::move(fd);
    }
  }
  if (tail_base != 0 && tail_ends_early && past_quarantine > s.next) {
    // Newer data was set aside: go on past every fseq it may have held
    // (a read-only journal only reads over the gap, as a writer's would).
    s.tail().end = s.next;
    if (!read_only) {
      s.sync_tail();
      s.create_segment(past_quarantine);
    }
    s.next = past_quarantine;
  }
  if (tail_base == 0) {
    s.next = std::max(s.next, past_quarantine);  // fseqs are never reused
    if (!read_only) s.create_segment(s.next);
  }
  s.committed = s.next - 1;
  s.counters.segments = s.segs.size();
  std::stable_sort(s.report.damaged.begin(), s.report.damaged.end(), by_first_fseq);
  return st;
}

journal journal::open(const std::string& dir, options opts) {
  return journal(state::load(dir, std::move(opts), false));
}

journal journal::open_read_only(const std::string& dir) {
  return journal(state::load(dir, {}, true));
}

// --- writing -----------------------------------------------------------------

std::uint64_t journal::append(std::int64_t time_ns, std::string_view topic,
                              std::string_view envelope, const std::optional<record_key>& key) {
  auto& s = *s_;
  s.check_usable();
  if (topic.size() > 65535) throw std::length_error("journal: topic longer than 65535 bytes");
  if (envelope.size() > jf::max_envelope)
    throw std::length_error("journal: envelope larger than 64 MiB");
  const std::size_t size =
      jf::record_header_size + topic.size() + (key ? jf::key_size : 0) + envelope.size();
  segment* t = &s.tail();
  const bool has_records = s.next > t->base;
  if (has_records && t->bytes + s.pending.size() + size > s.opts.segment_bytes) {
    s.roll();
    t = &s.tail();
  }
  time_ns = std::max(time_ns, s.last_time);
  const std::uint64_t fseq = s.next;
  const std::uint64_t offset = t->bytes + s.pending.size();
  const index_entry* last = !s.pending_index.empty() ? &s.pending_index.back()
                            : !t->index.empty()       ? &t->index.back()
                                                      : nullptr;
  if (!last || offset >= last->offset + index_spacing) s.pending_index.push_back({fseq, offset, time_ns});
  jf::append_record(s.pending, fseq, time_ns, topic, envelope, key);
  if (fseq == t->base) t->first_time = time_ns;
  s.pending_count++;
  s.next++;
  s.last_time = time_ns;
  return fseq;
}

std::uint64_t journal::commit() {
  auto& s = *s_;
  s.check_usable();
  s.write_pending();
  if (s.unsynced) {
    using p = durability::policy;
    if (s.opts.sync.mode == p::always ||
        (s.opts.sync.mode == p::interval &&
         std::chrono::steady_clock::now() - s.last_sync >= s.opts.sync.interval))
      s.sync_tail();
  }
  return s.committed;
}

std::uint64_t journal::sync() {
  auto& s = *s_;
  commit();
  if (s.unsynced) s.sync_tail();
  return s.committed;
}

std::size_t journal::pending() const noexcept { return s_->pending_count; }

std::optional<std::chrono::steady_clock::time_point> journal::sync_deadline() const {
  const auto& s = *s_;
  if (!s.unsynced || s.opts.sync.mode != durability::policy::interval) return std::nullopt;
  return s.last_sync + s.opts.sync.interval;
}

void journal::sync_due() {
  auto& s = *s_;
  s.check_usable();
  if (const auto d = sync_deadline(); d && std::chrono::steady_clock::now() >= *d) s.sync_tail();
}

std::size_t journal::enforce_retention(std::chrono::system_clock::time_point now) {
  auto& s = *s_;
  s.check_usable();
  const auto& o = s.opts;
  std::size_t removed = 0;
  for (;;) {
    auto it = std::find_if(s.segs.begin(), s.segs.end(),
                           [](const auto& kv) { return !kv.second.quarantined; });
    if (it == s.segs.end() || std::next(it) == s.segs.end()) break;  // only the tail left
    segment& oldest = it->second;
    segment& after = std::next(it)->second;
    bool drop = false;
    if (o.max_bytes > 0) {
      std::uint64_t total = 0;
      for (const auto& [b, seg] : s.segs)
        if (!seg.quarantined) total += seg.bytes;
      drop = total > o.max_bytes;
    }
    if (!drop && o.max_messages > 0) drop = s.next - it->first > o.max_messages;
    if (!drop && o.max_age.count() > 0) {
      // Times rise with fseq, so the next segment's first time bounds this one's last.
      const std::int64_t cutoff =
          std::chrono::duration_cast<std::chrono::nanoseconds>(
              (now - o.max_age).time_since_epoch())
              .count();
      const auto newest = after.base == s.next ? std::optional(s.committed_time) : s.first_time(after);
      drop = newest && *newest < cutoff;
    }
    if (!drop) break;
    if (::unlink(oldest.path.c_str()) != 0) s.fail(error(errno, "cannot delete " + oldest.path));
    s.segs.erase(it);
    removed++;
    s.counters.segments_removed++;
  }
  if (removed > 0) {
    try {
      detail::sync_directory(s.dir);
    } catch (const error& e) {
      s.fail(e);
    }
  }
  return removed;
}

// --- reading -----------------------------------------------------------------

struct journal::reader::impl {
  std::shared_ptr<journal::state> s;
  std::uint64_t pos = 1;
  std::uint64_t skipped = 0;

  std::uint64_t seg_base = 0;  // 0: no segment open
  fd_handle fd;
  std::string path;
  std::string buf;
  std::size_t start = 0;       // parse position in buf
  std::uint64_t buf_off = 0;   // file offset of buf[0]
  std::uint64_t read_to = 0;   // file offset read so far
  std::uint64_t at = 0;        // fseq of the record at buf[start], as far as the segment goes

  void close_segment() {
    seg_base = 0;
    fd.reset();
    buf.clear();
    start = 0;
  }

  void skip_to(std::uint64_t fseq) {
    if (fseq > pos) {
      skipped += fseq - pos;
      pos = fseq;
    }
    close_segment();
  }

  // Opens the segment holding pos, positioned at or before it. False when
  // pos is past everything committed.
  bool open_segment() {
    for (;;) {
      if (pos > s->committed) return false;
      auto it = s->segs.upper_bound(pos);
      if (it == s->segs.end() && s->segs.empty()) return false;
      if (it == s->segs.begin()) {  // before the oldest segment: it was removed
        skip_to(it->first);
        continue;
      }
      const auto after = it;
      --it;
      segment& seg = it->second;
      if (seg.quarantined || pos >= s->end_of(it->first)) {
        // On to the next segment, over any gap before it (a segment that
        // ends early, where a newer quarantined file was set aside): its
        // base is above pos, so every pass of this loop moves on.
        skip_to(after == s->segs.end() ? s->committed + 1 : after->first);
        continue;
      }
      fd = detail::open_file(seg.path, O_RDONLY);
      path = seg.path;
      seg_base = it->first;
      std::uint64_t off = jf::segment_header_size;
      at = it->first;
      for (const auto& e : seg.index) {
        if (e.fseq > pos) break;
        off = e.offset;
        at = e.fseq;
      }
      buf.clear();
      start = 0;
      buf_off = read_to = off;
      return true;
    }
  }

  // The record due at `at` is bad: every fseq from there to the segment's
  // end is lost, also to a reader that started further on.
  void corrupt(const std::string& why) {
    const std::uint64_t base = seg_base;
    if (base == s->tail().base && !s->read_only) {
      s->failed = true;
      throw journal_failed(EIO, "journal: " + path + ": " + why +
                                    " in the segment being written; restart to recover");
    }
    const std::uint64_t end = s->end_of(base);
    s->quarantine(base, why + " at fseq " + std::to_string(at), at, end - 1);
    skip_to(end);
  }

  std::optional<journal_record> next() {
    for (;;) {
      if (pos > s->committed) return std::nullopt;
      if (seg_base == 0 && !open_segment()) return std::nullopt;
      auto segit = s->segs.find(seg_base);
      const bool is_tail = segit != s->segs.end() && std::next(segit) == s->segs.end();
      // A segment removed by retention while open is read to its end from the fd.
      const std::uint64_t limit =
          is_tail ? segit->second.bytes
                  : (segit != s->segs.end() ? segit->second.bytes : UINT64_MAX);
      const auto p = jf::parse_record(std::string_view(buf).substr(start));
      if (p.st == jf::parsed::status::need_more) {
        if (read_to >= limit) {
          // Caught up with the tail; unless it ends early (a read-only
          // view of a damaged one), then it is read over like any other.
          if (is_tail && segit->second.end == 0) return std::nullopt;
          if (pos < s->end_of(seg_base) && segit != s->segs.end()) {
            corrupt("segment cut short (it should reach fseq " + std::to_string(s->end_of(seg_base) - 1) +
                    ")");
          } else {
            close_segment();
          }
          continue;
        }
        buf.erase(0, start);
        buf_off += start;
        start = 0;
        std::size_t want = std::max<std::size_t>(p.size, 256u << 10);
        if (limit != UINT64_MAX) want = static_cast<std::size_t>(std::min<std::uint64_t>(want, limit - read_to));
        const std::size_t have = buf.size();
        buf.resize(have + want);
        const std::size_t n = detail::pread_some(fd.get(), buf.data() + have, want, read_to, path);
        buf.resize(have + n);
        read_to += n;
        if (n == 0) limit == UINT64_MAX ? close_segment() : corrupt("segment shorter than recorded");
        continue;
      }
      if (p.st == jf::parsed::status::bad) {
        corrupt(std::string("bad record (") + p.why + ")");
        continue;
      }
      const std::uint64_t offset = buf_off + start;
      start += p.size;
      if (p.fseq < pos) {  // scanning forward from an index entry
        at = p.fseq + 1;
        continue;
      }
      if (p.fseq > pos) {
        corrupt("record out of order (fseq " + std::to_string(p.fseq) + " where " +
                std::to_string(pos) + " was due)");
        continue;
      }
      if (segit != s->segs.end()) note_index(segit->second.index, {p.fseq, offset, p.time_ns});
      pos++;
      at = pos;
      return journal_record{p.fseq, p.time_ns, p.topic, p.envelope, p.key};
    }
  }
};

journal::reader::reader(std::unique_ptr<impl> p) : p_(std::move(p)) {}
journal::reader::reader(reader&&) noexcept = default;
journal::reader& journal::reader::operator=(reader&&) noexcept = default;
journal::reader::~reader() = default;
std::optional<journal_record> journal::reader::next() { return p_->next(); }
std::uint64_t journal::reader::position() const noexcept { return p_->pos; }
std::uint64_t journal::reader::skipped() const noexcept { return p_->skipped; }

journal::reader journal::read_from(std::uint64_t fseq) {
  if (s_->failed) s_->check_usable();
  auto p = std::make_unique<reader::impl>();
  p->s = s_;
  p->pos = std::max<std::uint64_t>(fseq, 1);
  return reader(std::move(p));
}

std::uint64_t journal::fseq_at_time(std::int64_t time_ns) {
  auto& s = *s_;
  // The last segment whose first record is older than time_ns holds the answer,
  // or it is the first record of the segment after it.
  std::uint64_t from = 0;
  for (auto& [base, seg] : s.segs) {
    if (seg.quarantined) continue;
    const auto t = s.first_time(seg);
    if (!t) continue;
    if (*t >= time_ns) {
      if (from == 0) return std::max(base, s.first());
      break;
    }
    from = base;
  }
  if (from == 0) return s.committed + 1;
  auto r = read_from(from);
  auto& seg = s.segs[from];
  for (const auto& e : seg.index)
    if (e.time_ns < time_ns) r.p_->pos = std::max(r.p_->pos, e.fseq);
  while (auto rec = r.next())
    if (rec->time_ns >= time_ns) return rec->fseq;
  return r.position();
}

// --- inspection --------------------------------------------------------------

std::uint64_t journal::first_fseq() const noexcept { return s_->first(); }
std::uint64_t journal::next_fseq() const noexcept { return s_->next; }
std::uint64_t journal::committed_fseq() const noexcept { return s_->committed; }
std::uint64_t journal::segment_base() const noexcept { return s_->tail().base; }
const journal::open_report& journal::report() const noexcept { return s_->report; }
const std::string& journal::directory() const noexcept { return s_->dir; }
const journal::options& journal::settings() const noexcept { return s_->opts; }

journal::statistics journal::stats() const {
  statistics st = s_->counters;
  st.first_fseq = s_->first();
  st.next_fseq = s_->next;
  st.bytes = 0;
  st.segments = 0;
  for (const auto& [b, seg] : s_->segs)
    if (!seg.quarantined) {
      st.bytes += seg.bytes;
      st.segments++;
    }
  return st;
}

std::vector<journal::segment_info> journal::segments() const {
  std::vector<segment_info> out;
  for (auto it = s_->segs.begin(); it != s_->segs.end(); ++it) {
    if (it->second.quarantined) continue;
    const std::uint64_t end = s_->end_of(it->first);
    out.push_back({it->second.path, it->first, it->second.bytes, end > it->first ? end - it->first : 0,
                   std::next(it) != s_->segs.end()});
  }
  return out;
}

journal_verification verify_journal(const std::string& dir) {
  using damage_state = journal_damage::state;
  journal_verification v;
  std::map<std::uint64_t, std::string> files;
  std::map<std::uint64_t, std::string> set_aside;  // quarantined files by base
  std::set<std::uint64_t> bases;
  for (const auto& name : detail::list_directory(dir)) {
    if (const auto base = jf::parse_segment_name(name)) {
      files[*base] = dir + "/" + name;
      bases.insert(*base);
    } else if (name.size() == 24 + jf::quarantine_suffix.size() &&
               name.compare(24, std::string::npos, jf::quarantine_suffix) == 0) {
      if (const auto b = jf::parse_segment_name(std::string_view(name).substr(0, 24))) {
        set_aside[*b] = dir + "/" + name;
        bases.insert(*b);
      }
    }
  }
  for (const auto& [base, path] : set_aside) {
    const fd_handle fd = detail::open_file(path, O_RDONLY);
    v.problems.push_back({path, base, last_held(bases, base, detail::file_size(fd.get(), path)),
                          "quarantined earlier", damage_state::quarantined});
  }
  std::uint64_t expected = 0;  // where the previous segment ended; 0: unknown
  for (auto it = files.begin(); it != files.end(); ++it) {
    const auto& [base, path] = *it;
    const bool newest = std::next(it) == files.end();
    v.segments++;
    const fd_handle fd = detail::open_file(path, O_RDONLY);
    const std::uint64_t size = detail::file_size(fd.get(), path);
    v.bytes += size;
    std::string why;
    const std::string header = read_header(fd.get(), path);
    const auto b = jf::decode_segment_header(header, why);
    if (!b || *b != base) {
      const bool blank = std::all_of(header.begin(), header.end(), [](char c) { return c == '\0'; });
      if (newest && blank && size <= jf::segment_header_size)  // as open sees it: created, never written
        v.problems.push_back(
            {path, base, 0, "no segment header (a crash as it was created)", damage_state::torn});
      else
        v.problems.push_back({path, base, last_held(bases, base, size),
                              b ? "header names base fseq " + std::to_string(*b) : why, damage_state::bad});
      expected = 0;
      continue;
    }
    const auto q = set_aside.lower_bound(expected);
    if (expected != 0 && expected != base && (q == set_aside.end() || q->first >= base))
      v.problems.push_back({path, expected, base - 1,
                            "starts at fseq " + std::to_string(base) +
                                " but the previous segment ended before " + std::to_string(expected),
                            damage_state::bad});
    const auto r = scan_segment(fd.get(), path, base, size, nullptr);
    v.records += r.next - base;
    if (r.good_end < size) {
      const std::string problem = r.problem + " at offset " + std::to_string(r.good_end) + " (" +
                                  std::to_string(size - r.good_end) + " bytes after it)";
      // The newest segment's end, with no good record after it, is what a
      // crash leaves and recovery cuts; anywhere else it is damage.
      if (newest && !record_after(fd.get(), path, r.good_end, size, r.next))
        v.problems.push_back({path, r.next, 0, problem, damage_state::torn});
      else
        v.problems.push_back({path, r.next, last_held(bases, base, size), problem, damage_state::bad});
    }
    expected = r.good_end < size ? 0 : r.next;  // after damage the next start proves nothing
  }
  std::stable_sort(v.problems.begin(), v.problems.end(), by_first_fseq);
  return v;
}

}  // namespace zmqkit
