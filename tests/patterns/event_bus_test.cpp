// zmqkit::event_bus on each of its sources, over real sockets: typed
// handlers per topic, duplicates skipped, retries with backoff, dead
// letters with the error in their headers, a throwing handler that never
// stops the loop, and on a durable subscription (an in-process forwarder on
// a real journal) acknowledgements, redeliveries and a dedup window kept
// across restarts.
#include <zmqkit/event_bus.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <zmqkit/forwarder.hpp>
#include <zmqkit/publisher.hpp>
#include <zmqkit/pusher.hpp>
#include <zmqkit/reliable_publisher.hpp>

#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using zmqkit::endpoint;
using zmqkit::event_bus;

namespace {

struct user_registered {
  std::string user;
  std::string email;
  MSGPACK_DEFINE_MAP(user, email)
};
struct order_placed {
  std::string order;
  int total = 0;
  MSGPACK_DEFINE_MAP(order, total)
};

// Polls until done() or the deadline; false on the deadline.
template <class Done>
bool poll_until(event_bus& bus, Done done, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    (void)bus.poll(20ms);
  }
  return true;
}

std::string header(const zmqkit::message& m, std::string_view key) {
  return std::string(m.find_header(key).value_or("<none>"));
}

// A puller bound on inproc and a pusher connected to it.
struct pipeline {
  zmq::context_t ctx;
  std::string address = "inproc://bus-" + std::to_string(reinterpret_cast<std::uintptr_t>(this));
};

}  // namespace

TEST_CASE("event_bus: SHALL call the handler of each topic with its typed payload, and count the rest") {
  pipeline p;
  event_bus bus(p.ctx, zmqkit::puller::options{{endpoint::bind(p.address)}});
  std::vector<std::string> users, orders;
  int totals = 0;
  bus.on<user_registered>("user_registered", [&](const user_registered& u) { users.push_back(u.user); })
      .on<order_placed>("order_placed", [&](const order_placed& o, const zmqkit::message& m) {
        orders.push_back(o.order);
        totals += o.total;
        CHECK(m.topic() == "order_placed");
      });
  zmqkit::pusher push(p.ctx, {{endpoint::connect(p.address)}});
  REQUIRE(push.push("user_registered", user_registered{"ada", "ada@example.org"}));
  REQUIRE(push.push("order_placed", order_placed{"o-1", 30}));
  REQUIRE(push.push("cart_updated", std::string("nobody listens")));
  REQUIRE(push.push("order_placed", order_placed{"o-2", 12}));
  REQUIRE(poll_until(bus, [&] { return bus.stats().received == 4; }));
  CHECK(users == std::vector<std::string>{"ada"});
  CHECK(orders == std::vector<std::string>{"o-1", "o-2"});
  CHECK(totals == 42);
  CHECK(bus.stats().handled == 3);
  CHECK(bus.stats().unhandled == 1);
  const auto& t = bus.metrics().topics();
  CHECK(t.at("order_placed").events == 2);
  CHECK(t.at("order_placed").consumed == 2);
  CHECK(t.at("order_placed").handler.count() == 2);
  CHECK(t.at("order_placed").transit.count() == 2);
  CHECK(t.at("cart_updated").consumed == 0);
}

TEST_CASE("event_bus: SHALL handle an event delivered twice once") {
  pipeline p;
  event_bus bus(p.ctx, zmqkit::puller::options{{endpoint::bind(p.address)}});
  int calls = 0;
  bus.on<int>("tick", [&](int) { ++calls; });
  zmq::socket_t push(p.ctx, zmq::socket_type::push);
  push.connect(p.address);
  zmqkit::envelope_writer w;
  for (int i = 1; i <= 3; ++i) {
    auto body = w.encode(i);
    zmq::message_t again(body.data(), body.size());  // the same producer and seq
    REQUIRE(zmqkit::send_message(push, "tick", body));
    REQUIRE(zmqkit::send_message(push, "tick", again));
    w.commit();
  }
  REQUIRE(poll_until(bus, [&] { return bus.stats().received == 6; }));
  CHECK(calls == 3);
  CHECK(bus.stats().duplicates == 3);
  CHECK(bus.metrics().topics().at("tick").duplicates == 3);
}

TEST_CASE("event_bus: SHALL retry a throwing handler with backoff while other events go on") {
  pipeline p;
  event_bus::options o;
  o.backoff = 30ms;
  o.max_backoff = 60ms;
  event_bus bus(p.ctx, zmqkit::puller::options{{endpoint::bind(p.address)}}, o);
  std::vector<std::string> log;
  std::vector<std::chrono::steady_clock::time_point> flaky_calls;
  bus.on<std::string>("flaky", [&](const std::string& s) {
    flaky_calls.push_back(std::chrono::steady_clock::now());
    if (flaky_calls.size() < 3) throw std::runtime_error("database busy");
    log.push_back(s);
  });
  bus.on<std::string>("steady", [&](const std::string& s) { log.push_back(s); });
  zmqkit::pusher push(p.ctx, {{endpoint::connect(p.address)}});
  REQUIRE(push.push("flaky", std::string("f")));
  REQUIRE(push.push("steady", std::string("s")));
  REQUIRE(poll_until(bus, [&] { return bus.stats().handled == 2; }));
  CHECK(log == std::vector<std::string>{"s", "f"});  // the retry did not hold "s" back
  REQUIRE(flaky_calls.size() == 3);
  CHECK(flaky_calls[1] - flaky_calls[0] >= 30ms);
  CHECK(flaky_calls[2] - flaky_calls[1] >= 60ms);
  CHECK(bus.stats().failures == 2);
  CHECK(bus.stats().retries == 2);
  CHECK(bus.stats().dead_lettered == 0);
  CHECK(bus.retrying() == 0);
  CHECK(bus.metrics().topics().at("flaky").failures == 2);
}

