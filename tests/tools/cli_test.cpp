// What every tool shares through tools/common/cli: standard descriptors
// kept open, prompt exits, readable errors. Option values: option_values_test.cpp.
#include <doctest/doctest.h>

#include <csignal>
#include <string>
#include <vector>

#include <zmqkit/json_text.hpp>

#include "common/cli.hpp"
#include "tools/tool_runner.hpp"

using namespace zmqkit::test;

TEST_CASE("zmq-sub: SHALL refuse -F together with --out-format") {
  check_usage_error({"zmq-sub", "-F", "{{topic}}", "--out-format", "jsonl", "-W", "1"});
}

TEST_CASE("tools: SHALL keep descriptors 0, 1 and 2 open, so a closed stdout is a one-line write "
          "error (exit 1), never libzmq's abort") {
  // Before, libzmq's first eventfd took the closed descriptor 1 and the
  // payload was written into libzmq's mailbox: abort, status 134.
  process sub({"/bin/sh", "-c",
               "exec " + tool_path("zmq-sub") + " @tcp://127.0.0.1:* -v -C 1 >&-"});
  const auto endpoint = ready_endpoint(sub);
  const auto pub = run({"zmq-pub", ">" + endpoint, "--wait-subscribers", "1", "-m", "hello"});
  CHECK(pub.exit_code == 0);
  CHECK(exit_code(sub) == 1);
  CHECK(wait_for_stderr(sub, "writing") == "zmq-sub: writing stdout: Bad file descriptor");

  // A closed stdin is an input that cannot be read: one line, exit 1.
  process pub_closed_in({"/bin/sh", "-c", "exec " + tool_path("zmq-pub") + " @tcp://127.0.0.1:* -l <&-"});
  CHECK(exit_code(pub_closed_in) == 1);
  CHECK(pub_closed_in.stderr_text() == "zmq-pub: reading stdin: Bad file descriptor\n");
}

TEST_CASE("tools: SHALL exit 1 with one line when --help cannot be written to stdout") {
  for (const char* name : {"zmq-pub", "zmq-sub", "zmq-push", "zmq-pull", "zmq-req", "zmq-rep",
                           "zmq-forwarder", "zmq-journal", "zmq-keygen", "zmq-bench"}) {
    CAPTURE(name);
    process p({"/bin/sh", "-c", "exec " + tool_path(name) + " --help >/dev/full"});
    CHECK(exit_code(p) == 1);
    CHECK(p.stderr_text() == std::string(name) + ": writing stdout: No space left on device\n");
  }
}

TEST_CASE("tools: SHALL exit without waiting out --linger when a connecting tool never connected") {
  // A SUB's only outgoing messages are its subscriptions, which every new
  // connection gets again, and a durable subscriber that never reached its
  // forwarder owes no acknowledgement: neither waits at close. The -W line
  // comes as the wait ends; the exit must follow long before the 20 s linger.
  for (const auto& extra : {std::vector<std::string>{}, std::vector<std::string>{"--durable", "d"}}) {
    std::vector<std::string> argv{"zmq-sub", ">" + absent_endpoint("linger"), "-W", "0.2",
                                  "--linger", "20000"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process sub(tool(argv));
    wait_for_stderr(sub, "(-W)");
    CHECK(exit_code(sub, 5s) == 3);
  }
  // A reliable publisher that never heard from its forwarder: what its
  // socket holds is counted as unacknowledged already.
  process pub(tool({"zmq-pub", "--reliable", ">" + absent_endpoint("linger"), "-m", "x",
                    "--ack-timeout", "0.2", "--linger", "20000"}));
  wait_for_stderr(pub, "not acknowledged");
  CHECK(exit_code(pub, 5s) == 4);

  // A request nobody answered is dropped when zmq-req is stopped, as its
  // retries drop theirs: whatever --linger says.
  process req(tool({"zmq-req", ">" + absent_endpoint("linger"), "-v", "-m", "x", "--timeout", "60",
                    "--linger", "20000"}));
  wait_for_stderr(req, "ready:");
  req.kill(SIGTERM);
  CHECK(exit_code(req, 5s) == 0);
}

TEST_CASE("tools: SHALL print an error line as readable text, escaping control bytes and bytes "
          "that are not UTF-8, and cutting it short") {
  using zmqkit::tools::printable_line;
  CHECK(printable_line("plain ascii, ü and €") == "plain ascii, ü and €");
  CHECK(printable_line("a\nb\tc\x1b[2Jd\x7f") == "a\\x0ab\\x09c\\x1b[2Jd\\x7f");
  CHECK(printable_line("\xa7 \xc3 \xc2\x85 \xed\xa0\x80") ==
        "\\xa7 \\xc3 \\xc2\\x85 \\xed\\xa0\\x80");  // stray, cut, C1, surrogate
  CHECK(printable_line(std::string(5000, 'a'), 100) ==
        std::string(100, 'a') + "... (4900 more bytes)");

  // A tool quoting a bad 1 MB line of binary: one short line, text only.
  std::string input = "{\"payload\": \"" + std::string(1000000, 'a') + "\n";
  for (int i = 0; i < 256; ++i) input += std::string(1, char(i)) + "\xfe\xff\n";
  const auto r = run({"zmq-pub", "@tcp://127.0.0.1:*", "--in-format", "jsonl-envelope"}, input);
  CHECK(r.exit_code == 1);
  std::size_t lines = 0, start = 0;
  for (std::size_t nl; (nl = r.err.find('\n', start)) != std::string::npos; start = nl + 1, ++lines) {
    const auto line = r.err.substr(start, nl - start);
    CHECK(line.size() < 1200);
    CHECK(zmqkit::is_utf8(line));
    for (const char c : line) CHECK((static_cast<unsigned char>(c) >= 0x20 && c != 0x7f));
  }
  CHECK(lines >= 2);
}
