// zmq-forwarder as a real process with a real journal, driven by the real
// tools (zmq-pub --reliable, zmq-sub --durable/--replay, zmq-journal):
// replay from a chosen start, and durable subscribers killed -9 while they
// hold messages they have not acknowledged. Faults of the forwarder itself
// (kill -9, full disk, failing fdatasync, next hop down) are in
// zmq_forwarder_faults_test.cpp.
#include <doctest/doctest.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "support/http_get.hpp"
#include "support/temp_dir.hpp"
#include "tools/forwarder_runner.hpp"

using namespace zmqkit::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string any_port = "@tcp://127.0.0.1:*";

// Waits until the named subscription has at least n messages out and not
// acknowledged, by asking the forwarder (no sleep: each STATS is a round trip).
void wait_for_pending(const std::string& control, const std::string& name, std::uint64_t n) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  std::uint64_t pending = 0;
  json stats;
  while (pending < n && std::chrono::steady_clock::now() < deadline) {
    stats = forwarder_stats(control);
    for (const auto& s : stats["subscriptions"])
      if (s["name"] == name) pending = s["pending"].get<std::uint64_t>();
  }
  REQUIRE_MESSAGE(pending >= n, "subscription " << name << " has " << pending << " pending, wanted " << n
                                                << "; STATS: " << stats.dump());
}

// Starts a durable subscriber, reads a few of its lines, and once it holds
// messages it has not acknowledged (its stdout pipe is full), kills it with
// SIGKILL. Returns the numbers it printed, including what was still in the pipe.
std::vector<int> kill_while_holding(const std::vector<std::string>& argv, const std::string& control,
                                    const std::string& name) {
  process sub(tool(argv));
  std::vector<int> printed;
  for (int i = 0; i < 5; ++i) printed.push_back(std::stoi(next_line(sub)));
  wait_for_pending(control, name, 500);
  sub.kill(SIGKILL);
  REQUIRE(sub.wait(10s));
  while (auto line = sub.read_line(1s)) printed.push_back(std::stoi(*line));
  return printed;
}

// A forwarder that notices a silent member within 2 s, holding count wide
// lines stored under "jobs", and the zmq-sub command line of a durable
// subscriber to them under name.
struct stocked_forwarder {
  temp_dir d;
  forwarder_proc fwd;
  std::string control;
  std::vector<std::string> sub_argv;

  stocked_forwarder(int count, const std::string& name)
      : fwd(d / "j", {"--intake", any_port, "--replay", any_port, "--control", any_port,
                      "--member-timeout", "2"}),
        control(fwd.at.at("control")),
        sub_argv{"zmq-sub", ">" + fwd.at.at("replay"), "--durable", name, "--replay", "first",
                 "--out-format", "raw"} {
    REQUIRE(run({"zmq-pub", "--reliable", ">" + fwd.at.at("intake"), "-l", "-t", "jobs"}, wide_lines(1, count))
                .exit_code == 0);
  }
};

}  // namespace

TEST_CASE("zmq-forwarder: SHALL replay exactly from the first message, an fseq or a time") {
  temp_dir d;
  forwarder_proc fwd(d / "j", {"--intake", "@tcp://127.0.0.1:*", "--replay", "@tcp://127.0.0.1:*"});
  const std::string intake = fwd.at.at("intake"), replay = fwd.at.at("replay");
  CHECK(run({"zmq-pub", "--reliable", ">" + intake, "-l", "-t", "t"}, numbered_lines(1, 100, "")).exit_code == 0);
  const auto between = std::chrono::system_clock::now();
  CHECK(run({"zmq-pub", "--reliable", ">" + intake, "-l", "-t", "t"}, numbered_lines(101, 200, "")).exit_code == 0);

  const auto first = drain(replay, "", 200, "first");
  REQUIRE(first.size() == 200);
  for (std::size_t i = 0; i < first.size(); ++i) {
    CHECK(first[i]["fseq"] == i + 1);
    CHECK(first[i]["payload"] == std::to_string(i + 1));
  }
  const auto from = drain(replay, "", 50, "151");
  REQUIRE(from.size() == 50);
  CHECK(from.front()["fseq"] == 151);
  CHECK(from.back()["fseq"] == 200);

  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(between.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ns / 1000000000);
  char iso[64];
  std::strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%S", std::gmtime(&secs));
  const std::string when = std::string(iso) + "." + std::to_string(1000000000 + ns % 1000000000).substr(1) + "Z";
  const auto since = drain(replay, "", 100, when);
  REQUIRE(since.size() == 100);
  CHECK(since.front()["payload"] == "101");
  CHECK(since.back()["payload"] == "200");
}

