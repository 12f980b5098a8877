// zmq-push and zmq-pull end to end: real processes, real sockets. The
// binding side uses tcp://127.0.0.1:* with -v and the other connects to the
// port from its readiness line; no port is fixed and no test sleeps.
#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/tool_runner.hpp"

using namespace zmqkit::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// Reads the workers' stdout until total lines have come from them together
// (each worker's lines in the order printed), then stops them with SIGTERM,
// which ends a zmq-pull with exit 0 and no more lines.
std::vector<std::vector<std::string>> collect(std::vector<std::unique_ptr<process>>& workers,
                                              std::size_t total) {
  std::vector<std::vector<std::string>> lines(workers.size());
  std::size_t got = 0;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (got < total) {
    REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline,
                    got << " of " << total << " lines within 30 s");
    for (std::size_t w = 0; w < workers.size(); ++w) {
      while (auto line = workers[w]->read_line(20ms)) {
        lines[w].push_back(std::move(*line));
        ++got;
      }
    }
  }
  for (auto& worker : workers) {
    worker->kill(SIGTERM);
    CHECK(exit_code(*worker) == 0);
    CHECK(read_lines(*worker, 0ms).empty());
  }
  return lines;
}

// Each worker got some of the jobs "<prefix>1".."<prefix>count", in order,
// and together all of them, none twice.
void check_shared(const std::vector<std::vector<std::string>>& shares, const std::string& prefix,
                  int count) {
  std::multiset<std::string> all;
  for (const auto& share : shares) {
    INFO("a worker got " << share.size() << " jobs");
    CHECK(!share.empty());
    int last = 0;
    for (const auto& line : share) {
      REQUIRE(line.rfind(prefix, 0) == 0);
      const int n = std::stoi(line.substr(prefix.size()));
      CHECK(n > last);  // each worker sees its share in order
      last = n;
      all.insert(line);
    }
  }
  CHECK(all.size() == static_cast<std::size_t>(count));
  std::set<std::string> expected;
  for (int n = 1; n <= count; ++n) expected.insert(prefix + std::to_string(n));
  CHECK(std::set<std::string>(all.begin(), all.end()) == expected);  // so no duplicates either
}

std::string numbered_lines(const std::string& prefix, int count) {
  std::string input;
  for (int n = 1; n <= count; ++n) input += prefix + std::to_string(n) + "\n";
  return input;
}

}  // namespace

TEST_CASE("zmq-push: SHALL share 300 messages across 3 zmq-pull workers, each getting some, "
          "none twice") {
  constexpr int count = 300;
  process push(tool({"zmq-push", "@tcp://127.0.0.1:*", "-v", "-t", "jobs", "--wait-pullers", "3",
                     "--wait-timeout", "60"}));
  const auto endpoint = ready_endpoint(push);
  // The jobs wait in the pipe until the three workers are connected; then
  // they go as fast as they come, and round-robin still reaches each.
  stdin_feeder feed(push, numbered_lines("job-", count));
  std::vector<std::unique_ptr<process>> pulls;
  for (int i = 0; i < 3; ++i)
    pulls.push_back(std::make_unique<process>(
        tool({"zmq-pull", ">" + endpoint, "-F", "{{topic}} {{raw}}"})));

  const auto shares = collect(pulls, count);
  CHECK(exit_code(push) == 0);
  check_shared(shares, "jobs job-", count);
  const auto err = push.stderr_text();
  int accepted = 0;
  for (auto at = err.find("zmq-push: accepted "); at != std::string::npos;
       at = err.find("zmq-push: accepted ", at + 1))
    ++accepted;
  CHECK(accepted == 3);  // -v printed the events the pusher read while it waited
}

