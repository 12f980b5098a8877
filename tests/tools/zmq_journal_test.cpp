// zmq-journal end to end: the test writes a journal with zmqkit::journal and
// envelopes from zmqkit::envelope_writer, damages it where a case needs it,
// and runs the real binary on it. The tool must never change the journal.
#include <zmqkit/cursor_store.hpp>
#include <zmqkit/envelope.hpp>
#include <zmqkit/journal.hpp>

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/temp_dir.hpp"
#include "tools/tool_runner.hpp"

namespace fs = std::filesystem;
using namespace zmqkit::test;
using json = nlohmann::ordered_json;
using zmqkit::journal;

namespace {

// 2026-11-23T10:37:39.000000123Z; record i is i microseconds later.
constexpr std::int64_t base_time = 1795430259000000123LL;
const zmqkit::producer_id producer{{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99,
                                    0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}};
constexpr const char* producer_hex = "00112233445566778899aabbccddeeff";

std::int64_t time_of(std::uint64_t i) { return base_time + static_cast<std::int64_t>(i) * 1000; }

// Odd records are orders, even ones users: "orders.1", "users.2", ...
std::string topic_of(std::uint64_t i) {
  return (i % 2 ? "orders." : "users.") + std::to_string(i);
}

journal::options small_segments() {
  journal::options o;
  o.segment_bytes = 4096;
  return o;
}

// A journal of n records written by one producer: record i has seq i, the
// header source=test and the payload {"n": i}.
struct sample_journal {
  temp_dir dir{"zmq-journal-test"};
  journal j;
  zmqkit::envelope_writer writer{producer};

  explicit sample_journal(std::uint64_t n, journal::options opts = small_segments())
      : j(journal::open(dir.path(), std::move(opts))) {
    for (std::uint64_t i = 1; i <= n; ++i) append_payload(std::map<std::string, std::uint64_t>{{"n", i}});
    j.commit();
  }

  template <class T>
  std::uint64_t append_payload(const T& payload) {
    const auto i = j.next_fseq();
    const auto body = writer.encode(payload, {{"source", "test"}});
    writer.commit();
    return j.append(time_of(i), topic_of(i),
                    std::string(static_cast<const char*>(body.data()), body.size()));
  }

