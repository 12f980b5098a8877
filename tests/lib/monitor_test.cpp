#include <zmqkit/monitor.hpp>

#include <doctest/doctest.h>

#include <set>
#include <string>

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
