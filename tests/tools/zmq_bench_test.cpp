// zmq-bench's smoke test: every scenario, transport, mode and output format
// runs with tiny counts and reports what it should. Nothing here is timed:
// the figures are checked for presence and sense, never against a target.
#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/temp_dir.hpp"
#include "tools/tool_runner.hpp"

using namespace zmqkit::test;
using nlohmann::json;

namespace {

// Runs zmq-bench with --format json and returns its results array. The
// JSON comes at the end, after every run: up to a minute here.
json results(std::vector<std::string> args) {
  args.insert(args.begin(), "zmq-bench");
  args.insert(args.end(), {"--format", "json"});
  process p(tool(args));
  p.close_stdin();
  std::string text;
  for (const auto& l : read_lines(p, std::chrono::seconds(60))) text += l + "\n";
  const int code = exit_code(p);
  REQUIRE_MESSAGE(code == 0, p.stderr_text());
  const auto doc = json::parse(text);
  CHECK(doc["machine"]["cpus"].get<int>() >= 1);
  return doc["results"];
}

double median_rate(const json& row, const char* impl) { return row[impl]["msgs_per_s"]["median"].get<double>(); }

}  // namespace

TEST_CASE("zmq-bench: SHALL run pub/sub, push/pull and req/rep on inproc, ipc and tcp beside raw libzmq") {
  for (const char* scenario : {"pubsub", "pushpull", "reqrep"}) {
    INFO("scenario " << scenario);
    const auto rows = results({scenario, "-t", "inproc,ipc,tcp", "-s", "32,1k", "-n", "200", "-p", "2"});
    REQUIRE(rows.size() == 6);
    for (const auto& row : rows) {
      CHECK(row["scenario"] == scenario);
      CHECK(row["mode"] == "throughput");
      CHECK(row["pairs"] == 2);
      CHECK(median_rate(row, "zmqkit") > 0);
      CHECK(median_rate(row, "raw") > 0);
      const auto& ratio = row["ratio_zmqkit_to_raw_msgs_per_s"];
      CHECK(ratio["min"].get<double>() <= ratio["median"].get<double>());
      CHECK(ratio["median"].get<double>() <= ratio["max"].get<double>());
    }
    CHECK(rows[1]["payload_bytes"] == 1024);
    CHECK(rows[2]["transport"] == "ipc");
  }
}

TEST_CASE("zmq-bench: SHALL measure latency open loop and add the frames reference") {
  const auto rows = results({"pushpull", "reqrep", "-n", "300", "-p", "1", "--rate", "3000", "--impl", "all"});
  REQUIRE(rows.size() == 2);
  for (const auto& row : rows) {
    CHECK(row["mode"] == "latency");
    CHECK(row["rate_per_s"] == 3000);
    for (const char* impl : {"zmqkit", "raw"}) {
      const auto& r = row[impl];
      CHECK(r["p50_us"].get<double>() > 0);
      CHECK(r["p50_us"].get<double>() <= r["p99_us"].get<double>());
      CHECK(r["p99_us"].get<double>() <= r["p999_us"].get<double>());
      CHECK(r["p999_us"].get<double>() <= r["max_us"].get<double>());
    }
    CHECK(row.contains("p50_us_zmqkit_minus_raw"));
  }
  CHECK(rows[0].contains("frames"));  // push/pull has the frames reference
  CHECK(rows[0].contains("ratio_zmqkit_to_frames_msgs_per_s"));
  CHECK(rows[1].contains("p50_us_zmqkit_minus_frames"));  // req/rep too
}

TEST_CASE("zmq-bench: SHALL run through the forwarder per fsync policy and leave no journal behind") {
  temp_dir dir("zmqkit-bench");
  const auto rows = results({"forwarder", "-t", "inproc,ipc,tcp", "-s", "100", "-n", "300", "-p", "1",
                             "--fsync", "always,never", "--journal-dir", dir.path()});
  REQUIRE(rows.size() == 6);
  CHECK(rows[0]["fsync"] == "always");
  CHECK(rows[1]["fsync"] == "never");
  CHECK(rows[4]["transport"] == "tcp");
  for (const auto& row : rows) {
    CHECK(median_rate(row, "zmqkit") > 0);
    CHECK(median_rate(row, "raw") > 0);
  }
  CHECK(std::filesystem::is_empty(dir.path()));
}

TEST_CASE("zmq-bench: SHALL print a table and CSV") {
  const auto table = run({"zmq-bench", "pushpull", "-n", "200", "-p", "1"});
  CHECK(table.exit_code == 0);
  REQUIRE(table.lines.size() == 2);
  CHECK(table.lines[0].find("ratio") != std::string::npos);
  CHECK(table.lines[1].rfind("pushpull", 0) == 0);
  const auto csv = run({"zmq-bench", "pubsub", "-s", "64,256", "-n", "200", "-p", "1", "--format", "csv"});
  CHECK(csv.exit_code == 0);
  REQUIRE(csv.lines.size() == 3);
  CHECK(csv.lines[0].rfind("scenario,transport,fsync,payload_bytes,", 0) == 0);
  CHECK(csv.lines[0].find("ratio_zmqkit_to_raw_median") != std::string::npos);
  CHECK(csv.lines[2].rfind("pubsub,tcp,,256,", 0) == 0);
}