TEST_CASE("event_bus: SHALL send an event to the dead-letter topic with the error after the last attempt") {
  pipeline p;
  zmqkit::publisher dlq_pub(p.ctx, {{endpoint::bind("inproc://dead-letters")}});
  zmqkit::subscriber dlq(p.ctx, {{endpoint::connect("inproc://dead-letters")}, {"dead_letter"}});
  REQUIRE(dlq_pub.wait_for_subscribers(1, 5s));
  event_bus::options o;
  o.max_attempts = 3;
  o.backoff = 5ms;
  o.dead_letters = event_bus::to(dlq_pub);
  std::vector<std::string> lines;
  o.on_log = [&](const std::string& l) { lines.push_back(l); };
  event_bus bus(p.ctx, zmqkit::puller::options{{endpoint::bind(p.address)}}, o);
  int poison_calls = 0;
  bus.on<order_placed>("order_placed", [&](const order_placed& o) {
    ++poison_calls;
    if (o.total < 0) throw std::invalid_argument("negative total");
  });
  bus.on<int>("odd", [](int) { throw 42; });  // not even an exception class
  int after = 0;
  bus.on<int>("after", [&](int) { ++after; });
  zmqkit::pusher push(p.ctx, {{endpoint::connect(p.address)}});
  REQUIRE(push.push("order_placed", order_placed{"o-9", -5}, {{"trace", "t-1"}}));
  REQUIRE(push.push("order_placed", std::string("not an order")));  // does not convert: no retry
  REQUIRE(push.push("odd", 1));
  REQUIRE(push.push("after", 1));
  REQUIRE(poll_until(bus, [&] { return bus.stats().dead_lettered == 3 && after == 1; }));
  CHECK(poison_calls == 3);  // the bad payload never reached the handler
  CHECK(bus.stats().failures == 3 + 1 + 3);

  std::map<std::string, zmqkit::message> dead;  // by the original seq
  while (dead.size() < 3) {
    auto m = dlq.receive(5s);
    REQUIRE(m);
    CHECK(m->topic() == "dead_letter");
    dead.emplace(header(*m, "zmqkit.seq"), std::move(*m));
  }
  const auto& poison = dead.at("1");
  CHECK(poison.payload_as<order_placed>().order == "o-9");
  CHECK(header(poison, "trace") == "t-1");
  CHECK(header(poison, "zmqkit.error") == "negative total");
  CHECK(header(poison, "zmqkit.attempts") == "3");
  CHECK(header(poison, "zmqkit.topic") == "order_placed");
  CHECK(header(poison, "zmqkit.producer") == zmqkit::to_hex(push.producer()));
  CHECK(header(dead.at("2"), "zmqkit.attempts") == "1");
  CHECK(header(dead.at("2"), "zmqkit.error").find("payload") != std::string::npos);
  CHECK(header(dead.at("3"), "zmqkit.error") == "unknown exception");
  CHECK(header(dead.at("3"), "zmqkit.topic") == "odd");
  CHECK(lines.size() == 3);
  CHECK(lines[0].find("sent to dead_letter") != std::string::npos);
}

TEST_CASE("event_bus: SHALL return from run() when a handler calls stop()") {
  pipeline p;
  zmqkit::publisher pub(p.ctx, {{endpoint::bind(p.address)}});
  event_bus bus(p.ctx, zmqkit::subscriber::options{{endpoint::connect(p.address)}});
  int seen = 0;
  bus.on<int>("n", [&](int v) {
    ++seen;
    if (v == 3) bus.stop();
  });
  REQUIRE(pub.wait_for_subscribers(1, 5s));
  for (int i = 1; i <= 5; ++i) REQUIRE(pub.publish("n", i));
  bus.run();
  CHECK(seen == 3);
}

TEST_CASE("event_bus: SHALL refuse options that cannot work") {
  zmq::context_t ctx;
  event_bus::options o;
  o.max_attempts = 0;
  CHECK_THROWS_AS(event_bus(ctx, zmqkit::puller::options{{endpoint::bind("inproc://a")}}, o),
                  std::invalid_argument);
  o = {};
  o.backoff = 0ms;
  CHECK_THROWS_AS(event_bus(ctx, zmqkit::puller::options{{endpoint::bind("inproc://b")}}, o),
                  std::invalid_argument);
  zmqkit::durable_subscriber::options named;
  named.endpoints = {endpoint::connect("tcp://127.0.0.1:1")};
  named.name = "billing";
  CHECK_THROWS_WITH_AS(event_bus(ctx, named, {}), doctest::Contains("dedup_file"), std::invalid_argument);
}

