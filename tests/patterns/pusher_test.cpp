#include <zmqkit/puller.hpp>
#include <zmqkit/pusher.hpp>

#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "support/raw_tcp.hpp"
#include "support/transports.hpp"

using namespace std::chrono_literals;
using zmqkit::endpoint;
using zmqkit::test::all_transports;
using zmqkit::test::bind_address;

TEST_CASE("pusher: SHALL round-robin across 3 pullers over inproc, ipc and tcp") {
  zmq::context_t ctx;
  for (auto t : all_transports()) {
    SUBCASE(zmqkit::test::name(t)) {
      zmqkit::pusher push(ctx, {{endpoint::bind(bind_address(t))}});
      std::vector<std::unique_ptr<zmqkit::puller>> pullers;
      for (int i = 0; i < 3; ++i)
        pullers.push_back(std::make_unique<zmqkit::puller>(
            ctx, zmqkit::puller::options{{endpoint::connect(push.endpoints().at(0))}}));

      // Warm up until every puller has taken a message: then all three
      // connections are attached and load balancing sees them all.
      std::array<zmq::pollitem_t, 3> items{};
      for (int i = 0; i < 3; ++i) items[i] = {pullers[i]->socket().handle(), 0, ZMQ_POLLIN, 0};
      std::array<bool, 3> warm{};
      const auto deadline = std::chrono::steady_clock::now() + 10s;
      while (!(warm[0] && warm[1] && warm[2])) {
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        REQUIRE(push.push("warmup", 0));
        REQUIRE(zmq::poll(items.data(), items.size(), 5s) > 0);
        for (int i = 0; i < 3; ++i) {
          if (items[i].revents & ZMQ_POLLIN) {
            REQUIRE(pullers[i]->receive(0ms));
            warm[i] = true;
          }
        }
      }

      for (int i = 0; i < 300; ++i) REQUIRE(push.push("order_placed", i));
      for (auto& p : pullers) {
        for (int k = 0; k < 100; ++k) {
          auto m = p->receive(5s);
          REQUIRE(m);
          CHECK(m->topic() == "order_placed");
        }
        CHECK_FALSE(p->receive(0ms));  // exactly a third each
        CHECK(p->stats().duplicates == 0);
      }
    }
  }
}

TEST_CASE("pusher: SHALL time out while no puller is there and use no seq for it") {
  zmq::context_t ctx;
  zmqkit::pusher::options opts;
  opts.endpoints = {endpoint::bind("tcp://127.0.0.1:*")};
  opts.send_timeout = 20ms;
  zmqkit::pusher push(ctx, opts);

  CHECK_FALSE(push.push("order_placed", 1));
  CHECK(push.stats().timeouts == 1);
  CHECK(push.stats().sent == 0);

  opts.send_timeout = 5000ms;  // not applied: the pusher already exists
  zmqkit::puller pull(ctx, {{endpoint::connect(push.endpoints().at(0))}});
  bool sent = false;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!sent) {  // each try waits 20 ms for the connection to complete
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    sent = push.push("order_placed", 2);
  }
  auto m = pull.receive(5s);
  REQUIRE(m);
  CHECK(m->seq() == 1);
  CHECK(m->payload_as<int>() == 2);
}

TEST_CASE("pusher: SHALL refuse a message over max_message_size with EMSGSIZE before sending "
          "anything, using no seq") {
  zmq::context_t ctx;
  zmqkit::pusher::options opts{{endpoint::bind("tcp://127.0.0.1:*")}};
  opts.socket.max_message_size = 1024;
  zmqkit::pusher push(ctx, opts);
  zmqkit::puller pull(ctx, {{endpoint::connect(push.endpoints().at(0))}});
  try {
    (void)push.push("t", std::string(2000, 'x'));
    FAIL("a 2000-byte message was sent with a 1024-byte limit");
  } catch (const zmqkit::error& e) {
    CHECK(e.code() == std::errc::message_size);
    CHECK(std::string(e.what()).find("over the 1024-byte message size limit") != std::string::npos);
  }
  CHECK_THROWS_AS((void)push.push(std::string(70000, 't'), 1), zmqkit::error);  // topic > 65535
  REQUIRE(push.push("t", std::string("fits")));
  auto m = pull.receive(5s);
  REQUIRE(m);
  CHECK(m->seq() == 1);  // the refused ones used none
  CHECK(m->payload_as<std::string>() == "fits");
  CHECK(push.stats().sent == 1);
}

TEST_CASE("pusher: SHALL queue only to completed connections by default") {
  zmq::context_t ctx;
  zmqkit::pusher push(ctx, {});
  CHECK(push.socket().get(zmq::sockopt::immediate) == 1);
  CHECK(push.socket().get(zmq::sockopt::linger) == 1000);
  zmqkit::puller pull(ctx, {});
  CHECK(pull.socket().get(zmq::sockopt::immediate) == 0);
  CHECK(pull.socket().get(zmq::sockopt::heartbeat_timeout) == 5000);
}

TEST_CASE("pusher: SHALL return false from wait_for_pullers at the deadline while no puller is "
          "there") {
  zmq::context_t ctx;
  zmqkit::pusher push(ctx, {{endpoint::bind("tcp://127.0.0.1:*")}});
  const auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(push.wait_for_pullers(1, 200ms));
  CHECK(std::chrono::steady_clock::now() - start >= 200ms);
  CHECK(push.pullers() == 0);
  CHECK(push.wait_for_pullers(0, 0ms));  // nothing to wait for
}

