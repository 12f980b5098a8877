// zmq-pub and zmq-sub end to end: real processes, real sockets, stdin in and
// stdout out. The subscriber binds tcp://127.0.0.1:* with -v and the
// publisher connects to the port from its readiness line with
// --wait-subscribers, so nothing is lost to the slow joiner and no port is fixed.
#include <doctest/doctest.h>

#include <cstdio>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "tools/tool_runner.hpp"

using namespace zmqkit::test;
using nlohmann::json;

TEST_CASE("zmq-pub/zmq-sub: SHALL deliver 100000 stdin lines in order with zero gaps") {
  constexpr int count = 100000;
  std::vector<std::string> expected;
  std::string input;
  for (int i = 1; i <= count; ++i) {
    char line[32];
    std::snprintf(line, sizeof line, "line-%06d", i);
    expected.emplace_back(line);
    input += expected.back() + "\n";
  }

  process sub(
      tool({"zmq-sub", "@tcp://127.0.0.1:*", "-v", "-C", std::to_string(count), "--stats"}));
  const auto endpoint = ready_endpoint(sub);
  process pub(tool({"zmq-pub", ">" + endpoint, "-l", "--wait-subscribers", "1"}));
  stdin_feeder feed(pub, input);

  int received = 0, first_wrong = 0;
  std::string wrong_line;
  while (received < count) {
    const auto line = sub.read_line(line_deadline);
    if (!line) break;
    ++received;
    if (first_wrong == 0 && *line != expected[static_cast<std::size_t>(received - 1)]) {
      first_wrong = received;
      wrong_line = *line;
    }
  }
  CHECK(received == count);
  CHECK_MESSAGE(first_wrong == 0, "line " << first_wrong << " is '" << wrong_line << "'");
  CHECK(!sub.read_line(line_deadline));  // EOF: nothing after the count
  CHECK(exit_code(sub) == 0);
  CHECK(exit_code(pub) == 0);

  const auto stats = wait_for_stderr(sub, "stats:");
  INFO("stats line: " << stats);
  CHECK(stats.rfind("zmq-sub: stats: received 100000 ", 0) == 0);
  CHECK(stats.find(", gaps 0,") != std::string::npos);
  CHECK(stats.find(", duplicates 0,") != std::string::npos);
  CHECK(stats.find(", decode errors 0,") != std::string::npos);
}

TEST_CASE("zmq-pub/zmq-sub: SHALL deliver the tail of the stream when zmq-pub exits while "
          "zmq-sub's reader is stalled") {
  // The fault: whoever reads zmq-sub's stdout stops reading, so the stream
  // backs up into the kernel's socket buffers, and zmq-pub reaches the end
  // of its input and exits with the tail still in flight. Anything zmq-sub
  // sends zmq-pub after that close (a ZMTP heartbeat did) is answered with a
  // TCP reset that throws the in-flight tail away. The stall is held a little
  // past zmq-pub's exit, long enough for a 1 s heartbeat to have fired.
  constexpr int count = 20000;  // fits in loopback socket buffers
  std::string input;
  for (int i = 1; i <= count; ++i) input += "tail-" + std::to_string(i) + "\n";

  process sub(tool({"zmq-sub", "@tcp://127.0.0.1:*", "-v", "--hwm", "10", "-C",
                    std::to_string(count), "--stats", "--out-format", "raw"}));
  const auto endpoint = ready_endpoint(sub);
  process pub(tool({"zmq-pub", ">" + endpoint, "-l", "--hwm", "10", "--wait-subscribers", "1"}));
  {
    stdin_feeder feed(pub, input);
    CHECK(exit_code(pub) == 0);
  }
  std::this_thread::sleep_for(1500ms);  // allow-sleep: the injected stall, not a wait for an event

  int received = 0, in_order = 0;
  while (received < count) {
    const auto line = sub.read_line(line_deadline);
    if (!line) break;
    ++received;
    if (*line == "tail-" + std::to_string(received)) ++in_order;
  }
  CHECK(received == count);
  CHECK(in_order == received);
  CHECK(exit_code(sub) == 0);
}