  const std::string& path() const { return dir.path(); }
};

// Every file under dir with its size, to show the tool changed nothing.
std::map<std::string, std::uintmax_t> listing(const std::string& dir) {
  std::map<std::string, std::uintmax_t> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    out[e.path().string()] = e.is_regular_file() ? e.file_size() : 0;
  return out;
}

void flip_bit(const std::string& file, off_t offset) {
  const int fd = ::open(file.c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  char c = 0;
  REQUIRE(::pread(fd, &c, 1, offset) == 1);
  c ^= 0x10;
  REQUIRE(::pwrite(fd, &c, 1, offset) == 1);
  ::close(fd);
}

std::vector<json> parse_lines(const std::vector<std::string>& lines) {
  std::vector<json> out;
  for (const auto& l : lines) out.push_back(json::parse(l));
  return out;
}

std::vector<std::uint64_t> fseqs_of(const std::vector<json>& records) {
  std::vector<std::uint64_t> out;
  for (const auto& r : records) out.push_back(r["fseq"].get<std::uint64_t>());
  return out;
}

std::vector<std::uint64_t> range(std::uint64_t from, std::uint64_t to) {  // [from, to]
  std::vector<std::uint64_t> v;
  for (auto i = from; i <= to; ++i) v.push_back(i);
  return v;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("zmq-journal: SHALL summarise a journal with stat, as text and as one JSON object, "
          "while a writer holds it") {
  sample_journal s(200);  // stays open for writing: stat takes no lock
  zmqkit::cursor_store cursors(s.path() + "/cursors");
  cursors.save_fseq("billing", 42);
  cursors.save("producers", "not an fseq value");  // 17 bytes
  const auto segments = s.j.segments();
  REQUIRE(segments.size() > 3);
  std::uint64_t bytes = 0;
  for (const auto& seg : segments) bytes += seg.bytes;
  const auto before = listing(s.path());

  SUBCASE("text") {
    const auto r = run({"zmq-journal", "stat", s.path()});
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.empty());  // every header good, and read as good
    for (const auto& l : r.lines) CHECK_MESSAGE(l.rfind("bad segments", 0) != 0, l);
    const std::set<std::string> lines(r.lines.begin(), r.lines.end());
    CHECK(lines.count("directory    " + s.path()));
    CHECK(lines.count("first fseq   1"));
    CHECK(lines.count("next fseq    201"));
    CHECK(lines.count("records      200"));
    CHECK(lines.count("bytes        " + std::to_string(bytes)));
    CHECK(lines.count("segments     " + std::to_string(segments.size())));
    CHECK(lines.count("  00000000000000000001.log  base 1  " + std::to_string(segments[0].bytes) +
                      " bytes  sealed"));
    const auto& tail = segments.back();
    CHECK(lines.count("  " + fs::path(tail.file).filename().string() + "  base " +
                      std::to_string(tail.base_fseq) + "  " + std::to_string(tail.bytes) +
                      " bytes  tail"));
    CHECK(lines.count("quarantined  0"));
    CHECK(lines.count("torn tail    none"));
    CHECK(lines.count("cursors      2"));
    CHECK(lines.count("  billing  fseq 42"));
    CHECK(lines.count("  producers  17 bytes (not an fseq)"));
  }
  SUBCASE("json") {
    const auto r = run({"zmq-journal", "stat", s.path(), "--format", "json"});
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    REQUIRE(r.lines.size() == 1);
    const auto st = json::parse(r.lines[0]);
    CHECK(st["directory"] == s.path());
    CHECK(st["first_fseq"] == 1);
    CHECK(st["next_fseq"] == 201);
    CHECK(st["records"] == 200);
    CHECK(st["bytes"] == bytes);
    REQUIRE(st["segments"].size() == segments.size());
    for (std::size_t i = 0; i < segments.size(); ++i) {
      const auto& seg = st["segments"][i];
      CHECK(seg["file"] == fs::path(segments[i].file).filename().string());
      CHECK(seg["base_fseq"] == segments[i].base_fseq);
      CHECK(seg["bytes"] == segments[i].bytes);
      CHECK(seg["sealed"] == (i + 1 < segments.size()));
    }
    CHECK(st["quarantined"] == json::array());
    CHECK(st["bad_segments"] == json::array());
    CHECK(st["damaged"] == json::array());
    CHECK(st["torn_tail"].is_null());
    CHECK(st["cursors"] == json::parse(R"([{"name":"billing","fseq":42},{"name":"producers","bytes":17}])"));
  }
  CHECK(listing(s.path()) == before);
}

TEST_CASE("zmq-journal: SHALL not create a cursors directory when stat finds none") {
  sample_journal s(3);
  const auto r = run({"zmq-journal", "stat", s.path()});
  CHECK(r.exit_code == 0);
  CHECK(std::find(r.lines.begin(), r.lines.end(), "cursors      0") != r.lines.end());
  CHECK_FALSE(fs::exists(s.path() + "/cursors"));
}

TEST_CASE("zmq-journal: SHALL exit 0 from verify on a clean journal, with one summary line") {
  sample_journal s(200);
  std::uint64_t bytes = 0;
  for (const auto& seg : s.j.segments()) bytes += seg.bytes;
  const auto r = run({"zmq-journal", "verify", s.path()});
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  REQUIRE(r.lines.size() == 1);
  CHECK(r.lines[0] == s.path() + ": 200 records, " + std::to_string(s.j.segments().size()) +
                          " segments, " + std::to_string(bytes) + " bytes: ok");
}

TEST_CASE("zmq-journal: SHALL exit 1 from verify naming the file when a bit flips in a sealed "
          "segment, and dump around the damage") {
  sample_journal s(300);
  const auto segments = s.j.segments();
  REQUIRE(segments.size() > 3);
  const auto damaged = segments[1];
  const auto next_base = segments[2].base_fseq;
  flip_bit(damaged.file, 2000);
  const auto before = listing(s.path());

  // verify: the summary on stdout, the problem on stderr, naming the file
  // and the fseqs from the bad record to the segment's end.
  const auto v = run({"zmq-journal", "verify", s.path()});
  CHECK(v.exit_code == 1);
  REQUIRE(v.lines.size() == 1);
  CHECK(contains(v.lines[0], ": 1 problem"));
  CHECK(v.err.rfind("zmq-journal: " + damaged.file + ": bad record (checksum mismatch) at offset ", 0) == 0);
  CHECK(contains(v.err, " to " + std::to_string(next_base - 1) + " not readable\n"));
  CHECK(std::count(v.err.begin(), v.err.end(), '\n') == 1);

  // dump prints everything outside the damage, says on stderr which fseqs
  // it could not read, and exits 1; the segment is not renamed.
  const auto d = run({"zmq-journal", "dump", s.path()});
  CHECK(d.exit_code == 1);
  const auto got = fseqs_of(parse_lines(d.lines));
  REQUIRE(!got.empty());
  CHECK(got.size() < 300);
  CHECK(std::find(got.begin(), got.end(), next_base) != got.end());
  CHECK(got.back() == 300);
  std::uint64_t first_missing = 1;
  while (first_missing - 1 < got.size() && got[first_missing - 1] == first_missing) ++first_missing;
  CHECK(first_missing >= damaged.base_fseq);
  CHECK(d.err == "zmq-journal: " + damaged.file + ": bad record (checksum mismatch) at fseq " +
                     std::to_string(first_missing) + "; fseq " + std::to_string(first_missing) + " to " +
                     std::to_string(next_base - 1) + " not readable\n");
  CHECK(listing(s.path()) == before);

  // Once a writer's reader has quarantined the segment, verify reports the
  // quarantined file and stat lists it.
  auto reader = s.j.read_from(1);
  while (reader.next()) {
  }
  REQUIRE(s.j.report().damaged.size() == 1);
  const std::string set_aside = "zmq-journal: " + damaged.file + ".quarantined: quarantined earlier; fseq " +
                                std::to_string(damaged.base_fseq) + " to " + std::to_string(next_base - 1) +
                                " not readable\n";
  const auto v2 = run({"zmq-journal", "verify", s.path()});
  CHECK(v2.exit_code == 1);
  CHECK(contains(v2.lines.at(0), ": 1 problem"));
  CHECK(v2.err == set_aside);
  const auto st = run({"zmq-journal", "stat", s.path(), "--format", "json"});
  CHECK(st.exit_code == 1);
  CHECK(st.err == set_aside);
  const auto stat = json::parse(st.lines.at(0));
  CHECK(stat["quarantined"] == json::array({fs::path(damaged.file).filename().string() + ".quarantined"}));
  CHECK(stat["records"] == 300 - (next_base - damaged.base_fseq));
  const auto d2 = run({"zmq-journal", "dump", s.path()});
  CHECK(d2.exit_code == 1);
  CHECK(d2.err == set_aside);
  CHECK(fseqs_of(parse_lines(d2.lines)).size() == 300 - (next_base - damaged.base_fseq));
}

TEST_CASE("zmq-journal: SHALL list a sealed segment with a damaged header as bad, without "
          "renaming it") {
  sample_journal s(200);
  const auto segments = s.j.segments();
  REQUIRE(segments.size() > 2);
  flip_bit(segments[1].file, 3);  // in the magic
  const auto name = fs::path(segments[1].file).filename().string();

  const std::string problem = "zmq-journal: " + segments[1].file +
                              ": not a zmqkit journal segment (bad magic); fseq " +
                              std::to_string(segments[1].base_fseq) + " to " +
                              std::to_string(segments[2].base_fseq - 1) + " not readable\n";
  const auto st = run({"zmq-journal", "stat", s.path(), "--format", "json"});
  CHECK(st.exit_code == 1);
  CHECK(st.err == problem);
  const auto stat = json::parse(st.lines.at(0));
  CHECK(stat["bad_segments"] == json::array({name}));
  CHECK(stat["quarantined"] == json::array());
  CHECK(stat["records"] == 200 - (segments[2].base_fseq - segments[1].base_fseq));

  const auto v = run({"zmq-journal", "verify", s.path()});
  CHECK(v.exit_code == 1);
  CHECK(v.err == problem);
  const auto d = run({"zmq-journal", "dump", s.path()});
  CHECK(d.exit_code == 1);
  CHECK(d.err == problem);
  CHECK(fs::exists(segments[1].file));
}

TEST_CASE("zmq-journal: SHALL report a torn tail: each subcommand says so on stderr and exits 1, "
          "dump after printing every complete record") {
  sample_journal s(50, {});
  const auto tail = s.j.segments().back().file;
  const auto size = fs::file_size(tail);
  fs::resize_file(tail, size - 3);  // the last record loses its end
  const std::string torn = "zmq-journal: " + tail + ": torn record at the end at offset ";

  const auto v = run({"zmq-journal", "verify", s.path()});
  CHECK(v.exit_code == 1);
  REQUIRE(v.lines.size() == 1);
  CHECK(v.lines[0] == s.path() + ": 49 records, 1 segment, " + std::to_string(size - 3) +
                          " bytes: 1 problem");
  CHECK(v.err.rfind(torn, 0) == 0);
  CHECK(contains(v.err, "; fseq 50 and later not readable\n"));

  const auto st = run({"zmq-journal", "stat", s.path(), "--format", "json"});
  CHECK(st.exit_code == 1);
  CHECK(st.err.rfind(torn, 0) == 0);
  CHECK(contains(st.err, "; fseq 50 and later not readable\n"));
  const auto stat = json::parse(st.lines.at(0));
  CHECK(stat["next_fseq"] == 50);
  CHECK(stat["records"] == 49);
  REQUIRE(stat["torn_tail"].is_object());
  CHECK(stat["torn_tail"]["bytes"].get<std::uint64_t>() > 0);
  CHECK(contains(stat["torn_tail"]["problem"].get<std::string>(), "torn record"));

  const auto d = run({"zmq-journal", "dump", s.path()});
  CHECK(d.exit_code == 1);
  CHECK(fseqs_of(parse_lines(d.lines)) == range(1, 49));
  CHECK(d.err == st.err);
  CHECK(run({"zmq-journal", "dump", s.path(), "--to", "49"}).exit_code == 0);  // not asked for
  CHECK(fs::file_size(tail) == size - 3);  // not repaired
}

// A journal of 50 records in one segment (the tail), closed, and where the
// bytes of record 21 begin in it.
struct one_segment {
  std::string dir, file;
  std::uint64_t record_21 = 0;
  temp_dir keep;
  one_segment() : keep("zmq-journal-one") {
    dir = keep.path();
    sample_journal s(50, {});
    fs::remove_all(dir);
    fs::copy(s.path(), dir, fs::copy_options::recursive);  // closed: no writer left
    file = dir + "/00000000000000000001.log";
    auto j = journal::open_read_only(dir);
    auto r = j.read_from(1);
    record_21 = 32;
    while (auto rec = r.next()) {
      if (rec->fseq == 21) break;
      record_21 += 32 + rec->topic.size() + rec->envelope.size();
    }
  }
  std::uint64_t last_held() const { return 1 + fs::file_size(file) / 32; }  // one fseq per 32 bytes
};

TEST_CASE("zmq-journal: SHALL report flipped bytes in a journal's only segment on stderr and exit 1 "
          "from dump, stat and verify, dump printing the records before them") {
  one_segment o;
  flip_bit(o.file, static_cast<off_t>(o.record_21 + 40));
  const auto before = listing(o.dir);
  const std::string problem = "zmq-journal: " + o.file + ": bad record (checksum mismatch) at offset " +
                              std::to_string(o.record_21) + " with good records after it; fseq 21 to " +
                              std::to_string(o.last_held()) + " not readable\n";

  const auto d = run({"zmq-journal", "dump", o.dir});
  CHECK(d.exit_code == 1);
  CHECK(fseqs_of(parse_lines(d.lines)) == range(1, 20));
  CHECK(d.err == problem);

  // stat names the bad record, not the header, which is good.
  const auto st = run({"zmq-journal", "stat", o.dir});
  CHECK(st.exit_code == 1);
  CHECK(st.err == problem);
  const std::set<std::string> lines(st.lines.begin(), st.lines.end());
  CHECK(lines.count("records      20"));
  CHECK(lines.count("bad segments 1 (the next writable open quarantines them)"));
  CHECK(lines.count("  00000000000000000001.log  fseq 21 to " + std::to_string(o.last_held()) +
                    "  bad record (checksum mismatch) at offset " + std::to_string(o.record_21) +
                    " with good records after it"));
  for (const auto& l : st.lines) CHECK_MESSAGE(!contains(l, "header"), l);
  const auto js = run({"zmq-journal", "stat", o.dir, "--format", "json"});
  CHECK(js.exit_code == 1);
  const auto stat = json::parse(js.lines.at(0));
  json damaged = json::array();
  damaged.push_back({{"file", "00000000000000000001.log"},
                     {"state", "bad"},
                     {"first_fseq", 21},
                     {"last_fseq", o.last_held()},
                     {"problem", "bad record (checksum mismatch) at offset " + std::to_string(o.record_21) +
                                     " with good records after it"}});
  CHECK(stat["damaged"] == damaged);

  const auto v = run({"zmq-journal", "verify", o.dir});
  CHECK(v.exit_code == 1);
  CHECK(contains(v.err, o.file + ": bad record (checksum mismatch) at offset " +
                            std::to_string(o.record_21)));
  CHECK(listing(o.dir) == before);
}

TEST_CASE("zmq-journal: SHALL report a bad header on a journal's only segment on stderr and exit 1") {
  one_segment o;
  flip_bit(o.file, 20);  // base_fseq: the header's checksum no longer matches
  const std::string problem = "zmq-journal: " + o.file + ": segment header checksum mismatch; fseq 1 to " +
                              std::to_string(o.last_held()) + " not readable\n";
  const auto d = run({"zmq-journal", "dump", o.dir});
  CHECK(d.exit_code == 1);
  CHECK(d.lines.empty());
  CHECK(d.err == problem);
  const auto st = run({"zmq-journal", "stat", o.dir});
  CHECK(st.exit_code == 1);
  CHECK(st.err == problem);
  CHECK(std::find(st.lines.begin(), st.lines.end(),
                  "  00000000000000000001.log  fseq 1 to " + std::to_string(o.last_held()) +
                      "  segment header checksum mismatch") != st.lines.end());
  const auto v = run({"zmq-journal", "verify", o.dir});
  CHECK(v.exit_code == 1);
  CHECK(v.err == problem);
}

TEST_CASE("zmq-journal: SHALL report a quarantined file, and the fseqs it held, from dump, stat and "
          "verify, and dump what comes after it") {
  one_segment o;
  flip_bit(o.file, static_cast<off_t>(o.record_21 + 40));
  const std::uint64_t next = o.last_held() + 1;
  {
    // A writer's open quarantines the damaged tail and goes on past it.
    auto j = journal::open(o.dir, {});
    REQUIRE(j.report().damaged.size() == 1);
    REQUIRE(j.next_fseq() == next);
    for (int i = 0; i < 3; ++i) j.append(time_of(100 + i), "after", "x");
    j.commit();
  }
  REQUIRE(fs::exists(o.file + ".quarantined"));
  const std::string problem = "zmq-journal: " + o.file + ".quarantined: quarantined earlier; fseq 1 to " +
                              std::to_string(next - 1) + " not readable\n";

  const auto d = run({"zmq-journal", "dump", o.dir});
  CHECK(d.exit_code == 1);
  CHECK(fseqs_of(parse_lines(d.lines)) == range(next, next + 2));
  CHECK(d.err == problem);
  // A range that leaves the quarantined fseqs out has nothing to report.
  const auto after = run({"zmq-journal", "dump", o.dir, "--from", std::to_string(next)});
  CHECK(after.exit_code == 0);
  CHECK(after.err.empty());
  const auto part = run({"zmq-journal", "dump", o.dir, "--from", "10", "--to", "30"});
  CHECK(part.exit_code == 1);
  CHECK(part.lines.empty());
  CHECK(part.err ==
        "zmq-journal: " + o.file + ".quarantined: quarantined earlier; fseq 10 to 30 not readable\n");

  const auto st = run({"zmq-journal", "stat", o.dir});
  CHECK(st.exit_code == 1);
  CHECK(st.err == problem);
  const std::set<std::string> lines(st.lines.begin(), st.lines.end());
  CHECK(lines.count("quarantined  1"));
  CHECK(lines.count("  00000000000000000001.log.quarantined  fseq 1 to " + std::to_string(next - 1)));
  const auto v = run({"zmq-journal", "verify", o.dir});
  CHECK(v.exit_code == 1);
  CHECK(v.err == problem);
}

TEST_CASE("zmq-journal: SHALL report a sealed segment cut short, from dump and verify") {
  sample_journal s(300);
  const auto segments = s.j.segments();
  REQUIRE(segments.size() > 3);
  const auto cut = segments[1];
  fs::resize_file(cut.file, cut.bytes / 2);
  const auto d = run({"zmq-journal", "dump", s.path()});
  CHECK(d.exit_code == 1);
  const auto got = fseqs_of(parse_lines(d.lines));
  std::uint64_t first_missing = 1;
  while (first_missing - 1 < got.size() && got[first_missing - 1] == first_missing) ++first_missing;
  CHECK(first_missing > cut.base_fseq);
  CHECK(got.back() == 300);
  CHECK(d.err == "zmq-journal: " + cut.file + ": segment cut short (it should reach fseq " +
                     std::to_string(segments[2].base_fseq - 1) + ") at fseq " +
                     std::to_string(first_missing) +
                     "; fseq " + std::to_string(first_missing) + " to " +
                     std::to_string(segments[2].base_fseq - 1) + " not readable\n");
  const auto v = run({"zmq-journal", "verify", s.path()});
  CHECK(v.exit_code == 1);
  CHECK(v.err.rfind("zmq-journal: " + cut.file + ": torn record at the end at offset ", 0) == 0);
}

TEST_CASE("zmq-journal: SHALL dump each record as one JSON line with fseq, time, topic and the "
          "decoded envelope") {
  sample_journal s(3);
  const std::string bytes("\x00\xff\x80 bin", 7);
  s.append_payload(zmqkit::binary{bytes});
  s.j.commit();

  const auto r = run({"zmq-journal", "dump", s.path()});
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  const auto records = parse_lines(r.lines);
  REQUIRE(records.size() == 4);
  const auto& first = records[0];
  std::vector<std::string> keys;
  for (const auto& [k, v] : first.items()) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"fseq", "time", "time_ns", "topic", "seq", "producer",
                                         "sent_ns", "headers", "payload"});
  CHECK(first["fseq"] == 1);
  CHECK(first["time"] == "2026-11-23T10:37:39.000001123Z");
  CHECK(first["time_ns"] == time_of(1));
  CHECK(first["topic"] == "orders.1");
  CHECK(first["seq"] == 1);
  CHECK(first["producer"] == producer_hex);
  CHECK(plausible_time(first["sent_ns"].get<std::int64_t>()));
  CHECK(first["headers"] == json{{"source", "test"}});
  CHECK(first["payload"] == json{{"n", 1}});
  CHECK(records[1]["topic"] == "users.2");
  CHECK(records[2]["payload"] == json{{"n", 3}});
  CHECK(records[3]["payload"] == json{{"$base64", base64(bytes)}});  // as zmq-sub prints bin
}

