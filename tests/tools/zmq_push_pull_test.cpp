// zmq-push and zmq-pull end to end: real processes, real sockets. The
// binding side uses tcp://127.0.0.1:* with -v and the other connects to the
// port from its readiness line; no port is fixed and no test sleeps.
#include <doctest/doctest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/tool_runner.hpp"

using namespace zmqkit::test;
using nlohmann::json;

TEST_CASE("zmq-push: SHALL share 300 messages across 3 zmq-pull workers, each getting some, "
          "none twice") {
  constexpr int count = 300;
  process push(tool({"zmq-push", "@tcp://127.0.0.1:*", "-v", "-t", "jobs", "--rate", "3000"}));
  const auto endpoint = ready_endpoint(push);

  // Each worker stops 0.5 s after its last job (exit 3: no count given).
  // zmq-push -v reports each connection it accepts. (The workers' own
  // "connected" lines are no signal to wait for: a connecting tool attaches
  // its monitor after connect() and can miss the event.)
  std::vector<std::unique_ptr<process>> pulls;
  for (int i = 0; i < 3; ++i) {
    pulls.push_back(std::make_unique<process>(
        tool({"zmq-pull", ">" + endpoint, "-W", "0.5", "-F", "{{topic}} {{raw}}"})));
    wait_for_stderr(push, "accepted ");
  }
  // All three are connected; --rate spreads the sends over 100 ms, so a
  // handshake still finishing cannot leave a worker out.
  std::string input;
  for (int n = 1; n <= count; ++n) input += "job-" + std::to_string(n) + "\n";
  stdin_feeder feed(push, input);

  std::multiset<std::string> all;
  for (auto& pull : pulls) {
    const auto lines = read_lines(*pull);
    CHECK(exit_code(*pull) == 3);
    INFO("a worker got " << lines.size() << " jobs");
    CHECK(!lines.empty());
    int last = 0;
    for (const auto& line : lines) {
      REQUIRE(line.rfind("jobs job-", 0) == 0);
      const int n = std::stoi(line.substr(9));
      CHECK(n > last);  // each worker sees its share in order
      last = n;
      all.insert(line.substr(5));
    }
  }
  CHECK(exit_code(push) == 0);
  CHECK(all.size() == count);
  std::set<std::string> expected;
  for (int n = 1; n <= count; ++n) expected.insert("job-" + std::to_string(n));
  CHECK(std::set<std::string>(all.begin(), all.end()) == expected);  // so no duplicates either
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