TEST_CASE("zmq-pub/zmq-sub: SHALL relay a binary file byte-identical through jsonl and "
          "jsonl-envelope") {
  // Every byte value (so '\n' and invalid UTF-8 too), then noise: ~300 KB.
  std::string bytes;
  for (int round = 0; round < 1000; ++round)
    for (int b = 0; b < 256; ++b) bytes.push_back(static_cast<char>(b));
  std::mt19937 rng(20240601);
  for (int i = 0; i < 44000; ++i) bytes.push_back(static_cast<char>(rng() & 0xff));
  const temp_file file("tools-binary.dat", bytes);

  // First hop: the file out of zmq-pub -f, printed by zmq-sub as one jsonl line.
  process sub1(tool({"zmq-sub", "@tcp://127.0.0.1:*", "-v", "-C", "1", "--out-format", "jsonl"}));
  const auto endpoint1 = ready_endpoint(sub1);
  process pub1(tool({"zmq-pub", ">" + endpoint1, "--wait-subscribers", "1", "-t", "files",
                     "-H", "name=blob.bin", "-f", file.path}));
  const auto line = next_line(sub1);
  CHECK(exit_code(sub1) == 0);
  CHECK(exit_code(pub1) == 0);

  const auto envelope = json::parse(line);
  CHECK(envelope["topic"] == "files");
  CHECK(envelope["headers"] == json{{"name", "blob.bin"}});
  CHECK(envelope["payload"] == json{{"$base64", base64(bytes)}});  // not UTF-8: bin

  // Second hop: that line back into zmq-pub --in-format jsonl-envelope, to
  // one subscriber printing raw bytes and one printing topic and header.
  process raw_sub(tool({"zmq-sub", "@tcp://127.0.0.1:*", "-v", "-C", "1"}));
  const auto raw_endpoint = ready_endpoint(raw_sub);
  process meta_sub(tool({"zmq-sub", "@tcp://127.0.0.1:*", "-v", "-C", "1", "-F",
                         "{{topic}} {{header:name}} {{seq}}"}));
  const auto meta_endpoint = ready_endpoint(meta_sub);
  process pub2(tool({"zmq-pub", ">" + raw_endpoint, ">" + meta_endpoint, "--wait-subscribers", "2",
                     "--in-format", "jsonl-envelope"}));
  stdin_feeder feed(pub2, line + "\n");

  const auto raw = read_all(raw_sub);
  CHECK(raw.size() == bytes.size() + 1);
  CHECK(raw == bytes + "\n");  // raw output ends each payload with '\n'
  CHECK(next_line(meta_sub) == "files blob.bin 1");
  CHECK(exit_code(raw_sub) == 0);
  CHECK(exit_code(meta_sub) == 0);
  CHECK(exit_code(pub2) == 0);
}

TEST_CASE("zmq-pub: SHALL report a bad JSON line by number, count it, send the other lines "
          "and exit 1") {
  process sub(tool({"zmq-sub", "@tcp://127.0.0.1:*", "-v", "-C", "2", "--out-format", "jsonl"}));
  const auto endpoint = ready_endpoint(sub);
  process pub(tool({"zmq-pub", ">" + endpoint, "--wait-subscribers", "1", "--in-format", "json"}));
  stdin_feeder feed(pub, "{\"a\":1}\nnot json\n[1e999]\n{\"a\":3}\n");

  const auto first = json::parse(next_line(sub));
  const auto second = json::parse(next_line(sub));
  CHECK(first["payload"] == json{{"a", 1}});
  CHECK(second["payload"] == json{{"a", 3}});
  CHECK(first["seq"] == 1);
  CHECK(second["seq"] == 2);  // the bad line used no sequence number
  CHECK(exit_code(sub) == 0);
  CHECK(exit_code(pub) == 1);

  const auto err = stderr_lines(pub);
  INFO("zmq-pub stderr: " << pub.stderr_text());
  REQUIRE(err.size() == 3);
  CHECK(err[0].rfind("zmq-pub: line 2: ", 0) == 0);
  CHECK(err[0].find("JSON") != std::string::npos);
  CHECK(err[1] == "zmq-pub: line 3: invalid JSON: number overflow parsing '1e999' (skipped)");
  CHECK(err[2] == "zmq-pub: 2 input(s) rejected, 2 sent");
}

