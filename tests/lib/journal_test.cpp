// The journal on a real filesystem: records written, reopened, cut short,
// corrupted and read back. The full-disk case mounts a real tmpfs and is
// skipped, with the reason, when the test cannot mount one.
#include <zmqkit/journal.hpp>

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "support/small_tmpfs.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using zmqkit::journal;
using zmqkit::test::small_tmpfs;
using zmqkit::test::temp_dir;

namespace {

std::string envelope_for(std::uint64_t i) { return "envelope-" + std::to_string(i) + std::string(i % 50, 'x'); }

// Appends n records (topic "t.<i>", envelope_for(i), time i) and commits.
void fill(journal& j, std::uint64_t from, std::uint64_t n) {
  for (std::uint64_t i = from; i < from + n; ++i)
    j.append(static_cast<std::int64_t>(i), "t." + std::to_string(i), envelope_for(i));
  j.commit();
}

struct seen {
  std::vector<std::uint64_t> fseqs;
  bool all_match = true;
};

// Reads every record from fseq on; checks each against what fill() wrote.
seen read_all(journal& j, std::uint64_t from = 1) {
  seen s;
  auto r = j.read_from(from);
  while (auto rec = r.next()) {
    s.fseqs.push_back(rec->fseq);
    if (rec->topic != "t." + std::to_string(rec->fseq) || rec->envelope != envelope_for(rec->fseq))
      s.all_match = false;
  }
  return s;
}

std::vector<std::uint64_t> range(std::uint64_t from, std::uint64_t to) {  // [from, to]
  std::vector<std::uint64_t> v;
  for (auto i = from; i <= to; ++i) v.push_back(i);
  return v;
}

journal::options small_segments() {
  journal::options o;
  o.segment_bytes = 4096;
  return o;
}

std::vector<fs::path> segment_files(const std::string& dir) {
  std::vector<fs::path> v;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".log") v.push_back(e.path());
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST_CASE("journal: SHALL number records from 1 and read them back after reopening") {
  temp_dir d;
  {
    auto j = journal::open(d.path(), {});
    CHECK(j.next_fseq() == 1);
    CHECK(j.committed_fseq() == 0);
    CHECK(j.append(1, "t.1", envelope_for(1)) == 1);
    CHECK(j.append(2, "t.2", envelope_for(2)) == 2);
    CHECK(j.pending() == 2);
    CHECK(read_all(j).fseqs.empty());  // not committed: not readable
    CHECK(j.commit() == 2);
    CHECK(j.pending() == 0);
    CHECK(read_all(j).fseqs == range(1, 2));
  }
  auto j = journal::open(d.path(), {});
  CHECK(j.report().bytes_dropped == 0);
  CHECK(j.next_fseq() == 3);
  const auto s = read_all(j);
  CHECK(s.fseqs == range(1, 2));
  CHECK(s.all_match);
  fill(j, 3, 1);
  CHECK(read_all(j, 3).fseqs == range(3, 3));
}

TEST_CASE("journal: SHALL keep empty topics and envelopes and binary bytes intact") {
  temp_dir d;
  auto j = journal::open(d.path(), {});
  std::string binary;
  for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
  j.append(5, "", "");
  j.append(6, binary, binary);
  j.commit();
  auto r = j.read_from(1);
  auto a = r.next();
  REQUIRE(a);
  CHECK(a->topic.empty());
  CHECK(a->envelope.empty());
  auto b = r.next();
  REQUIRE(b);
  CHECK(b->topic == binary);
  CHECK(b->envelope == binary);
  CHECK_FALSE(r.next());
  CHECK_THROWS_AS(j.append(7, std::string(65536, 't'), "e"), std::length_error);
}

TEST_CASE("journal: SHALL roll to segments named by their first fseq and read across them") {
  temp_dir d;
  auto j = journal::open(d.path(), small_segments());
  fill(j, 1, 500);
  const auto files = segment_files(d.path());
  REQUIRE(files.size() > 5);
  CHECK(files.front().filename() == "00000000000000000001.log");
  for (const auto& f : files) CHECK(fs::file_size(f) <= 4096 + 200);
  const auto segs = j.segments();
  CHECK(segs.size() == files.size());
  CHECK_FALSE(segs.back().sealed);
  CHECK(read_all(j).fseqs == range(1, 500));
  // Reading from the middle lands on the right record.
  CHECK(read_all(j, 333).fseqs == range(333, 500));
  CHECK(read_all(j, 499).fseqs == range(499, 500));
}

TEST_CASE("journal: SHALL refuse a directory another process holds") {
  temp_dir d;
  auto j = journal::open(d.path(), {});
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    try {
      auto other = journal::open(d.path(), {});
      ::_exit(0);
    } catch (const zmqkit::error& e) {
      ::_exit(std::string(e.what()).find("in use by another process") != std::string::npos ? 7 : 8);
    }
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 7);
}

