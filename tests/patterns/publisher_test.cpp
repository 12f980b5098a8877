#include <zmqkit/publisher.hpp>
#include <zmqkit/subscriber.hpp>

#include <doctest/doctest.h>

#include <map>
#include <string>

#include "support/transports.hpp"

using namespace std::chrono_literals;
using zmqkit::endpoint;
using zmqkit::test::all_transports;
using zmqkit::test::bind_address;

TEST_CASE("publisher: SHALL deliver every message in order to a subscriber over inproc, ipc and tcp") {
  zmq::context_t ctx;
  for (auto t : all_transports()) {
    SUBCASE(zmqkit::test::name(t)) {
      zmqkit::publisher pub(ctx, {{endpoint::bind(bind_address(t))}});
      zmqkit::subscriber sub(ctx, {{endpoint::connect(pub.endpoints().at(0))}});
      REQUIRE(pub.wait_for_subscribers(1, 5s));

      for (int i = 0; i < 100; ++i)
        pub.publish("order_placed", std::map<std::string, int>{{"order", i}}, {{"source", "test"}});

      for (int i = 0; i < 100; ++i) {
        auto m = sub.receive(5s);
        REQUIRE(m);
        CHECK(m->topic() == "order_placed");
        CHECK(m->seq() == static_cast<std::uint64_t>(i + 1));
        CHECK(m->producer() == pub.producer());
        CHECK(m->find_header("source") == std::optional<std::string_view>("test"));
        CHECK(m->payload_as<std::map<std::string, int>>().at("order") == i);
      }
      CHECK(pub.stats().sent == 100);
      CHECK(sub.stats().received == 100);
      CHECK(sub.stats().gaps == 0);
      CHECK(sub.stats().duplicates == 0);
    }
  }
}

TEST_CASE("publisher: SHALL wait for subscribers from their subscription events") {
  zmq::context_t ctx;
  zmqkit::publisher pub(ctx, {{endpoint::bind("tcp://127.0.0.1:*")}});
  CHECK_FALSE(pub.wait_for_subscribers(1, 20ms));  // nobody there: the deadline passes

  zmqkit::subscriber a(ctx, {{endpoint::connect(pub.endpoints().at(0))}});
  zmqkit::subscriber b(ctx, {{endpoint::connect(pub.endpoints().at(0))}});
  REQUIRE(pub.wait_for_subscribers(2, 5s));
  CHECK(pub.subscriptions() == 2);

  pub.publish("user_registered", std::string("ada"));
  for (auto* s : {&a, &b}) {
    auto m = s->receive(5s);
    REQUIRE(m);
    CHECK(m->payload_as<std::string>() == "ada");
  }
}

TEST_CASE("publisher: SHALL never block when no subscriber is connected") {
  zmq::context_t ctx;
  zmqkit::publisher pub(ctx, {{endpoint::bind("tcp://127.0.0.1:*")}});
  for (int i = 0; i < 10000; ++i) pub.publish("cart_updated", i);
  CHECK(pub.stats().sent == 10000);
}

TEST_CASE("publisher: SHALL publish raw bytes and pre-encoded msgpack unchanged") {
  zmq::context_t ctx;
  zmqkit::publisher pub(ctx, {{endpoint::bind(bind_address(zmqkit::test::transport::inproc))}});
  zmqkit::subscriber sub(ctx, {{endpoint::connect(pub.endpoints().at(0))}});
  REQUIRE(pub.wait_for_subscribers(1, 5s));

  const std::string bytes("\x00\xff\x10 raw", 7);
  pub.publish("blob", zmqkit::binary{bytes});
  pub.publish("blob", zmqkit::packed("\x93\x01\x02\x03"));  // [1, 2, 3]

  auto raw = sub.receive(5s);
  REQUIRE(raw);
  CHECK(raw->payload_bytes() == std::optional<std::string_view>(bytes));
  auto pre = sub.receive(5s);
  REQUIRE(pre);
  CHECK(pre->payload_msgpack() == "\x93\x01\x02\x03");
  CHECK_THROWS_AS(zmqkit::packed("\x93\x01"), zmqkit::decode_error);  // truncated
}

TEST_CASE("publisher: SHALL throw zmqkit::error naming an endpoint it cannot bind") {
  zmq::context_t ctx;
  zmqkit::publisher first(ctx, {{endpoint::bind("tcp://127.0.0.1:*")}});
  try {
    zmqkit::publisher second(ctx, {{endpoint::bind(first.endpoints().at(0))}});
    FAIL("binding a port in use should throw");
  } catch (const zmqkit::error& e) {
    CHECK(std::string(e.what()).find(first.endpoints().at(0)) != std::string::npos);
    CHECK(e.code() == std::errc::address_in_use);
  }
}

TEST_CASE("publisher: SHALL apply the safe socket defaults and take overrides") {
  zmq::context_t ctx;
  zmqkit::publisher plain(ctx, {});
  CHECK(plain.socket().get(zmq::sockopt::linger) == 1000);
  CHECK(plain.socket().get(zmq::sockopt::maxmsgsize) == 16 * 1024 * 1024);
  CHECK(plain.socket().get(zmq::sockopt::heartbeat_ivl) == 0);
  CHECK(plain.socket().get(zmq::sockopt::tcp_keepalive) == 1);
  CHECK(plain.socket().get(zmq::sockopt::handshake_ivl) == 5000);

  zmqkit::publisher::options opts;
  opts.socket.linger = 0ms;
  opts.socket.send_hwm = 50000;
  zmqkit::publisher tuned(ctx, opts);
  CHECK(tuned.socket().get(zmq::sockopt::linger) == 0);
  CHECK(tuned.socket().get(zmq::sockopt::sndhwm) == 50000);
}

TEST_CASE("publisher: SHALL wait for a slow subscriber instead of dropping when asked") {
  zmq::context_t ctx;
  zmqkit::publisher::options opts;
  opts.endpoints = {endpoint::bind(bind_address(zmqkit::test::transport::inproc))};
  opts.socket.send_hwm = 5;
  opts.drop_when_full = false;
  opts.send_timeout = 20ms;
  zmqkit::publisher pub(ctx, opts);
  zmqkit::socket_options small;
  small.receive_hwm = 5;
  zmqkit::subscriber sub(ctx, {{endpoint::connect(pub.endpoints().at(0))}, {""}, small});
  REQUIRE(pub.wait_for_subscribers(1, 5s));

  int queued = 0;
  while (pub.publish("t", queued)) ++queued;  // until the subscriber's queue is full
  CHECK(pub.stats().timeouts == 1);
  CHECK(pub.stats().sent == static_cast<std::uint64_t>(queued));
  for (int i = 0; i < queued; ++i) {
    auto m = sub.receive(5s);
    REQUIRE(m);
    CHECK(m->payload_as<int>() == i);
  }
  CHECK(sub.stats().gaps == 0);
}