TEST_CASE("zmq-pub: SHALL stop at the first bad JSON line with --strict and exit 1") {
  process sub(tool({"zmq-sub", "@tcp://127.0.0.1:*", "-v", "-C", "2"}));
  const auto endpoint = ready_endpoint(sub);
  process pub(tool({"zmq-pub", ">" + endpoint, "--wait-subscribers", "1", "--in-format", "json",
                    "--strict"}));
  stdin_feeder feed(pub, "{\"a\":1}\nnot json\n[1e999]\n{\"a\":3}\n");
  CHECK(exit_code(pub) == 1);

  // Nothing more came: a marker sent once zmq-pub has exited comes right
  // after its one message. What zmq-pub sent was on the wire before it
  // exited, ahead of the marker's connection.
  process marker(tool({"zmq-pub", ">" + endpoint, "--wait-subscribers", "1", "-m", "end", "-n", "1"}));
  CHECK(exit_code(marker) == 0);
  CHECK(read_lines(sub) == std::vector<std::string>{"{\"a\":1}", "end"});
  CHECK(exit_code(sub) == 0);

  const auto err = stderr_lines(pub);
  INFO("zmq-pub stderr: " << pub.stderr_text());
  REQUIRE(err.size() == 1);
  CHECK(err[0].rfind("zmq-pub: line 2: ", 0) == 0);
  CHECK(err[0].find("--strict") != std::string::npos);
}

TEST_CASE("zmq-pub: SHALL put the -t topic and -H headers in every envelope zmq-sub prints as "
          "jsonl") {
  process sub(tool({"zmq-sub", "@tcp://127.0.0.1:*", "-v", "-C", "3", "--out-format", "jsonl"}));
  const auto endpoint = ready_endpoint(sub);
  process pub(tool({"zmq-pub", ">" + endpoint, "--wait-subscribers", "1", "-t", "greetings", "-H",
                    "lang=en", "-H", "from=a=b", "-m", "hello {{seq}}", "-n", "3"}));

  std::string producer;
  for (int n = 1; n <= 3; ++n) {
    const auto line = next_line(sub);
    INFO("line: " << line);
    const auto m = json::parse(line);
    CHECK(m["topic"] == "greetings");
    CHECK(m["seq"] == n);
    CHECK(m["headers"] == json{{"lang", "en"}, {"from", "a=b"}});
    CHECK(m["payload"] == "hello " + std::to_string(n));  // UTF-8 text travels as str
    CHECK(plausible_time(m["time_ns"].get<std::int64_t>()));
    const auto id = m["producer"].get<std::string>();
    CHECK(std::regex_match(id, std::regex("[0-9a-f]{32}")));
    if (producer.empty()) producer = id;
    CHECK(id == producer);
  }
  CHECK(exit_code(sub) == 0);
  CHECK(exit_code(pub) == 0);
}

TEST_CASE("zmq-pub: SHALL expand {{seq}} {{time}} {{time_ns}} {{uuid}} {{random A B}} in -m") {
  process sub(tool({"zmq-sub", "@tcp://127.0.0.1:*", "-v", "-C", "2"}));
  const auto endpoint = ready_endpoint(sub);
  process pub(tool({"zmq-pub", ">" + endpoint, "--wait-subscribers", "1", "-n", "2", "-m",
                    "{{seq}}|{{time}}|{{time_ns}}|{{uuid}}|{{random 5 7}}|{{unknown}}"}));

  std::set<std::string> uuids;
  for (int n = 1; n <= 2; ++n) {
    const auto line = next_line(sub);
    INFO("line: " << line);
    std::smatch part;
    REQUIRE(std::regex_match(
        line, part,
        std::regex(R"((\d+)\|(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)\|(\d+)\|)"
                   R"(([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})\|)"
                   R"((\d+)\|\{\{unknown\}\})")));
    CHECK(part[1] == std::to_string(n));
    CHECK(plausible_time(std::stoll(part[3])));
    uuids.insert(part[4]);
    const auto random = std::stoi(part[5]);
    CHECK(random >= 5);
    CHECK(random <= 7);
  }
  CHECK(uuids.size() == 2);
  CHECK(exit_code(sub) == 0);
  CHECK(exit_code(pub) == 0);
}