TEST_CASE("zmq-push: SHALL share a quick burst among 3 pullers still reconnecting when it "
          "starts, with --wait-pullers 3") {
  // The README's work queue: workers started first retry with a growing
  // back-off, and without --wait-pullers the first to complete its
  // handshake got all 10 jobs. An ipc path stands in for the fixed port.
  const auto endpoint = absent_endpoint("wait-pullers");
  struct remove_file {  // libzmq leaves a bound ipc path behind
    std::string path;
    ~remove_file() { std::remove(path.c_str()); }
  } socket_file{endpoint.substr(std::string("ipc://").size())};
  std::vector<std::unique_ptr<process>> pulls;
  for (int i = 0; i < 3; ++i) {
    pulls.push_back(std::make_unique<process>(tool({"zmq-pull", ">" + endpoint, "-v"})));
    wait_for_stderr(*pulls.back(), "retrying ");
  }
  const auto r = run({"zmq-push", "@" + endpoint, "-t", "resize", "--wait-pullers", "3",
                      "--wait-timeout", "60"},
                     numbered_lines("", 10));
  CHECK_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.err.empty());
  check_shared(collect(pulls, 10), "", 10);
}

TEST_CASE("zmq-push: SHALL share a quick burst among 3 pullers it connects to, with "
          "--wait-pullers 3") {
  std::vector<std::unique_ptr<process>> pulls;
  std::vector<std::string> argv{"zmq-push", "-t", "resize", "-m", "img-{{seq}}", "-n", "9",
                                "--wait-pullers", "3", "--wait-timeout", "60"};
  for (int i = 0; i < 3; ++i) {
    pulls.push_back(std::make_unique<process>(tool({"zmq-pull", "@tcp://127.0.0.1:*", "-v"})));
    argv.push_back(">" + ready_endpoint(*pulls.back()));
  }
  const auto r = run(argv);
  CHECK_MESSAGE(r.exit_code == 0, r.err);
  check_shared(collect(pulls, 9), "img-", 9);
}

TEST_CASE("zmq-push: SHALL exit 4 with one line when --wait-pullers are not connected within "
          "--wait-timeout") {
  const auto start = std::chrono::steady_clock::now();
  const auto r = run({"zmq-push", "@tcp://127.0.0.1:*", "--wait-pullers", "1", "--wait-timeout",
                      "0.3", "-m", "lost"});
  CHECK(std::chrono::steady_clock::now() - start >= 300ms);
  CHECK(r.exit_code == 4);
  CHECK(r.err == "zmq-push: 0 of 1 pullers connected within 0.3 s (--wait-timeout)\n");
}

TEST_CASE("zmq-pull: SHALL print -C messages as jsonl, with topic, headers and seq, and exit 0") {
  process pull(tool({"zmq-pull", "@tcp://127.0.0.1:*", "-v", "-C", "3", "--out-format", "jsonl"}));
  const auto endpoint = ready_endpoint(pull);
  process push(tool({"zmq-push", ">" + endpoint, "-t", "resize", "-H", "prio=high", "-m",
                     "img-{{seq}}.png", "-n", "5"}));

  std::string producer;
  for (int n = 1; n <= 3; ++n) {
    const auto m = json::parse(next_line(pull));
    CHECK(m["topic"] == "resize");
    CHECK(m["seq"] == n);
    CHECK(m["headers"] == json{{"prio", "high"}});
    CHECK(m["payload"] == "img-" + std::to_string(n) + ".png");
    CHECK(plausible_time(m["time_ns"].get<std::int64_t>()));
    if (producer.empty()) producer = m["producer"].get<std::string>();
    CHECK(m["producer"] == producer);
  }
  CHECK(!pull.read_line(line_deadline));  // EOF: stopped at the count
  CHECK(exit_code(pull) == 0);
  // The other two stay queued for a puller that has gone: the pusher gives
  // them the --linger time and exits 0 either way.
  CHECK(exit_code(push) == 0);
}

