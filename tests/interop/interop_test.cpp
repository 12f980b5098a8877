// Interop: zmqkit's patterns on one end, pyzmq and Python's msgpack on the
// other (tests/interop/peer.py, run by the Debian /usr/bin/python3), in both
// directions. The Python side builds and checks envelopes from the spec
// alone, so these tests catch a codec that only agrees with itself.
//
// A Python peer that binds prints its endpoint as its first line; one that
// sends waits for "done" on stdin before it exits. Every wait has a deadline.
//
// The forwarder's intake and replay protocols are checked the same way: a
// zmqkit::forwarder in this process, a Python DEALER speaking to it as
// docs/protocol.md says, each reply checked on the Python side.
#include <doctest/doctest.h>

#include <zmqkit/forwarder.hpp>
#include <zmqkit/reliable_publisher.hpp>
#include <zmqkit/zmqkit.hpp>

#include "support/process.hpp"
#include "support/python_peer.hpp"
#include "support/temp_dir.hpp"
#include "support/transports.hpp"

#include <sys/wait.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <msgpack.hpp>

namespace {

using namespace std::chrono_literals;
using zmqkit::test::process;
using zmqkit::test::system_python;
using zmqkit::test::transport;

// How long any single wait may take before the test fails.
constexpr auto deadline = 5s;
constexpr auto exit_deadline = 10s;

const std::string peer_script = ZMQKIT_TEST_SOURCE_DIR "/interop/peer.py";

// What the zmqkit side publishes and pushes as the nth data message; the
// Python side expects {"i": n, "name": ..., "tags": [n, -n], "ratio": n / 4}.
struct event {
  int i = 0;
  std::string name;
  std::vector<int> tags;
  double ratio = 0;
  MSGPACK_DEFINE_MAP(i, name, tags, ratio)
};

event event_payload(int n) { return {n, "order_placed", {n, -n}, n / 4.0}; }
zmqkit::headers event_headers(int n) { return {{"source", "zmqkit"}, {"n", std::to_string(n)}}; }

std::vector<std::string> peer_argv(std::vector<std::string> args) {
  return zmqkit::test::python_argv(peer_script, std::move(args));
}

bool skipped() { return zmqkit::test::python_skipped(peer_script); }

std::string read_line(process& peer, const char* what) {
  const auto line = peer.read_line(deadline);
  // std::string: doctest prints a bare const char* as a pointer.
  REQUIRE_MESSAGE(line, "peer.py printed no " << std::string(what) << " within 5 s; its stderr:\n"
                                              << peer.stderr_text());
  return *line;
}

// Reads the peer's next line and checks it; kept out of CHECK() so a
// missing line stops the test with the peer's stderr rather than an exception.
void expect_line(process& peer, const char* what, const std::string& wanted) {
  const auto line = read_line(peer, what);
  CHECK(line == wanted);
}

void require_clean_exit(process& peer) {
  const auto status = peer.wait(exit_deadline);
  REQUIRE_MESSAGE(status, "peer.py did not exit within 10 s; its stderr:\n" << peer.stderr_text());
  CHECK_MESSAGE((WIFEXITED(*status) && WEXITSTATUS(*status) == 0),
                "peer.py failed (status " << *status << "): " << peer.stderr_text());
}

bool plausible_time(std::int64_t time_ns) {
  const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return std::llabs(now - time_ns) < 60'000'000'000LL;
}

// The line a Python receiver ends with, naming the producer it saw.
std::string received_line(int count, const zmqkit::producer_id& producer) {
  return "received " + std::to_string(count) + " from " + zmqkit::to_hex(producer);
}

std::string all_bytes() {
  std::string bytes;
  for (int b = 0; b < 256; ++b) bytes.push_back(static_cast<char>(b));
  return bytes;
}

// A forwarder with an intake and a replay socket on kernel-chosen ports.
zmqkit::forwarder::options forwarder_in(const zmqkit::test::temp_dir& d) {
  zmqkit::forwarder::options o;
  o.journal_dir = d / "journal";
  o.intake = {zmqkit::endpoint::bind("tcp://127.0.0.1:*")};
  o.replay = {zmqkit::endpoint::bind("tcp://127.0.0.1:*")};
  return o;
}

}  // namespace