TEST_CASE("zmq-pub: SHALL skip blank stdin lines and send a last line that has no newline") {
  process sub(tool({"zmq-sub", "@tcp://127.0.0.1:*", "-v", "-C", "3", "-F", "{{seq}} {{raw}}"}));
  const auto endpoint = ready_endpoint(sub);
  process pub(tool({"zmq-pub", ">" + endpoint, "--wait-subscribers", "1"}));  // -l is the default
  stdin_feeder feed(pub, "one\n\ntwo\n\n\nthree");

  CHECK(read_lines(sub) == std::vector<std::string>{"1 one", "2 two", "3 three"});
  CHECK(exit_code(sub) == 0);
  CHECK(exit_code(pub) == 0);
}

TEST_CASE("zmq-pub: SHALL not send a line, a msgpack value or -s input that a signal cut short, "
          "say so, and exit 0") {
  process sub(tool({"zmq-sub", "@tcp://127.0.0.1:*", "-v", "-C", "3"}));
  const auto endpoint = ready_endpoint(sub);
  const auto stop = [&](process& pub, const std::string& said) {
    pub.kill(SIGTERM);
    CHECK(exit_code(pub) == 0);
    CHECK(pub.stderr_text() == said);
  };
  {
    process pub(tool({"zmq-pub", ">" + endpoint, "--wait-subscribers", "1", "-l"}));
    pub.write_stdin("whole\npart");  // stdin stays open: the line goes on
    CHECK(next_line(sub) == "whole");
    stop(pub, "zmq-pub: line 2: stopped by a signal after 4 bytes, before its end: not sent\n");
  }
  {
    process pub(tool({"zmq-pub", ">" + endpoint, "--wait-subscribers", "1", "--in-format", "msgpack"}));
    pub.write_stdin(std::string("\x01\xc4\x10" "abc", 6));  // 1, then 3 of bin 8's 16 bytes
    CHECK(next_line(sub) == "1");
    stop(pub, "zmq-pub: stdin byte 1 (value 2): stopped by a signal after 5 bytes, before its end: not sent\n");
  }
  {
    process pub(tool({"zmq-pub", ">" + endpoint, "-s"}));
    wait_for_handler(pub, SIGTERM);
    pub.write_stdin("all of it?");
    pub.kill(SIGTERM);
    CHECK(exit_code(pub) == 0);
    const auto said = pub.stderr_text();  // whether the bytes were read before the signal or not
    CHECK(said.rfind("zmq-pub: stdin: stopped by a signal after ", 0) == 0);
    CHECK(said.find(" bytes, before its end: not sent\n") != std::string::npos);
  }
  // Nothing of them came: the next message is the marker.
  CHECK(run({"zmq-pub", ">" + endpoint, "--wait-subscribers", "1", "-m", "marker"}).exit_code == 0);
  CHECK(next_line(sub) == "marker");
  CHECK(exit_code(sub) == 0);
}

TEST_CASE("zmq-sub: SHALL print each message with an -F template") {
  process sub(tool({"zmq-sub", "@tcp://127.0.0.1:*", "-v", "-C", "2", "-F",
                    "{{topic}} {{seq}} {{payload}}"}));
  const auto endpoint = ready_endpoint(sub);
  process pub(tool({"zmq-pub", ">" + endpoint, "--wait-subscribers", "1", "-t", "news",
                    "--in-format", "json", "-m", "{\"x\": [{{seq}}, \"a b\"]}", "-n", "2"}));

  CHECK(next_line(sub) == "news 1 {\"x\":[1,\"a b\"]}");
  CHECK(next_line(sub) == "news 2 {\"x\":[2,\"a b\"]}");
  CHECK(exit_code(sub) == 0);
  CHECK(exit_code(pub) == 0);
}

