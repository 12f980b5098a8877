#include <doctest/doctest.h>

#include <zmqkit/inbox.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "support/transports.hpp"

using namespace std::chrono_literals;
using zmqkit::counters;
using zmqkit::envelope_writer;
using zmqkit::inbox;

namespace {

// A PUSH socket connected to a PULL socket over inproc.
struct push_pull {
  zmq::context_t ctx;
  zmq::socket_t pull{ctx, zmq::socket_type::pull};
  zmq::socket_t push{ctx, zmq::socket_type::push};

  push_pull() {
    const auto address = zmqkit::test::bind_address(zmqkit::test::transport::inproc);
    pull.bind(address);
    push.connect(address);
    push.set(zmq::sockopt::linger, 0);
    push.set(zmq::sockopt::sndtimeo, 10000);  // a deadline, should anything go wrong
  }

  void send(zmq::message_t& body, std::string_view topic = "t") {
    REQUIRE(zmqkit::send_message(push, topic, body));
  }
  void send_single_frame() { REQUIRE(push.send(zmq::str_buffer("alone"), zmq::send_flags::none)); }
  void send_garbage_envelope() {
    REQUIRE(push.send(zmq::str_buffer("t"), zmq::send_flags::sndmore));
    REQUIRE(push.send(zmq::str_buffer("\xc1"), zmq::send_flags::none));
  }
};

constexpr auto patience = 10s;  // only reached if a message that was sent never arrives

}  // namespace

TEST_CASE("inbox: SHALL return a good message and count it as received") {
  push_pull p;
  envelope_writer w;
  auto body = w.encode(std::string("hi"));
  p.send(body, "greeting");

  inbox box;
  counters stats;
  const auto m = box.receive(p.pull, patience, stats);
  REQUIRE(m.has_value());
  CHECK(m->topic() == "greeting");
  CHECK(m->payload_as<std::string>() == "hi");
  CHECK(stats.received == 1);
  CHECK(stats.gaps == 0);
  CHECK(stats.duplicates == 0);
  CHECK(stats.decode_errors == 0);
}

TEST_CASE("inbox: SHALL count the seqs a producer skipped as gaps") {
  push_pull p;
  envelope_writer w;
  auto first = w.encode(1);  // seq 1
  w.commit();
  p.send(first);
  w.commit();  // seq 2 and 3 are never sent
  w.commit();
  auto fourth = w.encode(4);
  w.commit();
  p.send(fourth);
  auto fifth = w.encode(5);
  p.send(fifth);

  inbox box;
  counters stats;
  REQUIRE(box.receive(p.pull, patience, stats)->seq() == 1);
  CHECK(stats.gaps == 0);
  REQUIRE(box.receive(p.pull, patience, stats)->seq() == 4);
  CHECK(stats.gaps == 2);
  REQUIRE(box.receive(p.pull, patience, stats)->seq() == 5);
  CHECK(stats.gaps == 2);
  CHECK(stats.received == 3);
}

TEST_CASE("inbox: SHALL count a repeated seq as a duplicate and still deliver it") {
  push_pull p;
  envelope_writer w;
  auto body = w.encode(7);
  zmq::message_t again;
  again.copy(body);
  p.send(body);
  p.send(again);

  inbox box;
  counters stats;
  REQUIRE(box.receive(p.pull, patience, stats).has_value());
  CHECK(stats.duplicates == 0);
  const auto repeated = box.receive(p.pull, patience, stats);
  REQUIRE(repeated.has_value());
  CHECK(repeated->seq() == 1);
  CHECK(stats.duplicates == 1);
  CHECK(stats.gaps == 0);
  CHECK(stats.received == 2);
}

TEST_CASE("inbox: SHALL track each producer's seqs on their own") {
  push_pull p;
  envelope_writer a;
  envelope_writer b;
  for (int i = 0; i < 3; ++i) {
    auto from_a = a.encode(i);
    a.commit();
    p.send(from_a);
    auto from_b = b.encode(i);
    b.commit();
    p.send(from_b);
  }
  inbox box;
  counters stats;
  for (int i = 0; i < 6; ++i) REQUIRE(box.receive(p.pull, patience, stats).has_value());
  CHECK(stats.received == 6);
  CHECK(stats.gaps == 0);
  CHECK(stats.duplicates == 0);
}

TEST_CASE("inbox: SHALL count a malformed message, report it and return the next good one") {
  push_pull p;
  p.send_single_frame();
  p.send_garbage_envelope();
  envelope_writer w;
  auto good = w.encode(std::string("after the bad ones"));
  p.send(good);

  std::vector<std::string> reported;
  inbox box([&](const zmqkit::decode_error& e) { reported.push_back(e.field()); });
  counters stats;
  const auto m = box.receive(p.pull, patience, stats);  // one call
  REQUIRE(m.has_value());
  CHECK(m->payload_as<std::string>() == "after the bad ones");
  CHECK(stats.decode_errors == 2);
  CHECK(stats.received == 1);
  CHECK(reported == std::vector<std::string>{"frames", "envelope"});
}

TEST_CASE("inbox: SHALL go on without an error hook") {
  push_pull p;
  p.send_garbage_envelope();
  envelope_writer w;
  auto good = w.encode(1);
  p.send(good);

  inbox box;
  counters stats;
  REQUIRE(box.receive(p.pull, patience, stats).has_value());
  CHECK(stats.decode_errors == 1);
}

TEST_CASE("inbox: SHALL drop a message larger than its max_message_size") {
  push_pull p;
  envelope_writer w;
  auto big = w.encode(std::string(100, 'x'));
  w.commit();
  p.send(big);
  auto small = w.encode(1);
  p.send(small);

  std::vector<std::string> reported;
  inbox box([&](const zmqkit::decode_error& e) { reported.push_back(e.field()); }, 64);
  counters stats;
  const auto m = box.receive(p.pull, patience, stats);
  REQUIRE(m.has_value());
  CHECK(m->seq() == 2);
  CHECK(stats.decode_errors == 1);
  CHECK(reported == std::vector<std::string>{"envelope"});
}

TEST_CASE("inbox: SHALL return nullopt at once with a zero timeout and nothing queued") {
  push_pull p;
  inbox box;
  counters stats;
  const auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(box.receive(p.pull, 0ms, stats).has_value());
  CHECK(std::chrono::steady_clock::now() - start < 1s);
  CHECK(stats.received == 0);

  SUBCASE("and when only malformed messages are queued") {
    p.send_garbage_envelope();
    p.send_single_frame();
    CHECK_FALSE(box.receive(p.pull, 0ms, stats).has_value());
    CHECK(stats.decode_errors == 2);
    CHECK(stats.received == 0);
  }
  SUBCASE("and again once the queue is drained") {
    envelope_writer w;
    auto body = w.encode(1);
    p.send(body);
    CHECK(box.receive(p.pull, patience, stats).has_value());
    CHECK_FALSE(box.receive(p.pull, 0ms, stats).has_value());
  }
}

TEST_CASE("inbox: SHALL give up at its deadline when only malformed messages arrive") {
  push_pull p;
  p.send_garbage_envelope();
  inbox box;
  counters stats;
  const auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(box.receive(p.pull, 50ms, stats).has_value());
  const auto waited = std::chrono::steady_clock::now() - start;
  CHECK(waited >= 40ms);
  CHECK(waited < 5s);
  CHECK(stats.decode_errors == 1);
}
