// How the tools read and write their options' values (tools/common/
// option_values): the functions themselves, then through the tools as real
// processes, which must say in one line what was wrong.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "common/option_values.hpp"
#include "tools/tool_runner.hpp"

using namespace zmqkit::test;
using zmqkit::tools::bytes_in;
using zmqkit::tools::bytes_text;
using zmqkit::tools::number_in;
using zmqkit::tools::parse_replay_start;
using zmqkit::tools::seconds_text;
using zmqkit::tools::usage_error;
using zmqkit::tools::whole_number_in;

namespace {

// What a validator says of text ("" when it takes it), and text as it
// leaves it (a transform rewrites it).
std::string verdict(const CLI::Validator& v, std::string& text) { return v(text); }

}  // namespace

TEST_CASE("cli: SHALL read --replay as first, new, resume, a position, a time or an age") {
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1795428000));
  CHECK(parse_replay_start("first", now).to_wire() == "first");
  CHECK(parse_replay_start("new", now).to_wire() == "new");
  CHECK(parse_replay_start("resume", now).to_wire() == "resume");
  CHECK(parse_replay_start("1234", now).to_wire() == "fseq:1234");
  CHECK(parse_replay_start("2026-11-23T10:00:00Z", now).to_wire() == "time:1795428000000000000");
  CHECK(parse_replay_start("2026-11-23T11:30:00.25+01:30", now).to_wire() ==
        "time:1795428000250000000");
  CHECK(parse_replay_start("2026-11-23T10:00Z", now).to_wire() == "time:1795428000000000000");
  CHECK(parse_replay_start("-30s", now).to_wire() == "time:1795427970000000000");
  CHECK(parse_replay_start("-5m", now).to_wire() == "time:1795427700000000000");
  CHECK(parse_replay_start("-2h", now).to_wire() == "time:1795420800000000000");
  CHECK(parse_replay_start("-1.5h", now).to_wire() == "time:1795422600000000000");
  CHECK_THROWS_AS(parse_replay_start("-5", now), zmqkit::tools::usage_error);
  CHECK_THROWS_AS(parse_replay_start("", now), zmqkit::tools::usage_error);
}

TEST_CASE("cli: SHALL read a --replay time with Z or any offset form, and refuse what is not a time") {
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1795428000));
  for (const std::string same : {"2026-11-23t10:00:00z", "2026-11-23T11:00:00+01:00", "2026-11-23T11:00:00+0100",
                                 "2026-11-23T11:00:00+01", "2026-11-23T09:00-01:00"})
    CHECK(parse_replay_start(same, now).to_wire() == "time:1795428000000000000");
  CHECK(parse_replay_start("2026-11-23T10:00:00,5Z", now).to_wire() == "time:1795428000500000000");
  CHECK(parse_replay_start("-1d", now).to_wire() == "time:1795341600000000000");
  CHECK(parse_replay_start("18446744073709551615", now).to_wire() == "fseq:18446744073709551615");
  for (const std::string bad :
       {"2026-02-30T10:00:00Z", "2026-13-01T00:00:00Z", "2026-11-23T24:00:00Z", "2026-11-23T10:60:00Z",
        "2026-11-23T10:00:00", "2026-11-23T10:00:00+24:00", "2026-11-23T10:00:00.Z", "2026-11-23 10:00:00Z",
        "2026-11-23T10:00:00Zjunk", "18446744073709551616", "-5x", "5m", "-m", "-.5h", "-1.h", "-1.5.2h",
        "-1e3s", "-2000000000s", "FIRST"}) {
    const auto why = "--replay '" + bad +
                     "': use first, new, resume, a journal position (FSEQ), an ISO 8601 time "
                     "(2026-11-23T10:00:00Z) or an age (-30s, -5m, -2h)";
    CHECK_THROWS_WITH_AS(parse_replay_start(bad, now), why.c_str(), usage_error);
  }
  CHECK_THROWS_WITH_AS(parse_replay_start("1969-12-31T23:59:59Z", now),
                       "--replay '1969-12-31T23:59:59Z': a time before 1970", usage_error);
  const auto early = std::chrono::system_clock::time_point(std::chrono::seconds(10));
  CHECK_THROWS_AS(parse_replay_start("-1m", early), usage_error);
}