TEST_CASE("journal: SHALL truncate a torn tail and keep every complete record") {
  // Cut the tail segment at many offsets, with and without garbage after the
  // cut: every record wholly before the cut survives, nothing after it does.
  temp_dir d;
  std::vector<std::uint64_t> ends;  // file offset after each record
  std::string original;
  {
    auto j = journal::open(d / "src", {});
    for (std::uint64_t i = 1; i <= 60; ++i) {
      fill(j, i, 1);
      ends.push_back(j.segments().back().bytes);
    }
  }
  const auto src = segment_files(d / "src").at(0);
  {
    std::ifstream in(src, std::ios::binary);
    original.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::mt19937 rng(42);
  for (int round = 0; round < 40; ++round) {
    const std::size_t cut = 32 + rng() % (original.size() - 32);
    const bool garbage = round % 2 == 1;
    const std::string dir = d / ("case" + std::to_string(round));
    fs::create_directory(dir);
    {
      std::ofstream out(dir + "/" + src.filename().string(), std::ios::binary);
      out.write(original.data(), static_cast<std::streamsize>(cut));
      if (garbage)
        for (int k = 0; k < 100; ++k) out.put(static_cast<char>(rng()));
    }
    std::uint64_t complete = 0;
    while (complete < ends.size() && ends[complete] <= cut) ++complete;
    auto j = journal::open(dir, {});
    CAPTURE(cut);
    CHECK(j.next_fseq() == complete + 1);
    const auto s = read_all(j);
    CHECK(s.fseqs == range(1, complete));
    CHECK(s.all_match);
    const std::uint64_t kept = complete == 0 ? 32 : ends[complete - 1];
    CHECK(j.report().bytes_dropped == cut + (garbage ? 100 : 0) - kept);
    if (j.report().bytes_dropped > 0) CHECK_FALSE(j.report().tail_problem.empty());
    // The journal goes on from there, and the repair was written to disk.
    fill(j, complete + 1, 1);
    CHECK(read_all(j).fseqs == range(1, complete + 1));
    CHECK(fs::file_size(dir + "/" + src.filename().string()) == ends[complete]);
  }
}

TEST_CASE("journal: SHALL quarantine a sealed segment with a flipped bit and never deliver from it") {
  temp_dir d;
  std::vector<std::string> problems;
  auto opts = small_segments();
  opts.on_problem = [&](const std::string& line) { problems.push_back(line); };
  std::uint64_t second_base = 0, third_base = 0;
  {
    auto j = journal::open(d.path(), opts);
    fill(j, 1, 300);
    const auto segs = j.segments();
    REQUIRE(segs.size() >= 4);
    second_base = segs[1].base_fseq;
    third_base = segs[2].base_fseq;
    // Flip one bit in the middle of the second (sealed) segment.
    const int fd = ::open(segs[1].file.c_str(), O_RDWR);
    REQUIRE(fd >= 0);
    char c = 0;
    REQUIRE(::pread(fd, &c, 1, 2000) == 1);
    c ^= 0x10;
    REQUIRE(::pwrite(fd, &c, 1, 2000) == 1);
    ::close(fd);
  }
  const auto v = zmqkit::verify_journal(d.path());
  REQUIRE(v.problems.size() == 1);
  CHECK(v.problems[0].problem.find("checksum mismatch") != std::string::npos);
  CHECK(v.problems[0].what == zmqkit::journal_damage::state::bad);
  CHECK(v.problems[0].first_fseq > second_base);
  CHECK(v.problems[0].last_fseq == third_base - 1);

  {
    auto j = journal::open(d.path(), opts);  // sealed segments are checked when read
    auto r = j.read_from(1);
    std::vector<std::uint64_t> got;
    while (auto rec = r.next()) {
      got.push_back(rec->fseq);
      CHECK(rec->envelope == envelope_for(rec->fseq));  // the damaged record is never among them
    }
    // Everything outside the damaged segment, and the records of that segment
    // before the damage; from the bad record to the segment's end, nothing.
    std::uint64_t stop = second_base;  // first fseq of the damaged segment not delivered
    while (stop - 1 < got.size() && got[stop - 1] == stop) ++stop;
    CHECK(stop < third_base);
    auto expected = range(1, stop - 1);
    for (auto f : range(third_base, 300)) expected.push_back(f);
    CHECK(got == expected);
    CHECK(got.size() + r.skipped() == 300);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].find("quarantined") != std::string::npos);
    CHECK(j.stats().quarantined_segments == 1);
    // Reported with the fseqs lost: from the bad record to the segment's end.
    REQUIRE(j.report().damaged.size() == 1);
    const auto& damage = j.report().damaged[0];
    CHECK(fs::exists(damage.file));
    CHECK(damage.file.size() > 12);
    CHECK(damage.file.substr(damage.file.size() - 12) == ".quarantined");
    CHECK(damage.what == zmqkit::journal_damage::state::quarantined);
    CHECK(damage.first_fseq == stop);
    CHECK(damage.last_fseq == third_base - 1);
    CHECK(damage.problem == "bad record (checksum mismatch) at fseq " + std::to_string(stop));
  }
  // Reopened, the quarantined file is reported, with the whole range it
  // held, and that range stays skipped.
  auto again = journal::open(d.path(), opts);
  REQUIRE(again.report().damaged.size() == 1);
  CHECK(again.report().damaged[0].first_fseq == second_base);
  CHECK(again.report().damaged[0].last_fseq == third_base - 1);
  CHECK(again.report().damaged[0].problem == "quarantined earlier");
  auto r2 = again.read_from(second_base);
  auto first = r2.next();
  REQUIRE(first);
  CHECK(first->fseq == third_base);
}