TEST_CASE("interop: pyzmq SUB SHALL decode every envelope a zmqkit publisher sends") {
  if (skipped()) return;
  for (const auto t : {transport::tcp, transport::ipc}) {
    SUBCASE(zmqkit::test::name(t)) {
      constexpr int count = 1000;
      zmq::context_t ctx;
      zmqkit::publisher::options opts;
      opts.endpoints = {zmqkit::endpoint::bind(zmqkit::test::bind_address(t))};
      opts.socket.send_hwm = 0;  // the peer counts every message: no drops at the HWM
      zmqkit::publisher pub(ctx, opts);

      process peer(peer_argv({"sub", pub.endpoints().at(0), std::to_string(count)}));
      REQUIRE_MESSAGE(pub.wait_for_subscribers(1, deadline),
                      "pyzmq SUB did not subscribe within 5 s: " << peer.stderr_text());

      // count matching messages (seq 1..count), count the peer filters out,
      // then an end marker whose seq proves the filtered ones were sent.
      for (int n = 1; n <= count; ++n)
        pub.publish("match.event", event_payload(n), event_headers(n));
      for (int n = 1; n <= count; ++n) pub.publish("other.event", event_payload(n));
      pub.publish("match.end", msgpack::type::nil_t{});

      expect_line(peer, "count", received_line(count, pub.producer()));
      require_clean_exit(peer);
      CHECK(pub.stats().sent == 2 * count + 1);
    }
  }
}

TEST_CASE("interop: zmqkit subscriber SHALL decode pyzmq envelopes and count and skip "
          "malformed ones") {
  if (skipped()) return;
  for (const auto t : {transport::tcp, transport::ipc}) {
    SUBCASE(zmqkit::test::name(t)) {
      constexpr int count = 100;
      process peer(peer_argv({"xpub", zmqkit::test::bind_address(t), std::to_string(count)}));
      const auto endpoint = read_line(peer, "endpoint");
      const auto producer = read_line(peer, "producer id");

      zmq::context_t ctx;
      std::vector<std::string> error_fields;
      zmqkit::subscriber::options opts;
      opts.endpoints = {zmqkit::endpoint::connect(endpoint)};
      opts.topics = {"inv."};
      opts.on_error = [&](const zmqkit::decode_error& e) { error_fields.push_back(e.field()); };
      zmqkit::subscriber sub(ctx, opts);

      std::uint64_t seq = 0;
      const auto next = [&](const char* what) {
        auto m = sub.receive(deadline);
        REQUIRE_MESSAGE(m, "no " << std::string(what) << " within 5 s; peer.py stderr: " << peer.stderr_text());
        REQUIRE(m->topic() == "inv.stock");
        REQUIRE(zmqkit::to_hex(m->producer()) == producer);
        REQUIRE(m->seq() == ++seq);
        REQUIRE(plausible_time(m->time_ns()));
        REQUIRE(m->header_count() == 2);
        REQUIRE(m->find_header("k") == "v");
        REQUIRE(m->find_header("i") == std::to_string(seq));
        return std::move(*m);
      };
      using int_map = std::map<std::string, int>;

      for (int n = 1; n <= count; ++n) {
        const auto m = next("map message");
        REQUIRE(m.payload_as<int_map>() == int_map{{"a", n}, {"b", -n}});
      }
      CHECK(next("bin message").payload_bytes() == all_bytes());
      {
        const auto rich = next("rich message").payload_object();
        const auto fields = rich.get().as<std::map<std::string, msgpack::object>>();
        CHECK(fields.size() == 12);
        CHECK(fields.at("f64").as<double>() == 1.5);
        CHECK(fields.at("nil").is_nil());
        CHECK(fields.at("t").as<bool>());
        CHECK_FALSE(fields.at("f").as<bool>());
        CHECK(fields.at("neg").as<std::int64_t>() == -(std::int64_t{1} << 40));
        CHECK(fields.at("u64").as<std::uint64_t>() == UINT64_MAX);
        CHECK(fields.at("str8").as<std::string>() == std::string(40, 'x'));
        CHECK(fields.at("bin16").type == msgpack::type::BIN);
        CHECK(fields.at("bin16").via.bin.size == 300);
        CHECK(fields.at("arr16").as<std::vector<int>>().size() == 20);
        CHECK(fields.at("map16").as<std::map<std::string, int>>().at("19") == 19);
        const auto ext = fields.at("ext").as<msgpack::type::ext>();
        CHECK(ext.type() == 5);
        CHECK(std::string(ext.data(), ext.size()) == "abc");
        CHECK(fields.at("ts").type == msgpack::type::EXT);
        CHECK(fields.at("ts").via.ext.type() == -1);  // msgpack's timestamp extension
      }

      // Ten malformed messages came next; the subscriber dropped each and went on.
      CHECK(next("7-element envelope").payload_as<int_map>() == int_map{{"a", -1}, {"b", 1}});
      CHECK(next("last message").payload_as<int_map>() == int_map{{"a", 0}, {"b", 0}});

      CHECK(sub.stats().received == count + 4);
      CHECK(sub.stats().decode_errors == 10);
      CHECK(error_fields == std::vector<std::string>{
                                "frames", "envelope", "envelope.version", "envelope", "frames",
                                "envelope.producer_id", "envelope.seq", "envelope.headers",
                                "payload", "payload"});
      CHECK(sub.stats().gaps == 0);
      CHECK(sub.stats().duplicates == 0);

      peer.write_stdin("done\n");
      require_clean_exit(peer);
    }
  }
}