TEST_CASE("number_in: SHALL take a finite number from min to max, and name the range and unit otherwise") {
  const auto v = number_in(0.001, 1e6, "seconds");
  CHECK(v.get_description() == "from 0.001 to 1000000");
  for (std::string ok : {"0.001", "1", "2.5", "1e6", "1000000"}) {
    CAPTURE(ok);
    CHECK(verdict(v, ok).empty());
  }
  for (const std::string bad : {"nan", "inf", "-inf", "-1", "0", "0.0005", "1000001", "1e300", "1e999", "ten", "",
                                "1s", "1 "}) {
    std::string text = bad;
    CHECK(verdict(v, text) == bad + " is not a number of seconds from 0.001 to 1000000");
  }
  std::string rate = "0";
  CHECK(verdict(number_in(0.001, 1e9, "messages a second"), rate) ==
        "0 is not a number of messages a second from 0.001 to 1000000000");
}

TEST_CASE("whole_number_in: SHALL take digits only, from min to max") {
  const auto v = whole_number_in(1, 100);
  CHECK(v.get_description() == "from 1 to 100");
  for (std::string ok : {"1", "7", "100", "007"}) {
    CAPTURE(ok);
    CHECK(verdict(v, ok).empty());
  }
  for (const std::string bad : {"0", "101", "-1", "+1", " 1", "1 ", "1.5", "1e2", "", "x",
                                "99999999999999999999", "18446744073709551617"}) {
    std::string text = bad;
    CHECK(verdict(v, text) == bad + " is not a whole number from 1 to 100");
  }
}

TEST_CASE("bytes_in: SHALL rewrite a size with k, m or g to bytes, and refuse one out of range") {
  const auto v = bytes_in(64, std::uint64_t{1} << 30);
  CHECK(v.get_description() == "SIZE from 64 to 1g");
  const std::vector<std::pair<std::string, std::string>> sizes = {
      {"64", "64"},      {"64b", "64"},           {"1k", "1024"},          {"1KiB", "1024"},
      {"1kb", "1024"},   {"16m", "16777216"},     {"16MiB", "16777216"},   {"1g", "1073741824"},
      {"1GB", "1073741824"}, {"1048576k", "1073741824"}};
  for (const auto& [given, bytes] : sizes) {
    std::string text = given;
    CHECK(verdict(v, text).empty());
    CHECK(text == bytes);
  }
  for (const std::string bad : {"-1", "0", "63", "2g", "1073741825", "16x", "m", "1.5m", "", " 1k", "1 k",
                                "1kk", "99999999999999999999", "17179869184g"}) {
    std::string text = bad;
    CHECK(verdict(v, text) == bad + " is not a size from 64 to 1g (bytes, or with k, m, g)");
    CHECK(text == bad);  // left as it was
  }
}

TEST_CASE("bytes_text and seconds_text: SHALL write a value as the options read it") {
  CHECK(bytes_text(0) == "0");
  CHECK(bytes_text(1023) == "1023");
  CHECK(bytes_text(1024) == "1k");
  CHECK(bytes_text(1536) == "1536");
  CHECK(bytes_text(std::uint64_t{16} << 20) == "16m");
  CHECK(bytes_text(std::uint64_t{3} << 30) == "3g");
  CHECK(bytes_text((std::uint64_t{1} << 30) + 1024) == "1048577k");
  CHECK(seconds_text(0.3) == "0.3");
  CHECK(seconds_text(10) == "10");
  CHECK(seconds_text(1e6) == "1000000");
  CHECK(seconds_text(0.001) == "0.001");
  CHECK(seconds_text(2.5) == "2.5");
  CHECK(seconds_text(1e300) == "1e+300");
}