TEST_CASE("zmq-pull: SHALL exit 3 when no message arrives within -W") {
  const auto r = run({"zmq-pull", "@tcp://127.0.0.1:*", "-W", "0.2"});
  CHECK(r.exit_code == 3);
  CHECK(r.lines.empty());
  CHECK(r.err == "zmq-pull: no message for 0.2 s (-W), 0 received\n");
}

TEST_CASE("zmq-push: SHALL exit 4 when no puller takes a message within --timeout") {
  const auto r = run({"zmq-push", "@tcp://127.0.0.1:*", "--timeout", "0.2", "-m", "lost"});
  CHECK(r.exit_code == 4);
  CHECK(r.err.rfind("zmq-push: ", 0) == 0);
  CHECK(r.err.find('\n') == r.err.size() - 1);
}

TEST_CASE("zmq-push: SHALL send raw stdin that is not UTF-8 as bin, shown as $base64 in jsonl") {
  process pull(tool({"zmq-pull", "@tcp://127.0.0.1:*", "-v", "-C", "1", "--out-format", "jsonl"}));
  const auto endpoint = ready_endpoint(pull);
  process push(tool({"zmq-push", ">" + endpoint, "-s"}));
  const std::string bytes("\x00\xff\xfe\n\x80", 5);
  stdin_feeder feed(push, bytes);

  const auto m = json::parse(next_line(pull));
  CHECK(m["payload"] == json{{"$base64", base64(bytes)}});
  CHECK(exit_code(pull) == 0);
  CHECK(exit_code(push) == 0);
}

TEST_CASE("zmq-push: SHALL exit 2 with one stderr line on a bad endpoint or argument") {
  const std::vector<std::vector<std::string>> commands{
      {"zmq-push", "foo://x", "-m", "x"},
      {"zmq-push", "tcp://", "-m", "x"},
      {"zmq-push", "@tcp://999.1.1.1:1", "-m", "x"},
      {"zmq-push", "--no-such-flag"},
      {"zmq-push", "--rate", "-1", "-m", "x"},
      {"zmq-push", "--wait-pullers", "-1", "-m", "x"},
      {"zmq-push", "--wait-pullers", "1.5", "-m", "x"},
      {"zmq-push", "--wait-pullers", "1", "--wait-timeout", "0", "-m", "x"},
  };
  for (const auto& argv : commands) check_usage_error(argv);
}

TEST_CASE("zmq-pull: SHALL exit 2 with one stderr line on a bad endpoint or argument") {
  // -W 2: a tool that wrongly accepted the endpoint still ends, with 3.
  const std::vector<std::vector<std::string>> commands{
      {"zmq-pull", "foo://x", "-W", "2"},
      {"zmq-pull", "tcp://", "-W", "2"},
      {"zmq-pull", "@tcp://999.1.1.1:1", "-W", "2"},
      {"zmq-pull", "--no-such-flag"},
      {"zmq-pull", "-C", "many"},
  };
  for (const auto& argv : commands) check_usage_error(argv);
}

TEST_CASE("zmq-pull: SHALL report with -v that it has connected") {
  // verbose_reporter starts the socket monitor after the puller has called
  // connect(), so a fast local TCP connect happens before anyone listens
  // for ZMQ_EVENT_CONNECTED and the line never comes.
  constexpr int rounds = 5;
  process push(tool({"zmq-push", "@tcp://127.0.0.1:*", "-v"}));
  const auto endpoint = ready_endpoint(push);
  int missed = 0;
  for (int round = 0; round < rounds; ++round) {
    process pull(tool({"zmq-pull", ">" + endpoint, "-v", "-W", "0.3"}));
    wait_for_stderr(push, "accepted ");
    CHECK(exit_code(pull) == 3);
    if (pull.stderr_text().find("zmq-pull: connected tcp://") == std::string::npos) ++missed;
  }
  CHECK_MESSAGE(missed == 0, "no 'connected' line in " << missed << " of " << rounds << " runs");
  push.close_stdin();
  CHECK(exit_code(push) == 0);
}
