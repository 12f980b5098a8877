// The message-size limit end to end: every sending tool reads its input
// within --max-size (16 MiB by default, the MAXMSGSIZE receivers enforce),
// refuses what cannot fit before it is sent, names which input, still sends
// everything else, and exits 1 at the end. Memory stays bounded whatever the
// input claims or holds; peak RSS is read from wait4 when the tool exits.
#include <doctest/doctest.h>

#include <signal.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/forwarder_runner.hpp"
#include "tools/tool_runner.hpp"
#include "support/temp_dir.hpp"

using namespace zmqkit::test;

namespace {

constexpr long mib = 1024;  // in KiB, as peak_rss_kib() counts
// What a tool may hold above the limit itself: its code, libzmq's buffers,
// one read chunk and a copy or two of the largest message it keeps.
constexpr long headroom_kib = 64 * mib;

}  // namespace

TEST_CASE("zmq-pub: SHALL refuse a msgpack value whose header claims more than --max-size as soon "
          "as the header is read, naming its position, with bounded memory, and exit 1") {
  // [1], then a bin 32 that claims 2 GiB, then bytes that never end it.
  std::string input = "\x91\x01";
  input += std::string("\xc6\x7f\xff\xff\xff", 5);
  input += std::string(32 << 20, '\0');
  process pub(tool({"zmq-pub", "@tcp://127.0.0.1:*", "-t", "m", "--in-format", "msgpack"}));
  {
    stdin_feeder feed(pub, input);  // the tool stops reading long before the end
    CHECK(exit_code(pub) == 1);
  }
  const auto err = stderr_lines(pub);
  INFO("stderr: " << pub.stderr_text());
  REQUIRE(err.size() == 1);
  CHECK(err[0].rfind("zmq-pub: stdin byte 2 (value 2): ", 0) == 0);
  CHECK(err[0].find("declares 2147483647 bytes, over the limit of 16777216") != std::string::npos);
  CHECK(pub.peak_rss_kib() < 16 * mib + headroom_kib);
}

TEST_CASE("zmq-pub: SHALL refuse a msgpack value that does not end within --max-size without "
          "buffering past it") {
  // An array that declares 2^32-1 elements, each one byte: none is over the
  // limit, but they add up past it, and memory must not follow them.
  std::string input = "\xdd\xff\xff\xff\xff";
  input += std::string(24 << 20, '\x01');
  process pub(tool({"zmq-pub", "@tcp://127.0.0.1:*", "--in-format", "msgpack", "--max-size", "1m"}));
  {
    stdin_feeder feed(pub, input);
    CHECK(exit_code(pub) == 1);
  }
  INFO("stderr: " << pub.stderr_text());
  CHECK(pub.stderr_text().find("zmq-pub: stdin byte 0 (value 1): input: declares 4294967295 "
                               "elements, more than fit in the limit of 1048576") == 0);
  CHECK(pub.peak_rss_kib() < 1 * mib + headroom_kib);
}

TEST_CASE("zmq-pub: SHALL refuse a stdin line over --max-size once it passes the limit, send the "
          "lines around it, keep memory bounded, and exit 1") {
  process sub(tool({"zmq-sub", "@tcp://127.0.0.1:*", "-v", "-C", "2"}));
  const auto endpoint = ready_endpoint(sub);
  process pub(tool({"zmq-pub", ">" + endpoint, "-t", "t", "-l", "--wait-subscribers", "1"}));
  {
    stdin_feeder feed(pub, "small-1\n" + std::string(64 << 20, 'x') + "\nsmall-2\n");
    CHECK(next_line(sub, 30s) == "small-1");
    CHECK(next_line(sub, 30s) == "small-2");
    CHECK(exit_code(sub) == 0);
    CHECK(exit_code(pub) == 1);
  }
  INFO("stderr: " << pub.stderr_text());
  CHECK(stderr_lines(pub) ==
        std::vector<std::string>{"zmq-pub: line 2: longer than the 16777216-byte limit (--max-size) (skipped)",
                                 "zmq-pub: 1 input(s) rejected, 2 sent"});
  CHECK(pub.peak_rss_kib() < 16 * mib + headroom_kib);
}