TEST_CASE("zmq-forwarder: SHALL give a durable subscriber killed -9 before it acknowledged everything "
          "the rest when it comes back") {
  stocked_forwarder f(2000, "billing");
  const std::string& control = f.control;
  const auto& argv = f.sub_argv;
  const auto before = kill_while_holding(argv, control, "billing");
  REQUIRE(before.size() < 2000);

  // The same name again: it resumes at what was acknowledged, and once the
  // dead member's time is up (2 s) gets what that one held too.
  process again(tool(argv));
  std::set<int> all(before.begin(), before.end());
  const auto after = collect_numbers({&again}, 2000, 30s, all).at(0);
  all.insert(after.begin(), after.end());
  CHECK(all.size() == 2000);
  CHECK(*all.begin() == 1);
  CHECK(*all.rbegin() == 2000);
  CHECK(forwarder_stats(control)["counters"]["redelivered"].get<std::uint64_t>() > 0);
  again.kill(SIGTERM);
  CHECK(exit_code(again) == 0);
}

TEST_CASE("zmq-forwarder: SHALL hand what a member killed -9 held to the other member of its "
          "subscription") {
  stocked_forwarder f(3000, "workers");
  const std::string& control = f.control;
  const auto& argv = f.sub_argv;
  // b joins while a is alive; a is then killed holding its share.
  process b(tool(argv));
  std::vector<int> from_b{std::stoi(next_line(b))};
  const auto from_a = kill_while_holding(argv, control, "workers");
  std::set<int> all(from_a.begin(), from_a.end());
  all.insert(from_b.front());
  const auto rest = collect_numbers({&b}, 3000, 30s, all).at(0);
  from_b.insert(from_b.end(), rest.begin(), rest.end());
  all.insert(rest.begin(), rest.end());
  CHECK(all.size() == 3000);
  CHECK(from_a.size() >= 5);   // both members had work
  CHECK(from_b.size() >= 500);
  CHECK(forwarder_stats(control)["counters"]["redelivered"].get<std::uint64_t>() > 0);
  b.kill(SIGTERM);
  CHECK(exit_code(b) == 0);
}

TEST_CASE("zmq-forwarder: SHALL exit 2 with one stderr line on bad arguments") {
  check_usage_error({"zmq-forwarder"});  // -d is required
  check_usage_error({"zmq-forwarder", "-d", "j", "--fsync", "sometimes"});
  check_usage_error({"zmq-forwarder", "-d", "j", "--fsync", "interval:0"});
  check_usage_error({"zmq-forwarder", "-d", "j", "--commit-interval", "500"});
  check_usage_error({"zmq-forwarder", "-d", "j", "--segment-mib", "0"});
  check_usage_error({"zmq-forwarder", "-d", "j", "--ack-wait", "0"});
  check_usage_error({"zmq-forwarder", "-d", "j", "--intake", "none", "--frontend", "none"});
  check_usage_error({"zmq-forwarder", "-d", "j", "--intake", "@bogus://x"});
  check_usage_error({"zmq-forwarder", "-d", "j", "--forward-to", "tcp://"});
  // The link connects: a bound forward-to would wait for a next hop to call.
  check_usage_error({"zmq-forwarder", "-d", "j", "--forward-to", "@tcp://127.0.0.1:5560"});
  check_usage_error({"zmq-forwarder", "-d", ""});
  // Unsigned options: CLI11 alone reads -1 as 2^64-1.
  for (const char* option : {"--max-mib", "--max-messages", "--segment-mib"})
    check_usage_error({"zmq-forwarder", "-d", "j", option, "-1"});
  CHECK(run({"zmq-forwarder", "-d", "j", "--max-mib", "-1"}).err ==
        "zmq-forwarder: --max-mib: -1 is not a whole number from 0 to 1099511627776 (see "
        "zmq-forwarder --help)\n");
}

TEST_CASE("zmq-forwarder: SHALL refuse, in one line and exit 1, a journal another forwarder has open") {
  temp_dir d;
  forwarder_proc first(d / "j", {"--intake", any_port, "--replay", "none"});
  const auto r = run({"zmq-forwarder", "-d", d / "j", "--intake", any_port, "--replay", "none",
                      "--live", "none", "--frontend", "none", "--control", "none"});
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.rfind("zmq-forwarder: ", 0) == 0);
  CHECK(r.err.find('\n') == r.err.size() - 1);
}