TEST_CASE("tools: SHALL refuse a negative or out-of-range count, in one line that names the range") {
  // CLI11 alone read "-1" into an unsigned option as 2^64-1, and its
  // NonNegativeNumber printed a 309-digit upper bound.
  const std::vector<std::vector<std::string>> commands{
      {"zmq-pub", "--wait-subscribers", "-1", "-m", "x"},
      {"zmq-pub", "-n", "-1", "-m", "x"},
      {"zmq-pub", "--hwm", "-1", "-m", "x"},
      {"zmq-pub", "--linger", "99999999999", "-m", "x"},
      {"zmq-sub", "-C", "-1"},
      {"zmq-req", "--retries", "-1", "-m", "x"},
      {"zmq-pull", "-C", "1.5"},
  };
  for (const auto& argv : commands) {
    check_usage_error(argv);
    const auto r = run(argv);
    CHECK(r.err.find(" is not a whole number from 0 to ") != std::string::npos);
    CHECK(r.err.size() < 160);
  }
  CHECK(run({"zmq-pub", "-n", "-1", "-m", "x"}).err ==
        "zmq-pub: --count: -1 is not a whole number from 0 to 4611686018427387904 (see zmq-pub "
        "--help)\n");
}

TEST_CASE("tools: SHALL read --max-size in bytes or with k, m, g, and refuse other sizes") {
  for (const std::string bad : {"-1", "0", "63", "2g", "16x", "m", "1.5m", ""})
    check_usage_error({"zmq-pub", "@tcp://127.0.0.1:*", "--max-size", bad, "-m", "x"});
  CHECK(run({"zmq-pub", "--max-size", "2g", "-m", "x"}).err ==
        "zmq-pub: --max-size: 2g is not a size from 64 to 1g (bytes, or with k, m, g) (see zmq-pub "
        "--help)\n");
  // 1k, 1KiB and 1024 are one size: a 1100-byte message is refused by each.
  for (const std::string size : {"1k", "1KiB", "1024"}) {
    const auto r = run({"zmq-pub", "@tcp://127.0.0.1:*", "--max-size", size, "-m", std::string(1100, 'x')});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("1024-byte message size limit") != std::string::npos);
  }
}

// CLI11's own checks let nan through, and 1e300 seconds overflows a
// duration (it used to time out at once, or never).
TEST_CASE("tools: SHALL refuse a time or rate that is nan, infinite, negative or too large, "
          "exit 2 in one line") {
  const std::vector<std::vector<std::string>> options = {
      {"zmq-pub", "--ack-timeout"}, {"zmq-pub", "--wait-timeout"}, {"zmq-pub", "--rate"},
      {"zmq-pub", "--interval"},    {"zmq-sub", "-W"},             {"zmq-pull", "-W"},
      {"zmq-req", "--timeout"},     {"zmq-push", "--timeout"},     {"zmq-rep", "--exec-timeout"},
      {"zmq-forwarder", "--ack-wait"}, {"zmq-forwarder", "--member-timeout"},
      {"zmq-forwarder", "--link-resend"}, {"zmq-forwarder", "--link-heartbeat"},
      {"zmq-forwarder", "--commit-interval"}, {"zmq-forwarder", "--max-age"},
      {"zmq-bench", "--rate"}};
  for (const auto& o : options)
    for (const std::string value : {"nan", "inf", "-1", "1e300", "ten"}) {
      std::vector<std::string> argv = {o[0], o[1], value};
      if (o[0] == "zmq-forwarder") argv.insert(argv.end(), {"-d", "j"});
      check_usage_error(argv);
    }
  const auto r = run({"zmq-forwarder", "--ack-wait", "1e300", "-d", "j"});
  CHECK(r.err == "zmq-forwarder: --ack-wait: 1e300 is not a number of seconds from 0.001 to 1000000 "
                 "(see zmq-forwarder --help)\n");
}