namespace {

struct durable_setup {
  zmqkit::test::temp_dir dir{"zmqkit-bus"};
  zmq::context_t ctx;
  std::optional<zmqkit::forwarder> fwd;

  explicit durable_setup(std::chrono::milliseconds ack_wait = 30s) {
    zmqkit::forwarder::options o;
    o.journal_dir = dir / "journal";
    o.intake = {endpoint::bind("tcp://127.0.0.1:*")};
    o.replay = {endpoint::bind("tcp://127.0.0.1:*")};
    o.ack_wait = ack_wait;
    fwd.emplace(ctx, o);
  }
  void publish(int n, std::string_view topic = "order_placed") {
    zmqkit::reliable_publisher pub(ctx, {{endpoint::connect(fwd->endpoints().intake.at(0))}});
    for (int i = 1; i <= n; ++i) REQUIRE(pub.publish(topic, order_placed{"o-" + std::to_string(i), i}));
    REQUIRE(pub.flush(10s));
  }
  zmqkit::durable_subscriber::options source(std::string name,
                                             zmqkit::replay_start start = zmqkit::replay_start::first()) {
    zmqkit::durable_subscriber::options s;
    s.endpoints = {endpoint::connect(fwd->endpoints().replay.at(0))};
    s.name = std::move(name);
    s.start = start;
    return s;
  }
};

}  // namespace

TEST_CASE("event_bus: SHALL acknowledge on a durable subscription and keep its dedup window across restarts") {
  durable_setup s;
  s.publish(10);
  event_bus::options o;
  o.dedup_file = s.dir / "billing.dedup";
  std::vector<int> totals;
  {
    event_bus bus(s.ctx, s.source("billing"), o);
    bus.on<order_placed>("order_placed", [&](const order_placed& x) { totals.push_back(x.total); });
    REQUIRE(poll_until(bus, [&] { return bus.stats().handled == 10; }));
    CHECK(bus.durable_stats()->acked == 10);
    CHECK(bus.backlog() == 0);
    const auto& t = bus.metrics().topics().at("order_placed");
    CHECK(t.queued.count() == 10);  // the forwarder's stored time splits the latency
    CHECK(t.transit.count() == 10);
  }
  CHECK(totals.size() == 10);
  // The same events again, read from the start under another name: a
  // restarted consumer that finds them redelivered. Its window knows them.
  event_bus again(s.ctx, s.source("billing-replay"), o);
  int calls = 0;
  again.on<order_placed>("order_placed", [&](const order_placed&) { ++calls; });
  REQUIRE(poll_until(again, [&] { return again.stats().duplicates == 10; }));
  CHECK(calls == 0);
  CHECK(again.durable_stats()->acked == 10);
  s.publish(1, "order_placed");  // a new event is handled
  REQUIRE(poll_until(again, [&] { return calls == 1; }));
}

TEST_CASE("event_bus: SHALL settle a copy redelivered while its event waits for a retry, once") {
  durable_setup s(200ms);  // redelivered when not acknowledged within 200 ms
  s.publish(1);
  event_bus::options o;
  o.dedup_file = s.dir / "slow.dedup";
  o.backoff = 1500ms;  // the retry waits longer than the forwarder's ack wait
  event_bus bus(s.ctx, s.source("slow"), o);
  int calls = 0;
  bus.on<order_placed>("order_placed", [&](const order_placed&) {
    if (++calls == 1) throw std::runtime_error("not yet");
  });
  REQUIRE(poll_until(bus, [&] { return bus.stats().handled == 1; }));
  CHECK(calls == 2);
  CHECK(bus.stats().duplicates >= 1);  // the forwarder's redelivery, not handled again
  CHECK(bus.durable_stats()->acked >= 2);
}

TEST_CASE("event_bus: SHALL give a dead letter back to the forwarder while the sink cannot take it") {
  durable_setup s;
  s.publish(1);
  event_bus::options o;
  o.dedup_file = s.dir / "dlq.dedup";
  o.max_attempts = 1;
  int offered = 0;
  o.dead_letters = [&](std::string_view, const zmqkit::message&, const zmqkit::headers&) {
    return ++offered >= 2;  // down the first time
  };
  event_bus bus(s.ctx, s.source("dlq"), o);
  bus.on<order_placed>("order_placed", [](const order_placed&) { throw std::runtime_error("always"); });
  REQUIRE(poll_until(bus, [&] { return bus.stats().dead_lettered == 1; }));
  CHECK(offered == 2);
  CHECK(bus.stats().sink_failures == 1);
  CHECK(bus.stats().received == 2);  // NACKed, sent again, dead-lettered
  CHECK(bus.durable_stats()->nacked == 1);
  CHECK(bus.durable_stats()->acked == 1);
}