TEST_CASE("zmq-pub: SHALL hold at most about --max-size while it reads a -s input or a -l line "
          "over a large limit") {
  // Grown by doubling, the buffer held twice the limit for the copy at its
  // last growth: 517 MiB for a 256 MiB limit.
  const std::string chunk(1 << 20, 'x');
  for (const char* mode : {"-s", "-l"}) {
    CAPTURE(mode);
    process pub(tool({"zmq-pub", "@tcp://127.0.0.1:*", mode, "--max-size", "128m"}));
    {
      stdin_feeder feed(pub, chunk, 160);  // 160 MiB without a newline
      CHECK(exit_code(pub, 60s) == 1);
    }
    INFO("stderr: " << pub.stderr_text());
    CHECK(pub.stderr_text().find("limit (--max-size)") != std::string::npos);
    CHECK(pub.peak_rss_kib() < 128 * mib + headroom_kib);
  }
}

TEST_CASE("zmq-pub: SHALL stop within a second of SIGTERM while it reads past an over-long line") {
  process pub(tool({"zmq-pub", "@tcp://127.0.0.1:*", "-l", "--max-size", "1m"}));
  pub.write_stdin(std::string(3 << 20, 'x'));  // no newline: the line goes on, stdin stays open
  CHECK(wait_for_stderr(pub, "line 1:") ==
        "zmq-pub: line 1: longer than the 1048576-byte limit (--max-size) (skipped)");
  pub.kill(SIGTERM);
  CHECK(exit_code(pub, 1500ms) == 1);  // stopped; exit 1 for the refused line
}

TEST_CASE("zmq-pub/zmq-sub: SHALL refuse a message whose envelope is over --max-size before "
          "sending it, and deliver the ones around it") {
  process sub(tool({"zmq-sub", "@tcp://127.0.0.1:*", "-v", "-C", "2"}));
  const auto endpoint = ready_endpoint(sub);
  const auto r = run({"zmq-pub", ">" + endpoint, "--wait-subscribers", "1", "--max-size", "1k", "-m",
                      "small-1", "-m", std::string(2000, 'x'), "-m", "small-2"});
  CHECK(next_line(sub) == "small-1");
  CHECK(next_line(sub) == "small-2");
  CHECK(exit_code(sub) == 0);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("zmq-pub: message 2: envelope of ") == 0);
  CHECK(r.err.find(" bytes is over the 1024-byte message size limit (--max-size): not sent (skipped)\n"
                   "zmq-pub: 1 input(s) rejected, 2 sent\n") != std::string::npos);
}

TEST_CASE("zmq-pub: SHALL refuse a topic over 65535 bytes: -t as a usage error, a jsonl-envelope "
          "line's as that line's") {
  check_usage_error({"zmq-pub", "@tcp://127.0.0.1:*", "-t", std::string(70000, 't'), "-m", "x"});

  process sub(tool({"zmq-sub", "@tcp://127.0.0.1:*", "-v", "-C", "1", "--out-format", "jsonl"}));
  const auto endpoint = ready_endpoint(sub);
  const auto line = [](const std::string& topic) {
    return nlohmann::json{{"topic", topic}, {"payload", "p"}}.dump() + "\n";
  };
  const auto r = run({"zmq-pub", ">" + endpoint, "--wait-subscribers", "1", "--in-format",
                      "jsonl-envelope"},
                     line(std::string(70000, 't')) + line("fine"));
  CHECK(nlohmann::json::parse(next_line(sub))["topic"] == "fine");
  CHECK(exit_code(sub) == 0);
  CHECK(r.exit_code == 1);
  CHECK(r.err == "zmq-pub: line 1: topic of 70000 bytes is over the 65535-byte limit: not sent (skipped)\n"
                 "zmq-pub: 1 input(s) rejected, 1 sent\n");
}