TEST_CASE("pusher: SHALL wait until N pullers are connected, then share a burst among all of "
          "them, whether it binds or connects, over tcp and ipc") {
  using zmqkit::test::transport;
  zmq::context_t ctx;
  for (auto t : {transport::tcp, transport::ipc}) {
    SUBCASE((std::string(zmqkit::test::name(t)) + ", the pusher binds").c_str()) {
      zmqkit::pusher push(ctx, {{endpoint::bind(bind_address(t))}});
      std::vector<std::unique_ptr<zmqkit::puller>> pullers;
      for (int i = 0; i < 3; ++i)
        pullers.push_back(std::make_unique<zmqkit::puller>(
            ctx, zmqkit::puller::options{{endpoint::connect(push.endpoints().at(0))}}));
      REQUIRE(push.wait_for_pullers(3, 10s));
      CHECK(push.pullers() == 3);
      // Every connection counted is one the next push can go to: strict
      // round-robin over the three from the first message on.
      for (int i = 0; i < 30; ++i) REQUIRE(push.push("resize", i));
      for (auto& p : pullers) {
        for (int k = 0; k < 10; ++k) REQUIRE(p->receive(5s));
        CHECK_FALSE(p->receive(0ms));
      }
    }
    SUBCASE((std::string(zmqkit::test::name(t)) + ", the pusher connects").c_str()) {
      std::vector<std::unique_ptr<zmqkit::puller>> pullers;
      zmqkit::pusher::options opts;
      for (int i = 0; i < 3; ++i) {
        pullers.push_back(std::make_unique<zmqkit::puller>(
            ctx, zmqkit::puller::options{{endpoint::bind(bind_address(t))}}));
        opts.endpoints.push_back(endpoint::connect(pullers.back()->endpoints().at(0)));
      }
      zmqkit::pusher push(ctx, opts);
      REQUIRE(push.wait_for_pullers(3, 10s));
      for (int i = 0; i < 30; ++i) REQUIRE(push.push("resize", i));
      for (auto& p : pullers) {
        for (int k = 0; k < 10; ++k) REQUIRE(p->receive(5s));
        CHECK_FALSE(p->receive(0ms));
      }
    }
  }
}

TEST_CASE("pusher: SHALL count out a puller that leaves and never count one whose handshake "
          "failed") {
  zmq::context_t ctx;
  int failed = 0, disconnected = 0;
  zmqkit::pusher::options opts{{endpoint::bind("tcp://127.0.0.1:*")}};
  opts.on_event = [&](const zmqkit::socket_event& e) {
    if (e.id == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) ++failed;
    if (e.id == ZMQ_EVENT_DISCONNECTED) ++disconnected;
  };
  zmqkit::pusher push(ctx, opts);
  const auto address = push.endpoints().at(0);
  // Reads events until done() holds; each wait_for_pullers call blocks on
  // the monitor (nobody asks for 99 pullers) for at most 100 ms.
  const auto read_until = [&](auto done) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done()) {
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      (void)push.wait_for_pullers(99, 100ms);
    }
  };

  auto first = std::make_unique<zmqkit::puller>(ctx, zmqkit::puller::options{{endpoint::connect(address)}});
  zmqkit::puller second(ctx, {{endpoint::connect(address)}});
  REQUIRE(push.wait_for_pullers(2, 10s));
  first.reset();
  read_until([&] { return disconnected == 1; });
  CHECK(push.pullers() == 1);

  ::close(zmqkit::test::tcp_connect(address));  // not ZMTP: the handshake fails
  read_until([&] { return failed == 1 && disconnected == 2; });
  CHECK(push.pullers() == 1);
}

TEST_CASE("pusher: SHALL hand the events it reads to on_event, and count only until the first "
          "push") {
  zmq::context_t ctx;
  std::vector<int> events;
  zmqkit::pusher::options opts{{endpoint::bind("tcp://127.0.0.1:*")}};
  opts.on_event = [&](const zmqkit::socket_event& e) { events.push_back(e.id); };
  zmqkit::pusher push(ctx, opts);
  zmqkit::puller pull(ctx, {{endpoint::connect(push.endpoints().at(0))}});
  REQUIRE(push.wait_for_pullers(1, 10s));
  CHECK(std::count(events.begin(), events.end(), ZMQ_EVENT_ACCEPTED) == 1);
  CHECK(std::count(events.begin(), events.end(), ZMQ_EVENT_HANDSHAKE_SUCCEEDED) == 1);

  REQUIRE(push.push("resize", 1));
  REQUIRE(pull.receive(5s));
  CHECK(push.pullers() == 1);  // as counted before the push
  CHECK_THROWS_AS((void)push.wait_for_pullers(1, 10s), std::logic_error);
}

TEST_CASE("pusher: SHALL leave the socket's monitor to one that socket.on_created attaches, and "
          "then refuse to count") {
  zmq::context_t ctx;
  std::unique_ptr<zmqkit::socket_monitor> mine;
  zmqkit::pusher::options opts{{endpoint::bind("tcp://127.0.0.1:*")}};
  opts.socket.on_created = [&](zmq::socket_t& s) {
    mine = std::make_unique<zmqkit::socket_monitor>(ctx, s);
  };
  zmqkit::pusher push(ctx, opts);
  zmqkit::puller pull(ctx, {{endpoint::connect(push.endpoints().at(0))}});
  bool handshake = false;
  while (!handshake) {
    const auto e = mine->next(10s);
    REQUIRE(e);
    handshake = e->id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED;
  }
  CHECK_THROWS_AS((void)push.wait_for_pullers(1, 10s), std::logic_error);
}