TEST_CASE("interop: pyzmq PULL SHALL decode every envelope a zmqkit pusher sends") {
  if (skipped()) return;
  constexpr int count = 1000;
  process peer(peer_argv({"pull", "tcp://127.0.0.1:*", std::to_string(count)}));
  const auto endpoint = read_line(peer, "endpoint");

  zmq::context_t ctx;
  zmqkit::pusher::options opts;
  opts.endpoints = {zmqkit::endpoint::connect(endpoint)};
  opts.send_timeout = deadline;
  zmqkit::pusher push(ctx, opts);
  for (int n = 1; n <= count; ++n)
    REQUIRE_MESSAGE(push.push("work.item", event_payload(n), event_headers(n)),
                    "push " << n << " timed out; peer.py stderr: " << peer.stderr_text());

  expect_line(peer, "count", received_line(count, push.producer()));
  require_clean_exit(peer);
  CHECK(push.stats().sent == count);
  CHECK(push.stats().timeouts == 0);
}

TEST_CASE("interop: zmqkit puller SHALL decode every envelope a pyzmq PUSH sends") {
  if (skipped()) return;
  constexpr int count = 1000;
  zmq::context_t ctx;
  zmqkit::puller::options opts;
  opts.endpoints = {zmqkit::endpoint::bind("tcp://127.0.0.1:*")};
  zmqkit::puller pull(ctx, opts);

  process peer(peer_argv({"push", pull.endpoints().at(0), std::to_string(count)}));
  const auto producer = read_line(peer, "producer id");

  for (int n = 1; n <= count; ++n) {
    auto m = pull.receive(deadline);
    REQUIRE_MESSAGE(m, "message " << n << " did not arrive within 5 s; peer.py stderr: "
                                  << peer.stderr_text());
    REQUIRE(m->topic() == "work.item");
    REQUIRE(zmqkit::to_hex(m->producer()) == producer);
    REQUIRE(m->seq() == static_cast<std::uint64_t>(n));
    REQUIRE(m->find_header("from") == "pyzmq");
    REQUIRE(m->payload_as<std::map<std::string, int>>() ==
            std::map<std::string, int>{{"a", n}, {"b", 2 * n}});
  }
  CHECK(pull.stats().received == count);
  CHECK(pull.stats().gaps == 0);
  CHECK(pull.stats().duplicates == 0);
  CHECK(pull.stats().decode_errors == 0);

  peer.write_stdin("done\n");
  require_clean_exit(peer);
}

TEST_CASE("interop: zmqkit replier SHALL answer pyzmq REQ with results, handler errors and "
          "decode errors") {
  if (skipped()) return;
  zmq::context_t ctx;
  zmqkit::replier::options opts;
  opts.endpoints = {zmqkit::endpoint::bind("tcp://127.0.0.1:*")};
  zmqkit::replier rep(ctx, opts);

  process peer(peer_argv({"req", rep.endpoints().at(0)}));
  const auto doubler = [](const zmqkit::message& m) { return m.payload_as<int>() * 2; };
  const auto thrower = [](const zmqkit::message&) -> int {
    throw std::runtime_error("odd request");
  };

  CHECK(rep.serve_one(doubler, deadline));
  expect_line(peer, "first answer", "reply 42");
  CHECK(rep.serve_one(thrower, deadline));
  expect_line(peer, "second answer", "error odd request");
  // A version 2 request is answered inside this call, then -8 is doubled.
  CHECK(rep.serve_one(doubler, deadline));
  expect_line(peer, "third answer",
              "error bad request: envelope.version: unsupported version 2 (this build reads 1)");
  expect_line(peer, "fourth answer", "reply -16");
  require_clean_exit(peer);

  CHECK(rep.stats().received == 3);
  CHECK(rep.stats().sent == 4);
  CHECK(rep.stats().handler_errors == 1);
  CHECK(rep.stats().decode_errors == 1);
  CHECK(rep.stats().gaps == 0);
  CHECK(rep.stats().duplicates == 0);
}

