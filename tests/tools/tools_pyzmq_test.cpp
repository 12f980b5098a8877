// The tools against a peer nobody here wrote: pyzmq and Python's msgpack
// (tests/tools/tool_peer.py, run by the Debian /usr/bin/python3), in both
// directions for each pair. The Python side builds and checks envelopes from
// the spec alone and prints what it received as JSON lines.
//
// The Python peer binds tcp://127.0.0.1:* and prints its endpoint first; a
// Python sender then prints its producer id; one that binds and sends waits
// for "done" on stdin before it exits.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/python_peer.hpp"
#include "tools/tool_runner.hpp"

using namespace zmqkit::test;
using nlohmann::json;

namespace {

const std::string peer_script = ZMQKIT_TEST_SOURCE_DIR "/tools/tool_peer.py";

std::vector<std::string> peer_argv(std::vector<std::string> args) {
  return zmqkit::test::python_argv(peer_script, std::move(args));
}

bool skipped() { return zmqkit::test::python_skipped(peer_script); }

// The peer's next stdout line; fails with its stderr if none comes in time.
std::string peer_line(process& peer) {
  const auto line = peer.read_line(line_deadline);
  REQUIRE_MESSAGE(line, "tool_peer.py printed nothing within 5 s; its stderr:\n"
                            << peer.stderr_text());
  return *line;
}

void require_clean_exit(process& peer) {
  const auto status = peer.wait(exit_deadline);
  REQUIRE_MESSAGE(status, "tool_peer.py did not exit within 10 s; its stderr:\n"
                              << peer.stderr_text());
  CHECK_MESSAGE((WIFEXITED(*status) && WEXITSTATUS(*status) == 0),
                "tool_peer.py failed (status " << *status << "): " << peer.stderr_text());
}

std::string all_bytes() {
  std::string bytes;
  for (int b = 0; b < 256; ++b) bytes.push_back(static_cast<char>(b));
  return bytes;
}

// tool_peer.py's SAMPLES as the tools print them: (topic, headers, payload).
struct sample {
  std::string topic;
  json headers, payload;
};
const std::vector<sample>& samples() {
  static const std::vector<sample> all{
      {"inv.text", {{"k", "v"}}, "hello"},
      {"inv.bin", json::object(), {{"$base64", base64(all_bytes())}}},
      {"other.skipped", json::object(), "zmq-sub -t inv. never sees this"},
      {"inv.map", {{"n", "3"}}, {{"a", 1}, {"b", {true, nullptr, 1.5, -7}}, {"s", "x"}}},
  };
  return all;
}

// Checks a jsonl line a tool printed for the sample sent with seq.
void check_sample(const std::string& line, int seq, const std::string& producer) {
  INFO("line: " << line);
  const auto m = json::parse(line);
  const auto& s = samples().at(static_cast<std::size_t>(seq - 1));
  CHECK(m["topic"] == s.topic);
  CHECK(m["seq"] == seq);
  CHECK(m["producer"] == producer);
  CHECK(plausible_time(m["time_ns"].get<std::int64_t>()));
  CHECK(m["headers"] == s.headers);
  CHECK(m["payload"] == s.payload);
}

}  // namespace

TEST_CASE("zmq-pub: SHALL send envelopes a pyzmq SUB decodes by the spec") {
  if (skipped()) return;
  process peer(peer_argv({"sub", "tcp://127.0.0.1:*", "4"}));
  const auto endpoint = peer_line(peer);
  process pub(tool({"zmq-pub", ">" + endpoint, "--wait-subscribers", "1", "-t", "orders", "-H",
                    "source=zmq-pub", "--in-format", "json", "-m",
                    "{\"id\": {{seq}}, \"ok\": true}", "-m", "{\"$base64\": \"AAEC/w==\"}", "-n",
                    "4"}));

  std::string producer;
  for (int n = 1; n <= 4; ++n) {
    const auto line = peer_line(peer);
    INFO("line: " << line);
    const auto m = json::parse(line);
    CHECK(m["topic"] == "orders");
    CHECK(m["seq"] == n);
    CHECK(m["headers"] == json{{"source", "zmq-pub"}});
    if (n % 2 == 1) CHECK(m["payload"] == json{{"id", n}, {"ok", true}});
    else CHECK(m["payload"] == json{{"$base64", "AAEC/w=="}});  // msgpack bin, not str
    if (producer.empty()) producer = m["producer"].get<std::string>();
    CHECK(m["producer"] == producer);
  }
  require_clean_exit(peer);
  CHECK(exit_code(pub) == 0);
}

