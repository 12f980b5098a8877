// zmq-forwarder under faults, as a real process on a real filesystem:
// killed -9 again and again during acked publishing, its journal's disk full
// (a small tmpfs; needs root), fdatasync failing (injected with strace), and
// the next hop of a forward-to link down. In each, what the publishers were
// told is stored must be there afterwards, once, in order.
#include <doctest/doctest.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/small_tmpfs.hpp"
#include "support/temp_dir.hpp"
#include "tools/forwarder_runner.hpp"

using namespace zmqkit::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string any_port = "@tcp://127.0.0.1:*";

// Checks that got holds 1..count for each topic, in order, once each.
void check_in_order(const std::vector<json>& got, const std::vector<std::string>& topics, int count) {
  std::map<std::string, int> last;
  bool in_order = true;
  for (const auto& m : got) {
    const std::string topic = m["topic"].get<std::string>();
    const int n = std::stoi(m["payload"].get<std::string>());
    in_order = in_order && n == last[topic] + 1;
    last[topic] = n;
  }
  CHECK(in_order);
  for (const auto& t : topics) CHECK(last[t] == count);
}

}  // namespace

TEST_CASE("zmq-forwarder: SHALL lose no acknowledged message when killed -9 again and again during acked publishing") {
  temp_dir d;
  const std::string dir = d / "journal";
  auto fwd = std::make_unique<forwarder_proc>(dir, std::vector<std::string>{
                                                       "--intake", any_port, "--replay", any_port});
  const std::string intake = fwd->at.at("intake"), replay = fwd->at.at("replay");
  constexpr int per_producer = 50000;
  std::vector<std::unique_ptr<process>> pubs;
  for (const char* name : {"a", "b"}) {
    pubs.push_back(std::make_unique<process>(tool({"zmq-pub", "--reliable", ">" + intake, "-l", "-t",
                                                   std::string("p.") + name, "--rate", "5000",
                                                   "--ack-timeout", "120"})));
    pubs.back()->write_stdin(numbered_lines(1, per_producer, ""));
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
  check_in_order(drain(replay, "check", 2 * per_producer, "first"), {"p.a", "p.b"}, per_producer);
}

TEST_CASE("zmq-forwarder: SHALL hold messages while the next hop is down and deliver them there once each") {
  temp_dir d;
  // B first, only to learn a free port; then A forwards to it while it is down.
  auto b = std::make_unique<forwarder_proc>(d / "b", std::vector<std::string>{
                                                         "--intake", any_port, "--replay", any_port});
  const std::string b_intake = b->at.at("intake"), b_replay = b->at.at("replay");
  b->p->kill(SIGTERM);
  REQUIRE(exit_code(*b->p) == 0);
  b.reset();

  auto a = std::make_unique<forwarder_proc>(d / "a", std::vector<std::string>{
                                                         "--intake", any_port, "--replay", "none",
                                                         "--forward-to", ">" + b_intake, "--link-resend", "1"});
  const std::string a_intake = a->at.at("intake");
  CHECK(run({"zmq-pub", "--reliable", ">" + a_intake, "-l", "-t", "hop"}, numbered_lines(1, 3000, "m")).exit_code == 0);
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
  CHECK(run({"zmq-pub", "--reliable", ">" + a_intake, "-l", "-t", "hop"}, numbered_lines(3001, 3500, "m")).exit_code == 0);
  got = drain(b_replay, "", 500, "3001");
  REQUIRE(got.size() == 500);
  CHECK(got.front()["payload"] == "m3001");
  CHECK(got.back()["payload"] == "m3500");
  b->p->kill(SIGTERM);
  CHECK(exit_code(*b->p) == 0);
  CHECK(journal_records(d / "b") == 3500);  // once each
}


TEST_CASE("zmq-forwarder: SHALL hold publishers back while its disk is full, lose nothing acknowledged, "
          "and take messages again once space returns") {
  temp_dir d;
  std::string why_not;
  const auto tmpfs = small_tmpfs::mount(d / "disk", "4m", why_not);
  if (!tmpfs) {
    MESSAGE("SKIPPED: " << why_not);
    return;
  }
  const std::string disk = tmpfs->path();
  forwarder_proc fwd(disk + "/j", {"--intake", any_port, "--replay", any_port, "--control", any_port,
                                   "--segment-mib", "1"});
  const std::string intake = fwd.at.at("intake"), replay = fwd.at.at("replay");
  REQUIRE(run({"zmq-pub", "--reliable", ">" + intake, "-l", "-t", "big"}, wide_lines(1, 500)).exit_code == 0);

  // Something else takes every byte that is left.
  const std::string filler = disk + "/filler";
  {
    std::FILE* f = std::fopen(filler.c_str(), "wb");
    REQUIRE(f);
    const std::string chunk(4096, 'f');
    while (std::fwrite(chunk.data(), 1, chunk.size(), f) == chunk.size() && std::fflush(f) == 0) {
    }
    std::fclose(f);
  }
  // A durable subscriber acknowledges meanwhile: its position cannot be
  // saved, which must cost nothing but a later save.
  process reader(tool({"zmq-sub", ">" + replay, "--durable", "audit", "--replay", "first",
                       "--out-format", "raw"}));
  auto got = collect_numbers({&reader}, 500, 30s).at(0);
  CHECK(got.size() == 500);
  // Publishing on: the intake stops, the publisher is held back.
  process pub(tool({"zmq-pub", "--reliable", ">" + intake, "-l", "-t", "big", "--ack-timeout", "120"}));
  stdin_feeder feed(pub, wide_lines(501, 2000));
  wait_for_stderr(*fwd.p, "intake stopped until space returns", 30s);
  CHECK_FALSE(pub.wait(0ms));  // still waiting for its acknowledgements
  CHECK(forwarder_stats(fwd.at.at("control"))["journal"]["full"] == true);

  REQUIRE(std::remove(filler.c_str()) == 0);  // space returns
  wait_for_stderr(*fwd.p, "intake resumed", 30s);
  CHECK(exit_code(pub, 120s) == 0);  // every message acknowledged in the end

  std::set<int> seen(got.begin(), got.end());
  const auto more = collect_numbers({&reader}, 2000, 30s, seen).at(0);
  seen.insert(more.begin(), more.end());
  CHECK(seen.size() == 2000);
  reader.kill(SIGTERM);
  CHECK(exit_code(reader) == 0);
  const auto all = drain(replay, "", 2000, "first");
  REQUIRE(all.size() == 2000);
  for (int i = 0; i < 2000; ++i) CHECK(std::stoi(all[i]["payload"].get<std::string>()) == i + 1);
  fwd.p->kill(SIGTERM);
  CHECK(exit_code(*fwd.p) == 0);
  CHECK(journal_records(disk + "/j") == 2000);
  // The position it could not save while the disk was full was saved later.
  const auto r = run({"zmq-journal", "stat", disk + "/j", "--format", "json"});
  REQUIRE(r.exit_code == 0);
  const json stat = json::parse(r.lines.at(0));
  std::uint64_t audit = 0;
  for (const auto& c : stat["cursors"])
    if (c["name"] == "sub.audit") audit = c["fseq"].get<std::uint64_t>();
  CHECK(audit == 2001);
}

TEST_CASE("zmq-forwarder: SHALL exit non-zero when fdatasync fails, and lose nothing acknowledged once "
          "restarted") {
  const char* strace = "/usr/bin/strace";
  if (::access(strace, X_OK) != 0 || run_command({strace, "-o", "/dev/null", "true"}) != 0) {
    MESSAGE("SKIPPED: needs strace (Debian strace) and ptrace permission to inject a failing fdatasync");
    return;
  }
  temp_dir d;
  const std::string dir = d / "j";
  // The 300th fdatasync fails with EIO, while messages are being acknowledged.
  auto fwd = std::make_unique<forwarder_proc>(
      dir, std::vector<std::string>{"--intake", any_port, "--replay", any_port},
      std::vector<std::string>{strace, "-f", "-qq", "-o", "/dev/null", "-e", "trace=fdatasync",
                               "-e", "inject=fdatasync:error=EIO:when=300"});
  const std::string intake = fwd->at.at("intake"), replay = fwd->at.at("replay");
  process pub(tool({"zmq-pub", "--reliable", ">" + intake, "-l", "-t", "t", "--rate", "2000",
                    "--ack-timeout", "120"}));
  stdin_feeder feed(pub, numbered_lines(1, 5000));

  wait_for_stderr(*fwd->p, "fdatasync failed", 30s);
  CHECK(exit_code(*fwd->p) == 1);  // fatal, never retried
  fwd = std::make_unique<forwarder_proc>(dir, std::vector<std::string>{"--intake", "@" + intake,
                                                                        "--replay", "@" + replay});
  CHECK(exit_code(pub, 120s) == 0);
  CHECK(journal_records(dir) == 5000);  // once each: resent ones were recognised
  check_in_order(drain(replay, "", 5000, "first"), {"t"}, 5000);
}
