#include <zmqkit/monitor.hpp>

#include <doctest/doctest.h>

#include <unistd.h>

#include <set>
#include <string>

#include "support/raw_tcp.hpp"

using namespace std::chrono_literals;

TEST_CASE("socket_monitor: SHALL report a connection being accepted and dropped") {
  zmq::context_t ctx;
  zmq::socket_t server(ctx, zmq::socket_type::pull);
  server.set(zmq::sockopt::linger, 0);
  server.bind("tcp://127.0.0.1:*");
  const auto address = server.get(zmq::sockopt::last_endpoint);
  zmqkit::socket_monitor monitor(ctx, server);

  std::set<std::string> seen;
  {
    zmq::socket_t client(ctx, zmq::socket_type::push);
    client.set(zmq::sockopt::linger, 0);
    client.connect(address);
    while (!seen.count("handshake succeeded")) {
      auto e = monitor.next(5s);
      REQUIRE(e);
      seen.insert(zmqkit::event_name(e->id));
      CHECK(e->endpoint.rfind("tcp://127.0.0.1:", 0) == 0);
    }
  }
  while (!seen.count("disconnected")) {
    auto e = monitor.next(5s);
    REQUIRE(e);
    seen.insert(zmqkit::event_name(e->id));
  }
  CHECK(seen.count("accepted"));
  CHECK_FALSE(monitor.next(0ms));
}

TEST_CASE("socket_monitor: SHALL name every event it may report") {
  CHECK(std::string(zmqkit::event_name(ZMQ_EVENT_CONNECT_RETRIED)) == "retrying");
  CHECK(std::string(zmqkit::event_name(ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)) == "handshake failed (auth)");
  CHECK(std::string(zmqkit::event_name(0x7fff0000)) == "event");
}

TEST_CASE("socket_monitor: SHALL leave the watched socket working while nobody reads its events") {
  // libzmq sends events blocking: with the default pipe limits, about 2000
  // unread ones stopped the socket's I/O thread for good.
  constexpr int connections = 1000;  // 3 events each: accepted, handshake failed, disconnected
  zmq::context_t ctx;
  zmq::socket_t push(ctx, zmq::socket_type::push);
  push.set(zmq::sockopt::linger, 0);
  push.set(zmq::sockopt::sndtimeo, 10000);
  push.set(zmq::sockopt::backlog, 2 * connections);  // connect() never waits for an accept
  push.bind("tcp://127.0.0.1:*");
  const auto address = push.get(zmq::sockopt::last_endpoint);
  zmqkit::socket_monitor monitor(ctx, push);
  for (int i = 0; i < connections; ++i) ::close(zmqkit::test::tcp_connect(address));

  // A puller that connects after all of them still gets a message: the I/O
  // thread got through their events.
  zmq::socket_t pull(ctx, zmq::socket_type::pull);
  pull.set(zmq::sockopt::linger, 0);
  pull.set(zmq::sockopt::rcvtimeo, 10000);
  pull.connect(address);
  REQUIRE(push.send(zmq::str_buffer("after"), zmq::send_flags::none));
  zmq::message_t got;
  REQUIRE(pull.recv(got));
  CHECK(got.to_string() == "after");

  int failed = 0;
  while (auto e = monitor.next(0ms))
    if (e->id == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) ++failed;
  CHECK(failed == connections);  // every event kept, none dropped
}

TEST_CASE("connection_counter: SHALL count completed handshakes net of disconnections, "
          "not counting connections whose handshake failed") {
  const auto event = [](int id) { return zmqkit::socket_event{id, 0, "tcp://127.0.0.1:5557"}; };
  zmqkit::connection_counter count;
  CHECK(count.connections() == 0);
  count.record(event(ZMQ_EVENT_ACCEPTED));
  count.record(event(ZMQ_EVENT_HANDSHAKE_SUCCEEDED));
  count.record(event(ZMQ_EVENT_CONNECTED));
  count.record(event(ZMQ_EVENT_HANDSHAKE_SUCCEEDED));
  CHECK(count.connections() == 2);

  SUBCASE("a connection that drops after its handshake is counted out") {
    count.record(event(ZMQ_EVENT_DISCONNECTED));
    CHECK(count.connections() == 1);
  }
  SUBCASE("one whose handshake failed was never counted in") {
    for (int failure : {ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL,
                        ZMQ_EVENT_HANDSHAKE_FAILED_AUTH}) {
      count.record(event(failure));
      count.record(event(ZMQ_EVENT_DISCONNECTED));
    }
    CHECK(count.connections() == 2);
    count.record(event(ZMQ_EVENT_DISCONNECTED));
    CHECK(count.connections() == 1);
  }
  SUBCASE("more disconnections than connections leave 0") {
    for (int i = 0; i < 3; ++i) count.record(event(ZMQ_EVENT_DISCONNECTED));
    CHECK(count.connections() == 0);
    count.record(event(ZMQ_EVENT_HANDSHAKE_SUCCEEDED));
    CHECK(count.connections() == 1);
  }
}