TEST_CASE("zmq-sub: SHALL print only topics that start with one of its -t prefixes") {
  process sub(tool({"zmq-sub", "@tcp://127.0.0.1:*", "-v", "-t", "weather.", "-t", "sports", "-C",
                    "3", "-F", "{{topic}} {{payload}}"}));
  const auto endpoint = ready_endpoint(sub);
  // Two prefixes: two subscriptions from the one subscriber.
  process pub(tool({"zmq-pub", ">" + endpoint, "--wait-subscribers", "2", "--in-format",
                    "jsonl-envelope"}));
  stdin_feeder feed(pub,
                    "{\"topic\":\"news.x\",\"payload\":1}\n"
                    "{\"topic\":\"weather.paris\",\"payload\":2}\n"
                    "{\"topic\":\"weatherman\",\"payload\":3}\n"
                    "{\"topic\":\"sports\",\"payload\":4}\n"
                    "{\"topic\":\"news.y\",\"payload\":5}\n"
                    "{\"topic\":\"weather.oslo\",\"payload\":6}\n");

  CHECK(read_lines(sub) ==
        std::vector<std::string>{"weather.paris 2", "sports 4", "weather.oslo 6"});
  CHECK(exit_code(sub) == 0);
  CHECK(exit_code(pub) == 0);
}

TEST_CASE("zmq-sub/zmq-pub: SHALL relay payloads through --out-format msgpack piped into "
          "--in-format msgpack") {
  process last(tool({"zmq-sub", "@tcp://127.0.0.1:*", "-v", "-C", "3", "--out-format", "jsonl"}));
  const auto last_endpoint = ready_endpoint(last);
  process first(tool({"zmq-pub", "@tcp://127.0.0.1:*", "-v", "--wait-subscribers", "1", "-t",
                      "origin", "-H", "k=v", "--in-format", "json", "-m", "{\"n\": 1}", "-m",
                      "{\"$base64\": \"AP8K\"}", "-m", "\"text\""}));
  const auto first_endpoint = ready_endpoint(first);

  // The relay is a shell pipe, as people use it: zmq-sub ... | zmq-pub ...
  process relay({"/bin/sh", "-c",
                 "\"$0\" \">$2\" -C 3 --out-format msgpack | "
                 "\"$1\" \">$3\" --in-format msgpack -t relayed --wait-subscribers 1",
                 tool_path("zmq-sub"), tool_path("zmq-pub"), first_endpoint, last_endpoint});

  std::vector<json> payloads;
  for (int n = 1; n <= 3; ++n) {
    const auto m = json::parse(next_line(last));
    CHECK(m["topic"] == "relayed");  // payload only: topic and headers are the relay's own
    CHECK(m["headers"] == json::object());
    CHECK(m["seq"] == n);
    payloads.push_back(m["payload"]);
  }
  CHECK(payloads ==
        std::vector<json>{json{{"n", 1}}, json{{"$base64", "AP8K"}}, json("text")});
  CHECK(exit_code(last) == 0);
  CHECK(exit_code(relay) == 0);
  CHECK(exit_code(first) == 0);
}

TEST_CASE("zmq-sub: SHALL exit 3 when no message arrives within -W") {
  const auto r = run({"zmq-sub", "@tcp://127.0.0.1:*", "-W", "0.2"});
  CHECK(r.exit_code == 3);
  CHECK(r.lines.empty());
  CHECK(r.err == "zmq-sub: no message for 0.2 s (-W), 0 received\n");
}

TEST_CASE("zmq-sub: SHALL exit 3 when -W passes before the -C count is reached") {
  process sub(tool({"zmq-sub", "@tcp://127.0.0.1:*", "-v", "-C", "5", "-W", "0.3"}));
  const auto endpoint = ready_endpoint(sub);
  process pub(tool({"zmq-pub", ">" + endpoint, "--wait-subscribers", "1", "-m", "a", "-m", "b"}));
  CHECK(read_lines(sub) == std::vector<std::string>{"a", "b"});
  CHECK(exit_code(sub) == 3);
  CHECK(wait_for_stderr(sub, "(-W)") == "zmq-sub: no message for 0.3 s (-W), 2 received");
  CHECK(exit_code(pub) == 0);
}