TEST_CASE("zmq-push: SHALL send envelopes a pyzmq PULL decodes by the spec") {
  if (skipped()) return;
  process peer(peer_argv({"pull", "tcp://127.0.0.1:*", "3"}));
  const auto endpoint = peer_line(peer);
  process push(tool({"zmq-push", ">" + endpoint, "--in-format", "jsonl-envelope"}));
  stdin_feeder feed(push,
                    "{\"topic\":\"jobs.a\",\"headers\":{\"try\":\"1\"},\"payload\":\"text\"}\n"
                    "{\"topic\":\"jobs.b\",\"payload\":{\"$base64\":\"AP8=\"}}\n"
                    "{\"payload\":[1,-2,3.25,null,{\"x\":\"y\"}]}\n");

  const std::vector<json> expected{
      {{"topic", "jobs.a"}, {"seq", 1}, {"headers", {{"try", "1"}}}, {"payload", "text"}},
      {{"topic", "jobs.b"}, {"seq", 2}, {"headers", json::object()},
       {"payload", {{"$base64", "AP8="}}}},
      {{"topic", ""}, {"seq", 3}, {"headers", json::object()},
       {"payload", {1, -2, 3.25, nullptr, {{"x", "y"}}}}},
  };
  std::string producer;
  for (const auto& want : expected) {
    const auto line = peer_line(peer);
    INFO("line: " << line);
    auto m = json::parse(line);
    if (producer.empty()) producer = m["producer"].get<std::string>();
    CHECK(m["producer"] == producer);
    m.erase("producer");
    CHECK(m == want);
  }
  require_clean_exit(peer);
  CHECK(exit_code(push) == 0);
}

TEST_CASE("zmq-sub: SHALL print as jsonl what a pyzmq XPUB sends, filtered by -t") {
  if (skipped()) return;
  process peer(peer_argv({"xpub", "tcp://127.0.0.1:*"}));
  const auto endpoint = peer_line(peer);
  const auto producer = peer_line(peer);
  process sub(tool({"zmq-sub", ">" + endpoint, "-t", "inv.", "-C", "3", "--out-format", "jsonl"}));

  check_sample(next_line(sub), 1, producer);
  check_sample(next_line(sub), 2, producer);
  check_sample(next_line(sub), 4, producer);  // "other.skipped" was filtered out
  CHECK(exit_code(sub) == 0);
  peer.write_stdin("done\n");
  require_clean_exit(peer);
}

TEST_CASE("zmq-pull: SHALL print as jsonl what a pyzmq PUSH sends") {
  if (skipped()) return;
  process peer(peer_argv({"push", "tcp://127.0.0.1:*"}));
  const auto endpoint = peer_line(peer);
  const auto producer = peer_line(peer);
  process pull(tool({"zmq-pull", ">" + endpoint, "-C", "4", "--out-format", "jsonl"}));

  for (int seq = 1; seq <= 4; ++seq) check_sample(next_line(pull), seq, producer);
  CHECK(exit_code(pull) == 0);
  peer.write_stdin("done\n");
  require_clean_exit(peer);
}

TEST_CASE("zmq-req: SHALL send requests a pyzmq REP decodes, and print its replies") {
  if (skipped()) return;
  process peer(peer_argv({"rep", "tcp://127.0.0.1:*", "2"}));
  const auto endpoint = peer_line(peer);
  const auto req = run({"zmq-req", ">" + endpoint, "-t", "ask", "-H", "id=1", "-m", "hello", "-m",
                        "world", "--out-format", "jsonl"});
  CHECK(req.exit_code == 0);
  INFO("zmq-req stderr: " << req.err);
  REQUIRE(req.lines.size() == 2);

  std::string producer;
  for (int n = 1; n <= 2; ++n) {
    const auto word = n == 1 ? std::string("hello") : std::string("world");
    const auto request = json::parse(peer_line(peer));
    CHECK(request["topic"] == "ask");
    CHECK(request["seq"] == n);
    CHECK(request["headers"] == json{{"id", "1"}});
    CHECK(request["payload"] == word);
    if (producer.empty()) producer = request["producer"].get<std::string>();
    CHECK(request["producer"] == producer);

    const auto reply = json::parse(req.lines[static_cast<std::size_t>(n - 1)]);
    CHECK(reply["topic"] == "ask");
    CHECK(reply["seq"] == n);
    CHECK(reply["headers"] == json{{"id", "1"}, {"replier", "pyzmq"}});
    std::string upper = word;
    for (auto& c : upper) c = static_cast<char>(c - 'a' + 'A');
    CHECK(reply["payload"] == upper);
  }
  peer.write_stdin("done\n");
  require_clean_exit(peer);
}

TEST_CASE("zmq-rep: SHALL echo what a pyzmq REQ sends, in envelopes it decodes") {
  if (skipped()) return;
  process rep(tool({"zmq-rep", "@tcp://127.0.0.1:*", "-v", "-C", "4", "--out-format", "jsonl"}));
  const auto endpoint = ready_endpoint(rep);
  process peer(peer_argv({"req", endpoint}));
  const auto producer = peer_line(peer);

  std::string replier;
  for (int seq = 1; seq <= 4; ++seq) {
    const auto line = peer_line(peer);
    INFO("reply: " << line);
    const auto reply = json::parse(line);
    const auto& s = samples().at(static_cast<std::size_t>(seq - 1));
    CHECK(reply["topic"] == s.topic);
    CHECK(reply["seq"] == seq);
    CHECK(reply["headers"] == s.headers);
    CHECK(reply["payload"] == s.payload);
    if (replier.empty()) replier = reply["producer"].get<std::string>();
    CHECK(reply["producer"] == replier);
    CHECK(replier != producer);

    check_sample(next_line(rep), seq, producer);  // zmq-rep printed the request
  }
  require_clean_exit(peer);
  CHECK(exit_code(rep) == 0);
}
