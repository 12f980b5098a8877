// zmq-forwarder as a real process with a real journal, driven by the real
// tools (zmq-pub --reliable, zmq-sub --durable/--replay, zmq-journal), and
// killed with SIGKILL at random moments.
#include <doctest/doctest.h>

#include <chrono>
#include <ctime>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/temp_dir.hpp"
#include "tools/tool_runner.hpp"

using namespace zmqkit::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// A running forwarder and the endpoints its readiness line gave.
struct forwarder_proc {
  std::unique_ptr<process> p;
  std::map<std::string, std::string> at;  // role -> tcp://127.0.0.1:port

  forwarder_proc(const std::string& dir, std::vector<std::string> args) {
    std::vector<std::string> argv{"zmq-forwarder", "-d", dir, "-v", "--frontend", "none",
                                  "--live", "none", "--control", "none"};
    argv.insert(argv.end(), args.begin(), args.end());
    p = std::make_unique<process>(tool(argv));
    const std::string line = wait_for_stderr(*p, ": ready:");
    std::size_t pos = line.find("ready:") + 6;
    while (pos < line.size()) {
      const auto end = std::min(line.find(' ', pos + 1), line.size());
      const std::string word = line.substr(pos + 1, end - pos - 1);
      const auto eq = word.find('=');
      if (eq != std::string::npos && eq + 1 < word.size() && (word[eq + 1] == '@' || word[eq + 1] == '>'))
        at[word.substr(0, eq)] = word.substr(eq + 2);
      pos = end;
    }
  }
};


std::string lines(int from, int to, const std::string& prefix) {
  std::string s;
  for (int i = from; i <= to; ++i) s += prefix + std::to_string(i) + "\n";
  return s;
}

// Every message a subscription delivers, as JSON, until count arrived; name
// "" is an unnamed one.
std::vector<json> drain(const std::string& replay, const std::string& name, int count,
                        const std::string& start = "") {
  std::vector<std::string> argv{"zmq-sub", ">" + replay, "-C", std::to_string(count),
                                "-W", "30", "--out-format", "jsonl"};
  if (!name.empty()) argv.insert(argv.end(), {"--durable", name});
  if (!start.empty()) argv.insert(argv.end(), {"--replay", start});
  process sub(tool(argv));
  std::vector<json> out;
  for (const auto& l : read_lines(sub, 60s)) out.push_back(json::parse(l));
  CHECK(exit_code(sub, 30s) == 0);
  return out;
}

std::uint64_t journal_records(const std::string& dir) {
  const auto r = run({"zmq-journal", "stat", dir, "--format", "json"});
  REQUIRE(r.exit_code == 0);
  std::string text;
  for (const auto& l : r.lines) text += l;
  return json::parse(text)["records"].get<std::uint64_t>();
}

}  // namespace

TEST_CASE("zmq-forwarder: SHALL lose no acknowledged message when killed -9 again and again during acked publishing") {
  temp_dir d;
  const std::string dir = d / "journal";
  auto fwd = std::make_unique<forwarder_proc>(dir, std::vector<std::string>{
                                                       "--intake", "@tcp://127.0.0.1:*", "--replay", "@tcp://127.0.0.1:*"});
  const std::string intake = fwd->at.at("intake"), replay = fwd->at.at("replay");
  constexpr int per_producer = 50000;
  std::vector<std::unique_ptr<process>> pubs;
  for (const char* name : {"a", "b"}) {
    pubs.push_back(std::make_unique<process>(tool({"zmq-pub", "--reliable", ">" + intake, "-l", "-t",
                                                   std::string("p.") + name, "--rate", "5000",
                                                   "--ack-timeout", "120"})));
    pubs.back()->write_stdin(lines(1, per_producer, ""));
    pubs.back()->close_stdin();
  }
  // At 5 000/s each publisher takes 10 s, longer than the ten kills below.
  std::mt19937 rng(std::random_device{}());
  for (int kill = 0; kill < 10; ++kill) {
    // The fault: SIGKILL at a random moment while the publishers are busy.
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 300));  // allow-sleep: picks the moment
    fwd->p->kill(SIGKILL);
    (void)fwd->p->wait(10s);
    fwd = std::make_unique<forwarder_proc>(dir, std::vector<std::string>{
                                                    "--intake", "@" + intake, "--replay", "@" + replay});
  }
  for (auto& p : pubs) CHECK(exit_code(*p, 120s) == 0);  // 0: every message acknowledged

  // In the journal once each: 2 x 50 000 records, no more.
  CHECK(journal_records(dir) == 2 * per_producer);
  // And a durable subscriber gets every one, in order per producer.
  const auto got = drain(replay, "check", 2 * per_producer, "first");
  std::map<std::string, int> last;
  bool in_order = true;
  for (const auto& m : got) {
    const int n = std::stoi(m["payload"].get<std::string>());
    in_order = in_order && n == last[m["topic"].get<std::string>()] + 1;
    last[m["topic"].get<std::string>()] = n;
  }
  CHECK(in_order);
  CHECK(last["p.a"] == per_producer);
  CHECK(last["p.b"] == per_producer);
}