TEST_CASE("zmq-sub: SHALL count the malformed messages it dropped when -W passes") {
  // A plain PUB that sends what is not a zmqkit envelope: "0 received"
  // alone would hide that something did arrive.
  process sub(tool({"zmq-sub", "@tcp://127.0.0.1:*", "-v", "-W", "2"}));
  const auto endpoint = ready_endpoint(sub);
  zmq::context_t ctx;
  zmq::socket_t pub(ctx, zmq::socket_type::xpub);
  pub.set(zmq::sockopt::linger, 1000);
  pub.connect(endpoint);
  zmq::message_t subscription;
  REQUIRE(pub.recv(subscription));  // the subscriber's subscription: it is listening
  for (int i = 0; i < 9; ++i) REQUIRE(pub.send(zmq::str_buffer("weather temp=1"), zmq::send_flags::none));
  CHECK(exit_code(sub) == 3);
  CHECK(wait_for_stderr(sub, "(-W)") ==
        "zmq-sub: no message for 2 s (-W), 0 received, 9 malformed dropped (-v shows why)");
}

TEST_CASE("zmq-sub: SHALL exit 0 once -C messages have arrived") {
  process sub(tool({"zmq-sub", "@tcp://127.0.0.1:*", "-v", "-C", "2"}));
  const auto endpoint = ready_endpoint(sub);
  process pub(tool({"zmq-pub", ">" + endpoint, "--wait-subscribers", "1", "-m", "m{{seq}}", "-n",
                    "5"}));
  CHECK(read_lines(sub) == std::vector<std::string>{"m1", "m2"});
  CHECK(exit_code(sub) == 0);
  CHECK(exit_code(pub) == 0);
}

TEST_CASE("zmq-pub: SHALL exit 4 when --wait-subscribers is not reached within --wait-timeout") {
  const auto r = run({"zmq-pub", "@tcp://127.0.0.1:*", "--wait-subscribers", "1", "--wait-timeout",
                      "0.2", "-m", "x"});
  CHECK(r.exit_code == 4);
  CHECK(r.err == "zmq-pub: 0 of 1 subscriptions arrived within 0.2 s (--wait-timeout)\n");
}

TEST_CASE("zmq-pub: SHALL exit 2 with one stderr line on a bad endpoint or argument") {
  const std::vector<std::vector<std::string>> commands{
      {"zmq-pub", "foo://x", "-m", "x"},
      {"zmq-pub", "tcp://", "-m", "x"},
      {"zmq-pub", "@tcp://999.1.1.1:1", "-m", "x"},
      {"zmq-pub", "@tcp://127.0.0.1:nope", "-m", "x"},
      {"zmq-pub", "--no-such-flag"},
      {"zmq-pub", "--in-format", "xml", "-m", "x"},
      {"zmq-pub", "-H", "no-equals-sign", "-m", "x"},
      {"zmq-pub", "-m", "x", "-s"},
  };
  for (const auto& argv : commands) check_usage_error(argv);
}

TEST_CASE("zmq-sub: SHALL exit 2 with one stderr line on a bad endpoint or argument") {
  // -W 2: a tool that wrongly accepted the endpoint still ends, with 3.
  const std::vector<std::vector<std::string>> commands{
      {"zmq-sub", "foo://x", "-W", "2"},
      {"zmq-sub", "tcp://", "-W", "2"},
      {"zmq-sub", "@tcp://999.1.1.1:1", "-W", "2"},
      {"zmq-sub", ">tcp://127.0.0.1", "-W", "2"},
      {"zmq-sub", "--no-such-flag"},
      {"zmq-sub", "--out-format", "xml", "-W", "2"},
      {"zmq-sub", "-F", "{{no_such_field}}", "-W", "2"},
  };
  for (const auto& argv : commands) check_usage_error(argv);
}

TEST_CASE("zmq-sub: SHALL exit 2 when asked to bind a TCP port above 65535") {
  // libzmq binds a random port for ":99999" instead of failing, so a
  // publisher told to use port 99999 is silently somewhere else.
  check_usage_error({"zmq-sub", "@tcp://127.0.0.1:99999", "-W", "0.5"});
}
