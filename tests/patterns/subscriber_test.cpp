#include <zmqkit/publisher.hpp>
#include <zmqkit/subscriber.hpp>

#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "support/transports.hpp"

using namespace std::chrono_literals;
using zmqkit::endpoint;
using zmqkit::test::bind_address;
using zmqkit::test::transport;

TEST_CASE("subscriber: SHALL receive only topics starting with its prefixes") {
  zmq::context_t ctx;
  zmqkit::publisher pub(ctx, {{endpoint::bind("tcp://127.0.0.1:*")}});
  zmqkit::subscriber sub(ctx, {{endpoint::connect(pub.endpoints().at(0))}, {"order_"}});
  REQUIRE(pub.wait_for_subscribers(1, 5s));

  for (const char* topic : {"user_registered", "order_placed", "cart_updated", "order_cancelled"})
    pub.publish(topic, 1);
  pub.publish("order_end", 0);

  std::vector<std::string> got;
  while (got.empty() || got.back() != "order_end") {
    auto m = sub.receive(5s);
    REQUIRE(m);
    got.emplace_back(m->topic());
  }
  CHECK(got == std::vector<std::string>{"order_placed", "order_cancelled", "order_end"});

  SUBCASE("and SHALL add a prefix at run time") {
    sub.subscribe("user_");
    REQUIRE(pub.wait_for_subscribers(2, 5s));
    pub.publish("user_registered", 2);
    auto m = sub.receive(5s);
    REQUIRE(m);
    CHECK(m->topic() == "user_registered");
    // Seqs 1 and 3 were filtered away, not lost: a filtering subscriber
    // cannot tell the two apart, so it counts no gaps at all.
    CHECK(sub.stats().gaps == 0);
  }
}

TEST_CASE("subscriber: SHALL count gaps when a slow subscriber's queue overflows at the HWM") {
  zmq::context_t ctx;
  for (auto t : {transport::inproc, transport::tcp}) {
    SUBCASE(zmqkit::test::name(t)) {
      zmqkit::socket_options small;
      small.send_hwm = 10;
      small.receive_hwm = 10;
      zmqkit::publisher pub(ctx, {{endpoint::bind(bind_address(t))}, small});
      zmqkit::subscriber sub(ctx, {{endpoint::connect(pub.endpoints().at(0))}, {""}, small});
      REQUIRE(pub.wait_for_subscribers(1, 5s));

      const std::string kilobyte(1024, 'x');
      for (int i = 0; i < 20000; ++i) pub.publish("flood", kilobyte);  // not reading: drops

      // Read what got through. Whenever the queue goes quiet, offer an "end"
      // marker; it gets in once the publisher sees room again (the reader
      // tells it so asynchronously). No guessing how long the flood lasts.
      std::uint64_t last_seq = 0;
      const auto deadline = std::chrono::steady_clock::now() + 10s;
      while (true) {
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        auto m = sub.receive(100ms);
        if (!m) {
          pub.publish("end", 0);
          continue;
        }
        last_seq = m->seq();
        if (m->topic() == "end") break;
      }
      CHECK(sub.stats().gaps > 0);
      CHECK(sub.stats().duplicates == 0);
      CHECK(sub.stats().received + sub.stats().gaps == last_seq);
    }
  }
}

TEST_CASE("subscriber: SHALL count and skip malformed messages and keep receiving") {
  zmq::context_t ctx;
  zmqkit::publisher pub(ctx, {{endpoint::bind(bind_address(transport::inproc))}});
  std::vector<std::string> errors;
  zmqkit::subscriber::options opts;
  opts.endpoints = {endpoint::connect(pub.endpoints().at(0))};
  opts.on_error = [&](const zmqkit::decode_error& e) { errors.push_back(e.field()); };
  zmqkit::subscriber sub(ctx, opts);
  REQUIRE(pub.wait_for_subscribers(1, 5s));

  // Raw frames straight onto the publisher's socket: not zmqkit envelopes.
  auto& raw = pub.socket();
  raw.send(zmq::str_buffer("bad"), zmq::send_flags::sndmore);
  raw.send(zmq::str_buffer("\xdd\xff\x00\x00\x00"));  // array32 "of 4 billion"
  raw.send(zmq::str_buffer("lonely frame"));
  pub.publish("good", 42);

  auto m = sub.receive(5s);
  REQUIRE(m);
  CHECK(m->topic() == "good");
  CHECK(sub.stats().decode_errors == 2);
  CHECK(errors == std::vector<std::string>{"envelope", "frames"});
}