TEST_CASE("zmq-journal: SHALL select records with --from, --to, --count and --topic") {
  sample_journal s(300);
  SUBCASE("--from reads from the middle of a sealed segment") {
    const auto r = run({"zmq-journal", "dump", s.path(), "--from", "250"});
    CHECK(r.exit_code == 0);
    CHECK(fseqs_of(parse_lines(r.lines)) == range(250, 300));
  }
  SUBCASE("--to stops after that fseq") {
    const auto r = run({"zmq-journal", "dump", s.path(), "--to", "7"});
    CHECK(r.exit_code == 0);
    CHECK(fseqs_of(parse_lines(r.lines)) == range(1, 7));
  }
  SUBCASE("--from and --to together, inclusive") {
    const auto r = run({"zmq-journal", "dump", s.path(), "--from", "100", "--to", "100"});
    CHECK(r.exit_code == 0);
    CHECK(fseqs_of(parse_lines(r.lines)) == range(100, 100));
  }
  SUBCASE("--count") {
    const auto r = run({"zmq-journal", "dump", s.path(), "--from", "10", "--count", "5"});
    CHECK(r.exit_code == 0);
    CHECK(fseqs_of(parse_lines(r.lines)) == range(10, 14));
    CHECK(run({"zmq-journal", "dump", s.path(), "-C", "0"}).lines.empty());
  }
  SUBCASE("--topic keeps topics with that prefix; --count counts what is printed") {
    const auto r = run({"zmq-journal", "dump", s.path(), "--topic", "users.", "--count", "3"});
    CHECK(r.exit_code == 0);
    CHECK(fseqs_of(parse_lines(r.lines)) == std::vector<std::uint64_t>{2, 4, 6});
    const auto two = run({"zmq-journal", "dump", s.path(), "-t", "users.1", "-t", "orders.1",
                          "--to", "20"});
    CHECK(fseqs_of(parse_lines(two.lines)) == std::vector<std::uint64_t>{1, 10, 11, 12, 13, 14,
                                                                        15, 16, 17, 18, 19});
  }
  SUBCASE("past the end: nothing, exit 0") {
    const auto r = run({"zmq-journal", "dump", s.path(), "--from", "301"});
    CHECK(r.exit_code == 0);
    CHECK(r.lines.empty());
    CHECK(r.err.empty());
  }
}