TEST_CASE("zmq-forwarder: SHALL hold messages while the next hop is down and deliver them there once each") {
  temp_dir d;
  // B first, only to learn a free port; then A forwards to it while it is down.
  auto b = std::make_unique<forwarder_proc>(d / "b", std::vector<std::string>{
                                                         "--intake", "@tcp://127.0.0.1:*", "--replay", "@tcp://127.0.0.1:*"});
  const std::string b_intake = b->at.at("intake"), b_replay = b->at.at("replay");
  b->p->kill(SIGTERM);
  REQUIRE(exit_code(*b->p) == 0);
  b.reset();

  auto a = std::make_unique<forwarder_proc>(d / "a", std::vector<std::string>{
                                                         "--intake", "@tcp://127.0.0.1:*", "--replay", "none",
                                                         "--forward-to", ">" + b_intake, "--link-resend", "1"});
  const std::string a_intake = a->at.at("intake");
  CHECK(run({"zmq-pub", "--reliable", ">" + a_intake, "-l", "-t", "hop"}, lines(1, 3000, "m")).exit_code == 0);
  CHECK(journal_records(d / "b") == 0);  // B is down: all of it waits in A

  b = std::make_unique<forwarder_proc>(d / "b", std::vector<std::string>{
                                                    "--intake", "@" + b_intake, "--replay", "@" + b_replay});
  auto got = drain(b_replay, "hop-check", 3000, "first");
  REQUIRE(got.size() == 3000);
  CHECK(got.front()["payload"] == "m1");
  CHECK(got.back()["payload"] == "m3000");

  // A killed and restarted resends from its saved position: B drops what it has.
  a->p->kill(SIGKILL);
  (void)a->p->wait(10s);
  a = std::make_unique<forwarder_proc>(d / "a", std::vector<std::string>{
                                                    "--intake", "@" + a_intake, "--replay", "none",
                                                    "--forward-to", ">" + b_intake, "--link-resend", "1"});
  CHECK(run({"zmq-pub", "--reliable", ">" + a_intake, "-l", "-t", "hop"}, lines(3001, 3500, "m")).exit_code == 0);
  got = drain(b_replay, "", 500, "3001");
  REQUIRE(got.size() == 500);
  CHECK(got.front()["payload"] == "m3001");
  CHECK(got.back()["payload"] == "m3500");
  b->p->kill(SIGTERM);
  CHECK(exit_code(*b->p) == 0);
  CHECK(journal_records(d / "b") == 3500);  // once each
}

TEST_CASE("zmq-forwarder: SHALL replay exactly from the first message, an fseq or a time") {
  temp_dir d;
  forwarder_proc fwd(d / "j", {"--intake", "@tcp://127.0.0.1:*", "--replay", "@tcp://127.0.0.1:*"});
  const std::string intake = fwd.at.at("intake"), replay = fwd.at.at("replay");
  CHECK(run({"zmq-pub", "--reliable", ">" + intake, "-l", "-t", "t"}, lines(1, 100, "")).exit_code == 0);
  const auto between = std::chrono::system_clock::now();
  CHECK(run({"zmq-pub", "--reliable", ">" + intake, "-l", "-t", "t"}, lines(101, 200, "")).exit_code == 0);

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