TEST_CASE("zmq-push: SHALL refuse -s stdin and an -f file over --max-size without reading them "
          "whole, and send nothing") {
  const std::string absent = ">" + absent_endpoint("push-limit");
  SUBCASE("-s") {
    process push(tool({"zmq-push", absent, "-s", "--max-size", "64k"}));
    {
      stdin_feeder feed(push, std::string(16 << 20, 'x'));
      CHECK(exit_code(push) == 1);
    }
    CHECK(push.stderr_text() ==
          "zmq-push: stdin: more than 65536 bytes, over the limit (--max-size): not sent\n");
    CHECK(push.peak_rss_kib() < headroom_kib);
  }
  SUBCASE("-f") {
    temp_file big("push-limit-file", std::string(100000, 'x'));
    const auto r = run({"zmq-push", absent, "-f", big.path, "--max-size", "64k"});
    CHECK(r.exit_code == 1);
    CHECK(r.err == "zmq-push: " + big.path +
                       ": 100000 bytes, over the 65536-byte limit (--max-size): not sent\n");
  }
}

TEST_CASE("zmq-push/zmq-pull: SHALL refuse a line over --max-size and deliver the rest") {
  process pull(tool({"zmq-pull", "@tcp://127.0.0.1:*", "-v", "-C", "2"}));
  const auto endpoint = ready_endpoint(pull);
  const auto r = run({"zmq-push", ">" + endpoint, "--max-size", "4k"},
                     "a\n" + std::string(5000, 'x') + "\nb\n");
  CHECK(next_line(pull) == "a");
  CHECK(next_line(pull) == "b");
  CHECK(exit_code(pull) == 0);
  CHECK(r.exit_code == 1);
  CHECK(r.err == "zmq-push: line 2: longer than the 4096-byte limit (--max-size) (skipped)\n"
                 "zmq-push: 1 input(s) rejected, 2 sent\n");
}

TEST_CASE("zmq-req: SHALL refuse a request over --max-size without sending it") {
  process rep(tool({"zmq-rep", "@tcp://127.0.0.1:*", "-v", "-C", "1", "--echo"}));
  const auto endpoint = ready_endpoint(rep);
  const auto r = run({"zmq-req", ">" + endpoint, "--max-size", "1k", "-m", std::string(2000, 'x'),
                      "-m", "fits"});
  CHECK(r.lines == std::vector<std::string>{"fits"});
  CHECK(next_line(rep) == "fits");  // the only request the replier saw
  CHECK(exit_code(rep) == 0);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("zmq-req: message 1: envelope of ") == 0);
}

TEST_CASE("zmq-pub --reliable: SHALL refuse a message over --max-size by its input position, "
          "before it is numbered, and have the forwarder store the rest") {
  temp_dir dir;
  forwarder_proc fwd(dir.path(), {"--intake", "@tcp://127.0.0.1:*", "--replay", "@tcp://127.0.0.1:*"});
  const auto r = run({"zmq-pub", "--reliable", ">" + fwd.at["intake"], "--max-size", "1k", "-t", "t"},
                     "one\n" + std::string(1500, 'x') + "\ntwo\n" + std::string(1000, 'y') + "\n");
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("zmq-pub: line 2: longer than the 1024-byte limit (--max-size) (skipped)\n") == 0);
  // The 1000-byte line fits as a line, not as an envelope (its header and
  // id come on top): refused when it is encoded.
  CHECK(r.err.find("zmq-pub: line 4: envelope is over the 1024-byte message size limit "
                   "(--max-size): not sent (skipped)\n") != std::string::npos);
  CHECK(journal_records(dir.path()) == 2);
  const auto got = drain(fwd.at["replay"], "", 2, "first");
  REQUIRE(got.size() == 2);
  CHECK(got[0]["payload"] == "one");
  CHECK(got[1]["payload"] == "two");
  CHECK(got[1]["seq"] == 2);  // no gap where the refused ones were
}