TEST_CASE("zmq-bench: SHALL run sender and receiver as two processes") {
  temp_dir dir("zmqkit-bench");
  for (const char* scenario : {"pushpull", "pubsub", "reqrep"}) {
    for (const char* impl : {"zmqkit", "raw"}) {
      const std::string what = std::string(scenario) + " " + impl;
      INFO(what);
      const std::string endpoint = "ipc://" + dir / (std::string(scenario) + "-" + impl);
      const std::vector<std::string> common{scenario, "--impl", impl, "--endpoint", endpoint, "-n", "500"};
      // The binding side first: the publisher in pub/sub, the receiver otherwise.
      const bool sender_binds = std::string(scenario) == "pubsub";
      auto args = [&](const char* role) {
        auto a = common;
        a.insert(a.begin(), "zmq-bench");
        a.insert(a.end(), {"--role", role});
        return tool(a);
      };
      process first(args(sender_binds ? "sender" : "receiver"));
      process second(args(sender_binds ? "receiver" : "sender"));
      auto& reporter = std::string(scenario) == "reqrep" ? second : (sender_binds ? second : first);
      const auto line = reporter.read_line(line_deadline);
      REQUIRE_MESSAGE(line, reporter.stderr_text());
      CHECK(line->find("msgs_per_s=") != std::string::npos);
      CHECK(line->find(std::string("count=500")) != std::string::npos);
      CHECK(exit_code(first) == 0);
      CHECK(exit_code(second) == 0);
    }
  }
}

TEST_CASE("zmq-bench: SHALL refuse bad arguments with one line") {
  check_usage_error({"zmq-bench", "fanout"});
  check_usage_error({"zmq-bench", "-s", "0"});
  check_usage_error({"zmq-bench", "-s", "12q"});
  check_usage_error({"zmq-bench", "-s", "65m"});
  check_usage_error({"zmq-bench", "-t", "udp"});
  check_usage_error({"zmq-bench", "--format", "xml"});
  check_usage_error({"zmq-bench", "--impl", "fast"});
  check_usage_error({"zmq-bench", "forwarder", "--fsync", "sometimes"});
  check_usage_error({"zmq-bench", "--role", "receiver"});
  check_usage_error({"zmq-bench", "--role", "middle", "--endpoint", "tcp://127.0.0.1:1"});
  check_usage_error({"zmq-bench", "-s", "64,1k", "--role", "receiver", "--endpoint", "tcp://127.0.0.1:1", "--impl", "raw"});
  check_usage_error({"zmq-bench", "forwarder", "--role", "sender", "--endpoint", "tcp://127.0.0.1:1", "--impl", "raw"});
  check_usage_error({"zmq-bench", "pushpull", "--rate", "100", "--role", "sender", "--endpoint", "tcp://127.0.0.1:1",
                     "--impl", "raw"});
}

TEST_CASE("zmq-bench: SHALL refuse at once, with exit 2, what cannot run") {
  // zmqkit's receivers take 16 MiB messages, envelope included: 32m used to
  // fail after the run's 30 s deadline.
  for (const char* size : {"32m", "16m", "16777173"}) {
    CAPTURE(size);
    const auto start = std::chrono::steady_clock::now();
    check_usage_error({"zmq-bench", "-s", size});
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
  }
  check_usage_error({"zmq-bench", "pushpull", "-s", "64,32m", "--impl", "all"});
  check_usage_error({"zmq-bench", "forwarder", "--impl", "frames"});
  check_usage_error({"zmq-bench", "pushpull", "--impl", "raw", "--role", "receiver", "--endpoint", "inproc://x"});
}

TEST_CASE("zmq-bench: SHALL end within a second of SIGINT or SIGTERM in the middle of a run, exit 0") {
  // A billion messages: the rows would take hours. -v's line at the start
  // of a row says a run is under way.
  struct each {
    int signal;
    std::vector<std::string> args;
  };
  temp_dir journals;
  for (const auto& [sig, args] : {each{SIGINT, {"pushpull", "--impl", "both"}},
                                  each{SIGTERM, {"pubsub", "--impl", "raw"}},
                                  each{SIGTERM, {"reqrep", "--impl", "zmqkit"}},
                                  each{SIGINT, {"forwarder", "--impl", "both", "--fsync", "never", "--journal-dir",
                                                journals.path()}}}) {
    CAPTURE(args[0]);
    std::vector<std::string> argv{"zmq-bench", "-n", "1000000000", "-p", "1", "-v"};
    argv.insert(argv.end(), args.begin(), args.end());
    process p(tool(argv));
    p.close_stdin();
    wait_for_stderr(p, "pair of runs of 1000000000 messages");
    const auto signalled = std::chrono::steady_clock::now();
    p.kill(sig);
    CHECK(exit_code(p) == 0);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - signalled;
    CHECK(took.count() < 2.0);  // about 10 ms when the machine is idle; was the whole row
    CHECK(p.stderr_text().find("zmq-bench: stopped by a signal: 0 of 1 rows measured\n") != std::string::npos);
    CHECK(read_lines(p).empty());  // no row finished: no table
  }
  CHECK(std::filesystem::is_empty(journals.path()));  // the forwarder's journal went as after a run
}