TEST_CASE("zmq-journal: SHALL print a record whose envelope does not decode with its bytes and "
          "the error, and go on") {
  sample_journal s(1);
  const std::string garbage("\x93\x01\xc1garbage\xff", 11);
  s.j.append(time_of(2), "bad", garbage);
  s.append_payload(std::string("after"));
  s.j.commit();

  const auto r = run({"zmq-journal", "dump", s.path()});
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 0);
  const auto records = parse_lines(r.lines);
  REQUIRE(records.size() == 3);
  const auto& bad = records[1];
  CHECK(bad["fseq"] == 2);
  CHECK(bad["topic"] == "bad");
  CHECK(bad["time_ns"] == time_of(2));
  CHECK(contains(bad["error"].get<std::string>(), "envelope"));
  CHECK(bad["envelope"] == json{{"$base64", base64(garbage)}});
  CHECK_FALSE(bad.contains("payload"));
  CHECK(records[2]["payload"] == "after");
}

TEST_CASE("zmq-journal: SHALL exit 2 with one stderr line for a missing DIR, a bad argument or "
          "an unknown subcommand") {
  sample_journal s(5);
  temp_dir empty("zmq-journal-empty");
  temp_dir not_journal("zmq-journal-logs");  // log files, but no segment of a journal
  for (const char* name : {"syslog.log", "1.log", "00000000000000000000.log", "00000000000000000001.txt"})
    std::ofstream(not_journal / name) << "x\n";
  const std::string missing = s.path() + "/no-such-dir";
  const std::string file = s.path() + "/00000000000000000001.log";
  for (const auto& argv : std::vector<std::vector<std::string>>{
           {"zmq-journal", "stat", missing},
           {"zmq-journal", "verify", missing},
           {"zmq-journal", "dump", missing},
           {"zmq-journal", "verify", file},
           {"zmq-journal", "stat", empty.path()},
           {"zmq-journal", "dump", empty.path()},
           {"zmq-journal", "verify", empty.path()},
           {"zmq-journal", "stat", not_journal.path()},
           {"zmq-journal", "dump", not_journal.path()},
           {"zmq-journal", "verify", not_journal.path()},
           {"zmq-journal"},
           {"zmq-journal", "frobnicate", s.path()},
           {"zmq-journal", "stat"},
           {"zmq-journal", "stat", s.path(), "--format", "xml"},
           {"zmq-journal", "dump", s.path(), "--from", "x"},
           {"zmq-journal", "dump", s.path(), "--from", "0"},
           {"zmq-journal", "dump", s.path(), "--to", "-3"},
           {"zmq-journal", "dump", s.path(), "--count", "-1"},
           {"zmq-journal", "dump", s.path(), "--from", "9", "--to", "3"},
           {"zmq-journal", "dump", s.path(), "--from", "18446744073709551616"},
       })
    check_usage_error(argv);
  CHECK(run({"zmq-journal", "frobnicate", s.path()}).err ==
        "zmq-journal: unknown subcommand 'frobnicate' (use stat, verify or dump; see zmq-journal "
        "--help)\n");
  const auto r = run({"zmq-journal", "verify", missing});
  CHECK(r.err == "zmq-journal: journal directory " + missing +
                     " does not exist (see zmq-journal --help)\n");
  CHECK(run({"zmq-journal", "dump", not_journal.path()}).err ==
        "zmq-journal: " + not_journal.path() + " is not a journal directory (no segment files named like "
        "00000000000000000001.log) (see zmq-journal --help)\n");
}

TEST_CASE("zmq-journal: SHALL show help with examples for the tool and each subcommand") {
  const auto top = run({"zmq-journal", "--help"});
  CHECK(top.exit_code == 0);
  std::string text;
  for (const auto& l : top.lines) text += l + "\n";
  for (const char* part : {"stat", "verify", "dump", "Examples:", "zmq-journal dump DIR --from",
                           "Exit codes: 0 ok"})
    CHECK_MESSAGE(contains(text, part), part);
  for (const char* sub : {"stat", "verify", "dump"}) {
    const auto r = run({"zmq-journal", sub, "--help"});
    CHECK(r.exit_code == 0);
    std::string help;
    for (const auto& l : r.lines) help += l + "\n";
    CHECK_MESSAGE(contains(help, std::string("zmq-journal ") + sub + " "), help);
    CHECK(contains(help, "Examples:"));
  }
}