TEST_CASE("interop: zmqkit requester SHALL get pyzmq REP's echo of each payload") {
  if (skipped()) return;
  constexpr int count = 3;
  process peer(peer_argv({"rep", "tcp://127.0.0.1:*", std::to_string(count)}));
  const auto endpoint = read_line(peer, "endpoint");

  zmq::context_t ctx;
  zmqkit::requester::options opts;
  opts.endpoints = {zmqkit::endpoint::connect(endpoint)};
  opts.timeout = deadline;
  opts.retries = 0;  // a lost reply fails the test instead of hiding behind a retry
  zmqkit::requester req(ctx, opts);

  const auto ask = [&](const char* topic, const auto& payload) {
    auto reply = req.request(topic, payload, {{"trace", topic}});
    REQUIRE_MESSAGE(reply, "no reply to " << topic << " within 5 s; peer.py stderr: "
                                          << peer.stderr_text());
    CHECK(reply->topic() == topic);
    CHECK(reply->seq() == req.stats().sent);  // the peer numbers its replies 1, 2, 3
    CHECK(plausible_time(reply->time_ns()));
    CHECK(reply->find_header("trace") == topic);
    CHECK(reply->find_header("echo") == "peer.py");
    CHECK_FALSE(reply->find_header("error"));
    return std::move(*reply);
  };

  using int_map = std::map<std::string, int>;
  const int_map order{{"qty", 3}, {"sku", 42}, {"price", -7}};
  CHECK(ask("price.lookup", order).payload_as<int_map>() == order);
  const auto bytes = all_bytes();
  CHECK(ask("blob.put", zmqkit::binary{bytes}).payload_bytes() == bytes);
  CHECK(ask("greet", std::string("héllo")).payload_as<std::string>() == "héllo");

  expect_line(peer, "count", received_line(count, req.producer()));
  peer.write_stdin("done\n");
  require_clean_exit(peer);
  CHECK(req.stats().sent == count);
  CHECK(req.stats().received == count);
  CHECK(req.stats().retries == 0);
}

TEST_CASE("interop: forwarder SHALL answer each PUB of a pyzmq publisher with an ACK of its highest "
          "gap-free seq, so a PUB ahead of a gap shows as refused, and NACK what it cannot take") {
  if (skipped()) return;
  zmqkit::test::temp_dir d;
  zmq::context_t ctx;
  zmqkit::forwarder fwd(ctx, forwarder_in(d));

  // PUB 1, 3 (ahead: ACK 1), 2, 3, 2 (duplicate: ACK 3), then three
  // malformed; then keys with the oldest unacknowledged seq: 5 (refused, the
  // sender unknown), 1, 2, 4 (ahead), 9 (from 9) and one malformed.
  process peer(peer_argv({"intake", fwd.endpoints().intake.at(0)}));
  (void)read_line(peer, "producer id");
  expect_line(peer, "verdict", "intake replies as specified");
  require_clean_exit(peer);

  const auto m = fwd.metrics();
  REQUIRE(m);
  CHECK(m->counts.stored == 6);
  CHECK(m->counts.refused == 3);
  CHECK(m->counts.duplicates == 1);
  CHECK(m->counts.too_big == 1);
  CHECK(m->counts.bad_frames == 3);
}

TEST_CASE("interop: forwarder SHALL restart a pyzmq member's delivery at its subscription's "
          "position on a second SUB, with no credit, ignoring that SUB's start and prefixes") {
  if (skipped()) return;
  zmqkit::test::temp_dir d;
  zmq::context_t ctx;
  zmqkit::forwarder fwd(ctx, forwarder_in(d));
  {
    zmqkit::reliable_publisher pub(ctx, {{zmqkit::endpoint::connect(fwd.endpoints().intake.at(0))}});
    for (int n = 1; n <= 5; ++n) REQUIRE(pub.publish("orders", n));  // payload n at fseq n
    REQUIRE(pub.flush(deadline));
  }

  process peer(peer_argv({"replay", fwd.endpoints().replay.at(0)}));
  expect_line(peer, "verdict", "replay as specified");
  require_clean_exit(peer);

  const auto m = fwd.metrics();
  REQUIRE(m);
  REQUIRE(m->subscriptions.size() == 1);
  CHECK(m->subscriptions[0].name == "audit");
  CHECK(m->subscriptions[0].position == 3);  // 1 and 2 acknowledged
  CHECK(m->subscriptions[0].acked == 2);
  CHECK(m->counts.bad_frames == 1);  // the 3-frame SUB
}