TEST_CASE("zmq-forwarder: SHALL have every message acknowledged and the member gone once zmq-sub "
          "--durable -C N exits") {
  temp_dir d;
  forwarder_proc fwd(d / "j", {"--intake", any_port, "--replay", any_port, "--control", any_port});
  REQUIRE(run({"zmq-pub", "--reliable", ">" + fwd.at.at("intake"), "-l", "-t", "t"}, numbered_lines(1, 1000))
              .exit_code == 0);
  // A burst of 1 000 ACKs and a BYE at exit: none may be left behind.
  for (const std::string name : {"one", "two", "three"})
    CHECK(run({"zmq-sub", ">" + fwd.at.at("replay"), "--durable", name, "--replay", "first", "-C", "1000"})
              .exit_code == 0);
  const json stats = forwarder_stats(fwd.at.at("control"));
  REQUIRE(stats["subscriptions"].size() == 3);
  for (const auto& s : stats["subscriptions"]) {
    INFO(s.dump());
    CHECK(s["pending"] == 0);
    CHECK(s["members"] == 0);
    CHECK(s["position"] == 1001);
  }
}

TEST_CASE("zmq-forwarder: SHALL report a damaged cursor file on stderr, in STATS and its metrics, keep "
          "it as NAME.corrupt, and start that subscription where its SUB asks") {
  temp_dir d;
  const std::string dir = d / "j";
  {
    forwarder_proc fwd(dir, {"--intake", any_port, "--replay", any_port});
    REQUIRE(run({"zmq-pub", "--reliable", ">" + fwd.at.at("intake"), "-l", "-t", "t"}, numbered_lines(1, 100))
                .exit_code == 0);
    REQUIRE(drain(fwd.at.at("replay"), "bill", 50).size() == 50);  // acknowledged: position 51
    fwd.p->kill(SIGTERM);
    REQUIRE(exit_code(*fwd.p) == 0);  // saves every position
  }
  const std::string cursor = dir + "/cursors/sub.bill";
  std::ofstream(cursor) << "garbage";  // as printf garbage > cursors/sub.bill

  forwarder_proc fwd(dir, {"--intake", any_port, "--replay", any_port, "--control", any_port, "--metrics",
                           "127.0.0.1:0"});
  // Said at start, before the subscriber comes back, naming the file.
  const std::string err = fwd.p->stderr_text();
  const std::string said = "zmq-forwarder: " + cursor + ": damaged cursor file (not a cursor file (size 7)), " +
                           "set aside as " + cursor + ".corrupt; subscription bill has no stored position " +
                           "and starts where its next SUB asks\n";
  CHECK_MESSAGE(err.find(said) != std::string::npos, err);
  const json stats = forwarder_stats(fwd.at.at("control"));
  CHECK(stats["counters"]["damaged_cursors"] == 1);
  json damaged = json::array();
  damaged.push_back(
      {{"file", cursor}, {"moved_to", cursor + ".corrupt"}, {"problem", "not a cursor file (size 7)"}});
  CHECK(stats["damaged_cursors"] == damaged);
  const auto metrics = http_get(fwd.at.at("metrics"));
  CHECK(metrics.body.find("\nzmqkit_forwarder_damaged_cursors_total 1\n") != std::string::npos);
  // Kept as it was, for someone to look at.
  CHECK_FALSE(std::filesystem::exists(cursor));
  std::ifstream kept(cursor + ".corrupt");
  CHECK(std::string(std::istreambuf_iterator<char>(kept), {}) == "garbage");

  // No stored position: the SUB's start applies, resume by default, that is
  // the oldest message. The 50 acknowledged come again; nothing is skipped.
  std::vector<int> expected;
  for (int i = 1; i <= 100; ++i) expected.push_back(i);
  CHECK(payload_numbers(drain(fwd.at.at("replay"), "bill", 100)) == expected);
  fwd.p->kill(SIGTERM);
  REQUIRE(exit_code(*fwd.p) == 0);

  // The new position is saved beside the damaged copy, which zmq-journal
  // stat lists, and reports, until someone removes it.
  const auto st = run({"zmq-journal", "stat", dir, "--format", "json"});
  CHECK(st.exit_code == 1);
  CHECK(st.err == "zmq-journal: " + cursor + ".corrupt: a damaged cursor file set aside\n");
  const json stat = json::parse(st.lines.at(0));
  CHECK(stat["cursors_set_aside"] == json::array({"sub.bill.corrupt"}));
  json position;
  for (const auto& c : stat["cursors"])
    if (c["name"] == "sub.bill") position = c;
  CHECK(position["fseq"] == 101);
}