TEST_CASE("journal: SHALL quarantine a sealed segment whose header is damaged, at open") {
  temp_dir d;
  std::uint64_t second_base = 0, third_base = 0;
  {
    auto j = journal::open(d.path(), small_segments());
    fill(j, 1, 200);
    second_base = j.segments().at(1).base_fseq;
    third_base = j.segments().at(2).base_fseq;
    std::fstream f(j.segments().at(1).file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(3);
    f.put('X');
  }
  auto j = journal::open(d.path(), small_segments());
  REQUIRE(j.report().damaged.size() == 1);
  CHECK(j.report().damaged[0].first_fseq == second_base);
  CHECK(j.report().damaged[0].last_fseq == third_base - 1);
  CHECK(j.report().damaged[0].problem == "not a zmqkit journal segment (bad magic)");
  const auto s = read_all(j);
  CHECK(s.fseqs.size() < 200);
  CHECK(s.fseqs.back() == 200);
  CHECK(std::find(s.fseqs.begin(), s.fseqs.end(), second_base) == s.fseqs.end());
}

TEST_CASE("journal: SHALL restart a tail segment whose header never reached the disk") {
  temp_dir d;
  std::string tail_file;
  {
    auto j = journal::open(d.path(), small_segments());
    fill(j, 1, 100);
    tail_file = j.segments().back().file;
  }
  const auto base = std::stoull(fs::path(tail_file).stem().string());
  fs::resize_file(tail_file, 0);
  fs::resize_file(tail_file, 32);  // all zeros, as after a crash on some filesystems
  auto j = journal::open(d.path(), small_segments());
  CHECK(j.next_fseq() == base);
  CHECK(j.report().bytes_dropped == 32);
  CHECK(read_all(j).fseqs == range(1, base - 1));
  fill(j, base, 1);
  CHECK(read_all(j, base).fseqs == range(base, base));
}

TEST_CASE("journal: SHALL fdatasync on every commit with the always policy only") {
  temp_dir d;
  SUBCASE("always") {
    auto j = journal::open(d.path(), {});
    fill(j, 1, 3);
    fill(j, 4, 3);
    CHECK(j.stats().syncs == 2);
    CHECK_FALSE(j.sync_deadline());
  }
  SUBCASE("always, each sync reported with its duration") {
    journal::options o;
    std::vector<std::chrono::nanoseconds> reported;
    o.on_sync = [&](std::chrono::nanoseconds d) { reported.push_back(d); };
    auto j = journal::open(d.path(), o);
    fill(j, 1, 3);
    fill(j, 4, 3);
    REQUIRE(reported.size() == 2);
    CHECK(reported[0] + reported[1] == j.stats().sync_time);
  }
  SUBCASE("never") {
    journal::options o;
    o.sync = zmqkit::durability::parse("never");
    auto j = journal::open(d.path(), o);
    fill(j, 1, 3);
    CHECK(j.stats().syncs == 0);
    CHECK_FALSE(j.sync_deadline());
  }
  SUBCASE("interval") {
    journal::options o;
    o.sync = zmqkit::durability::parse("interval:3600000");
    auto j = journal::open(d.path(), o);
    fill(j, 1, 3);
    CHECK(j.stats().syncs == 0);
    REQUIRE(j.sync_deadline());
    CHECK(*j.sync_deadline() > std::chrono::steady_clock::now() + 3000s);
    j.sync_due();  // not due yet
    CHECK(j.stats().syncs == 0);
  }
}

TEST_CASE("journal: SHALL parse fsync policies and refuse anything else") {
  using zmqkit::durability;
  CHECK(durability::parse("always").mode == durability::policy::always);
  CHECK(durability::parse("never").mode == durability::policy::never);
  const auto i = durability::parse("interval:250");
  CHECK(i.mode == durability::policy::interval);
  CHECK(i.interval == 250ms);
  CHECK(i.to_string() == "interval:250");
  for (const char* bad : {"", "sometimes", "interval:", "interval:0", "interval:-5", "interval:5x",
                          "interval:99999999999999999999", "Always"})
    CHECK_THROWS_AS(durability::parse(bad), std::invalid_argument);
}

TEST_CASE("journal: SHALL delete whole sealed segments by bytes, count and age, never the tail") {
  temp_dir d;
  auto opts = small_segments();
  SUBCASE("bytes") {
    opts.max_bytes = 10000;
    auto j = journal::open(d.path(), opts);
    fill(j, 1, 400);
    auto old_reader = j.read_from(1);
    CHECK(j.enforce_retention() > 0);
    CHECK(j.stats().bytes <= 10000);
    const auto first = j.first_fseq();
    CHECK(first > 1);
    CHECK(first == j.segments().front().base_fseq);
    CHECK(read_all(j).fseqs == range(first, 400));
    // A reader positioned before the deleted range skips it and says so.
    std::uint64_t n = 0;
    while (old_reader.next()) ++n;
    CHECK(n + old_reader.skipped() == 400);
  }
  SUBCASE("messages") {
    opts.max_messages = 100;
    auto j = journal::open(d.path(), opts);
    fill(j, 1, 400);
    j.enforce_retention();
    CHECK(j.next_fseq() - j.first_fseq() <= 100);
    CHECK(j.next_fseq() - j.first_fseq() > 50);
  }
  SUBCASE("age") {
    opts.max_age = 10s;
    auto j = journal::open(d.path(), opts);
    fill(j, 1, 400);  // record times are 1..400 ns after the epoch
    CHECK(j.enforce_retention(std::chrono::system_clock::time_point{} + 5s) == 0);
    j.enforce_retention(std::chrono::system_clock::time_point{} + 20s);
    CHECK(j.segments().size() == 1);  // only the tail is left
    CHECK(read_all(j).fseqs == range(j.segments().front().base_fseq, 400));
  }
}

TEST_CASE("journal: SHALL find the first record at or after a time") {
  temp_dir d;
  auto j = journal::open(d.path(), small_segments());
  for (std::uint64_t i = 1; i <= 300; ++i) j.append(static_cast<std::int64_t>(i * 10), "t", "e");
  j.append(5, "t", "late clock");  // an earlier time is raised to keep order: fseq 301 at time 3000
  j.commit();
  CHECK(j.fseq_at_time(0) == 1);
  CHECK(j.fseq_at_time(10) == 1);
  CHECK(j.fseq_at_time(11) == 2);
  CHECK(j.fseq_at_time(1500) == 150);
  CHECK(j.fseq_at_time(1501) == 151);
  CHECK(j.fseq_at_time(3000) == 300);
  CHECK(j.fseq_at_time(3001) == 302);  // after everything: the next fseq
  auto r = j.read_from(301);
  CHECK(r.next()->time_ns == 3000);
}

TEST_CASE("journal: SHALL read a journal without repairing it when opened read-only") {
  temp_dir d;
  std::string tail;
  {
    auto j = journal::open(d.path(), {});
    fill(j, 1, 10);
    tail = j.segments().back().file;
  }
  const auto size = fs::file_size(tail);
  fs::resize_file(tail, size - 3);
  auto ro = journal::open_read_only(d.path());
  CHECK(ro.report().bytes_dropped > 0);
  REQUIRE(ro.report().damaged.size() == 1);  // the torn tail, left as it is
  CHECK(ro.report().damaged[0].what == zmqkit::journal_damage::state::torn);
  CHECK(ro.report().damaged[0].file == tail);
  CHECK(ro.report().damaged[0].first_fseq == 10);
  CHECK(ro.report().damaged[0].last_fseq == 0);
  CHECK(read_all(ro).fseqs == range(1, 9));
  CHECK(fs::file_size(tail) == size - 3);  // untouched
  CHECK_THROWS_AS(ro.append(1, "t", "e"), zmqkit::error);
  CHECK_THROWS_AS(journal::open_read_only(d / "missing"), zmqkit::error);
}

TEST_CASE("journal: SHALL stop intake on a full disk, keep what was committed, and resume when space returns") {
  temp_dir d;
  std::string why_not;
  const auto tmpfs = small_tmpfs::mount(d / "mnt", "512k", why_not);
  if (!tmpfs) {
    MESSAGE("SKIPPED: " << why_not);
    return;
  }
  const std::string mnt = tmpfs->path();
  {  // filler to free later
    std::ofstream f(mnt + "/filler", std::ios::binary);
    f << std::string(200 * 1024, 'f');
  }
  auto opts = small_segments();
  opts.segment_bytes = 64 * 1024;
  auto j = journal::open(mnt + "/journal", opts);
  std::uint64_t committed = 0;
  bool full = false;
  for (std::uint64_t i = 1; i < 100000 && !full; i += 10) {
    try {
      fill(j, i, 10);
      committed = j.committed_fseq();
    } catch (const zmqkit::journal_full&) {
      full = true;
    }
  }
  REQUIRE(full);
  CHECK(j.committed_fseq() >= committed);
  committed = j.committed_fseq();
  CHECK(j.pending() == 0);
  CHECK(j.next_fseq() == committed + 1);
  CHECK(read_all(j).fseqs == range(1, committed));
  // Still full: a second try fails the same way and stores nothing.
  CHECK_THROWS_AS(fill(j, committed + 1, 10), zmqkit::journal_full);
  CHECK(j.committed_fseq() == committed);
  fs::remove(mnt + "/filler");
  fill(j, committed + 1, 10);
  CHECK(j.committed_fseq() == committed + 10);
  const auto s = read_all(j);
  CHECK(s.fseqs == range(1, committed + 10));
  CHECK(s.all_match);
  // And all of it is there after reopening.
  auto ro = journal::open_read_only(mnt + "/journal");
  CHECK(read_all(ro).fseqs == range(1, committed + 10));
}

TEST_CASE("journal: SHALL keep a record's key and sync on request whatever the policy") {
  temp_dir d;
  zmqkit::record_key key;
  key.sender[0] = 0x5a;
  key.sender[15] = 0xa5;
  key.seq = 0x0102030405060708ull;
  {
    journal::options o;
    o.sync = zmqkit::durability::parse("never");
    auto j = journal::open(d.path(), o);
    j.append(1, "keyed", "env", key);
    j.append(2, "plain", "env2");
    CHECK(j.sync() == 2);
    CHECK(j.stats().syncs == 1);
  }
  auto j = journal::open(d.path(), {});
  auto r = j.read_from(1);
  const auto a = r.next();
  REQUIRE(a);
  CHECK(a->topic == "keyed");
  CHECK(a->envelope == "env");
  REQUIRE(a->key);
  CHECK(a->key->sender == key.sender);
  CHECK(a->key->seq == key.seq);
  const auto b = r.next();
  REQUIRE(b);
  CHECK(b->envelope == "env2");
  CHECK_FALSE(b->key);
}

TEST_CASE("journal: SHALL set aside, not cut, a tail segment damaged before its last good record") {
  temp_dir d;
  std::string tail;
  {
    auto j = journal::open(d.path(), {});
    for (std::uint64_t i = 1; i <= 50; ++i) fill(j, i, 1);
    tail = j.segments().back().file;
  }
  {
    std::fstream f(tail, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(200);  // inside record 2 or 3
    f.put('\x7f');
  }
  std::vector<std::string> problems;
  journal::options o;
  o.on_problem = [&](const std::string& l) { problems.push_back(l); };
  auto j = journal::open(d.path(), o);
  CHECK(j.report().bytes_dropped == 0);
  REQUIRE(j.report().damaged.size() == 1);
  const auto& damage = j.report().damaged[0];
  CHECK(fs::exists(damage.file));
  CHECK(fs::file_size(damage.file) > 50 * 32);  // every byte kept
  CHECK(damage.first_fseq == 1);                 // nothing in it is read again
  CHECK(damage.last_fseq == j.next_fseq() - 1);  // as far as the file could reach
  CHECK_FALSE(problems.empty());
  CHECK(j.next_fseq() > 50);  // no fseq it held is handed out again
  const auto before = j.next_fseq();
  fill(j, before, 1);
  CHECK(read_all(j).fseqs == range(before, before));
}

TEST_CASE("journal: SHALL read a damaged tail up to the damage when opened read-only, and report the rest") {
  temp_dir d;
  std::string tail;
  {
    auto j = journal::open(d.path(), {});
    for (std::uint64_t i = 1; i <= 50; ++i) fill(j, i, 1);
    tail = j.segments().back().file;
  }
  const auto size = fs::file_size(tail);
  std::uint64_t offset = 32;  // of record 21: each record is 32 bytes and its topic and envelope
  for (std::uint64_t i = 1; i <= 20; ++i)
    offset += 32 + ("t." + std::to_string(i)).size() + envelope_for(i).size();
  {
    std::fstream f(tail, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(offset + 40));  // inside record 21
    f.put('\x7f');
  }
  auto ro = journal::open_read_only(d.path());
  CHECK(read_all(ro).fseqs == range(1, 20));
  REQUIRE(ro.report().damaged.size() == 1);
  const auto& damage = ro.report().damaged[0];
  CHECK(damage.file == tail);  // not renamed
  CHECK(damage.what == zmqkit::journal_damage::state::bad);
  CHECK(damage.first_fseq == 21);
  CHECK(damage.last_fseq == 1 + size / 32);  // as many as its bytes could hold
  CHECK(damage.problem == "bad record (checksum mismatch) at offset " + std::to_string(offset) +
                              " with good records after it");
  CHECK(ro.next_fseq() == damage.last_fseq + 1);  // where a writer goes on, as below
  CHECK(ro.segments().at(0).records == 20);
  CHECK(fs::file_size(tail) == size);

  auto j = journal::open(d.path(), {});
  REQUIRE(j.report().damaged.size() == 1);
  CHECK(j.report().damaged[0].file == tail + ".quarantined");
  CHECK(j.report().damaged[0].first_fseq == 1);
  CHECK(j.report().damaged[0].last_fseq == damage.last_fseq);
  CHECK(j.next_fseq() == damage.last_fseq + 1);
}

TEST_CASE("journal: SHALL report a quarantined file older than every segment with the fseqs it held") {
  temp_dir d;
  std::uint64_t second_base = 0;
  {
    auto j = journal::open(d.path(), small_segments());
    fill(j, 1, 200);
    const auto segs = j.segments();
    second_base = segs.at(1).base_fseq;
    {
      std::fstream f(segs[0].file, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(100);
      f.put('\x7f');
    }
    auto r = j.read_from(1);  // finds the damage and quarantines the first segment
    while (r.next()) {
    }
    REQUIRE(j.stats().quarantined_segments == 1);
  }
  for (const bool read_only : {true, false}) {
    CAPTURE(read_only);
    auto j = read_only ? journal::open_read_only(d.path()) : journal::open(d.path(), small_segments());
    CHECK(j.first_fseq() == second_base);
    REQUIRE(j.report().damaged.size() == 1);
    const auto& damage = j.report().damaged[0];
    CHECK(damage.file == d.path() + "/00000000000000000001.log.quarantined");
    CHECK(damage.what == zmqkit::journal_damage::state::quarantined);
    CHECK(damage.first_fseq == 1);
    CHECK(damage.last_fseq == second_base - 1);
    CHECK(damage.problem == "quarantined earlier");
  }
}

// Found by tests/fuzz (journal_recovery): open starts a new segment past a
// quarantined file newer than the tail, and a reader that reached the end of
// the old tail then looped for ever instead of going over the gap.
TEST_CASE("journal: SHALL read over the gap left by a quarantined file newer than the tail") {
  temp_dir d;
  {
    auto j = journal::open(d.path(), {});
    fill(j, 1, 3);
  }
  {
    std::ofstream q(d / "00000000000000000100.log.quarantined", std::ios::binary);
    q << std::string(64, 'x');
  }
  auto j = journal::open(d.path(), {});
  const auto next = j.next_fseq();
  CHECK(next > 100);  // past every fseq the quarantined file could hold
  fill(j, next, 1);
  auto r = j.read_from(1);
  std::vector<std::uint64_t> fseqs;
  while (auto rec = r.next()) fseqs.push_back(rec->fseq);
  CHECK(fseqs == std::vector<std::uint64_t>{1, 2, 3, next});
  CHECK(r.skipped() == next - 4);
}

TEST_CASE("journal: SHALL keep times rising across a reopen with an empty tail") {
  temp_dir d;
  std::uint64_t base = 0;
  {
    auto j = journal::open(d.path(), small_segments());
    for (std::uint64_t i = 1; i <= 300; ++i) j.append(1000 + static_cast<std::int64_t>(i), "t", "e");
    j.commit();
    REQUIRE(j.segments().size() > 1);
    base = j.segments().back().base_fseq;
  }
  // Cut the tail back to its header: as after a crash right after a roll.
  const auto tail = segment_files(d.path()).back();
  fs::resize_file(tail, 32);
  auto j = journal::open(d.path(), small_segments());
  REQUIRE(j.next_fseq() == base);
  const auto f = j.append(5, "t", "late");
  j.commit();
  auto r = j.read_from(f);
  CHECK(r.next()->time_ns >= 1000 + static_cast<std::int64_t>(base) - 1);
}
