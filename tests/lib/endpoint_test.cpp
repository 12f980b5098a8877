#include <doctest/doctest.h>

#include <zmqkit/endpoint.hpp>
#include <zmqkit/socket_options.hpp>
#include <zmqkit/error.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "support/transports.hpp"

using zmqkit::endpoint;
using zmqkit::endpoint_mode;

TEST_CASE("endpoint: SHALL read '@' as bind, '>' as connect and a bare address by the fallback") {
  SUBCASE("@ binds whatever the fallback") {
    const auto ep = endpoint::parse("@tcp://*:5556", endpoint_mode::connect);
    CHECK(ep.mode == endpoint_mode::bind);
    CHECK(ep.address == "tcp://*:5556");
  }
  SUBCASE("> connects whatever the fallback") {
    const auto ep = endpoint::parse(">tcp://h:1", endpoint_mode::bind);
    CHECK(ep.mode == endpoint_mode::connect);
    CHECK(ep.address == "tcp://h:1");
  }
  SUBCASE("bare takes the fallback") {
    CHECK(endpoint::parse("tcp://h:1", endpoint_mode::bind) == endpoint::bind("tcp://h:1"));
    CHECK(endpoint::parse("tcp://h:1", endpoint_mode::connect) == endpoint::connect("tcp://h:1"));
  }
}

TEST_CASE("endpoint: SHALL accept each transport libzmq offers") {
  for (const char* text : {"tcp://127.0.0.1:5556", "ipc:///tmp/zmqkit.sock", "inproc://name",
                           "pgm://eth0;239.192.1.1:5555", "epgm://eth0;239.192.1.1:5555",
                           "ws://127.0.0.1:8080/path", "wss://example.org:443"}) {
    INFO(text);
    CHECK(endpoint::parse(text, endpoint_mode::connect).address == text);
  }
}

TEST_CASE("endpoint: SHALL print a form that parses back to the same endpoint") {
  for (const auto& ep : {endpoint::bind("tcp://*:5556"), endpoint::connect("tcp://host:1"),
                         endpoint::bind("ipc:///tmp/x"), endpoint::connect("inproc://a")}) {
    INFO(ep.to_string());
    CHECK(endpoint::parse(ep.to_string(), endpoint_mode::bind) == ep);
    CHECK(endpoint::parse(ep.to_string(), endpoint_mode::connect) == ep);
  }
  CHECK(endpoint::bind("tcp://*:1").to_string() == "@tcp://*:1");
  CHECK(endpoint::connect("tcp://h:1").to_string() == ">tcp://h:1");
}

TEST_CASE("endpoint: SHALL compare mode and address") {
  CHECK(endpoint::bind("tcp://h:1") == endpoint::bind("tcp://h:1"));
  CHECK_FALSE(endpoint::bind("tcp://h:1") == endpoint::connect("tcp://h:1"));
  CHECK_FALSE(endpoint::bind("tcp://h:1") == endpoint::bind("tcp://h:2"));
}

TEST_CASE("endpoint: SHALL throw std::invalid_argument with a one-line reason on a malformed string") {
  for (const char* text : {"", "@", ">", "tcp:/x", "tcp//x", "foo://x", "TCP://h:1", "tcp://",
                           "@tcp://", "://x", "127.0.0.1:5556",
                           "tcp://127.0.0.1:99999", "tcp://127.0.0.1:", "tcp://h:80x", "tcp://h"}) {
    INFO("'", text, "'");
    try {
      (void)endpoint::parse(text, endpoint_mode::connect);
      FAIL("accepted");
    } catch (const std::invalid_argument& e) {
      const std::string what = e.what();
      CHECK(what.find('\n') == std::string::npos);
      CHECK(what.find(std::string("'") + text + "'") != std::string::npos);  // names the input
    }
  }
}

TEST_CASE("parse_endpoints: SHALL split a comma-separated list and parse each item") {
  const auto eps = zmqkit::parse_endpoints("@tcp://*:1,>ipc:///tmp/x,inproc://y", endpoint_mode::bind);
  REQUIRE(eps.size() == 3);
  CHECK(eps[0] == endpoint::bind("tcp://*:1"));
  CHECK(eps[1] == endpoint::connect("ipc:///tmp/x"));
  CHECK(eps[2] == endpoint::bind("inproc://y"));

  CHECK(zmqkit::parse_endpoints("tcp://h:1", endpoint_mode::connect) ==
        std::vector<endpoint>{endpoint::connect("tcp://h:1")});

  SUBCASE("an empty or malformed item is an error") {
    CHECK_THROWS_AS(zmqkit::parse_endpoints("tcp://h:1,", endpoint_mode::bind), std::invalid_argument);
    CHECK_THROWS_AS(zmqkit::parse_endpoints(",tcp://h:1", endpoint_mode::bind), std::invalid_argument);
    CHECK_THROWS_AS(zmqkit::parse_endpoints("tcp://h:1,,tcp://h:2", endpoint_mode::bind),
                    std::invalid_argument);
    CHECK_THROWS_AS(zmqkit::parse_endpoints("tcp://h:1,foo://x", endpoint_mode::bind),
                    std::invalid_argument);
    CHECK_THROWS_AS(zmqkit::parse_endpoints("", endpoint_mode::bind), std::invalid_argument);
  }
}

TEST_CASE("attach: SHALL bind and connect and return the resolved addresses") {
  zmq::context_t ctx;
  zmq::socket_t server(ctx, zmq::socket_type::pull);
  zmq::socket_t client(ctx, zmq::socket_type::push);
  client.set(zmq::sockopt::linger, 0);
  const auto inproc = zmqkit::test::bind_address(zmqkit::test::transport::inproc);

  const auto bound = zmqkit::attach(
      server, {endpoint::bind("tcp://127.0.0.1:*"), endpoint::bind(inproc)}, {});
  REQUIRE(bound.size() == 2);
  CHECK(bound[0].rfind("tcp://127.0.0.1:", 0) == 0);
  CHECK(bound[0].find('*') == std::string::npos);
  CHECK(std::stoi(bound[0].substr(bound[0].rfind(':') + 1)) > 0);
  CHECK(bound[1] == inproc);

  const auto connected = zmqkit::attach(client, {endpoint::connect(bound[0])}, {});
  CHECK(connected == std::vector<std::string>{bound[0]});

  SUBCASE("and the resolved address really reaches the socket") {
    REQUIRE(client.send(zmq::str_buffer("ping"), zmq::send_flags::none));
    server.set(zmq::sockopt::rcvtimeo, 10000);
    zmq::message_t got;
    REQUIRE(server.recv(got));
    CHECK(got.to_string() == "ping");
  }
}

TEST_CASE("attach: SHALL throw zmqkit::error naming the endpoint that failed") {
  zmq::context_t ctx;
  zmq::socket_t first(ctx, zmq::socket_type::pull);
  zmq::socket_t second(ctx, zmq::socket_type::pull);
  const auto taken = zmqkit::attach(first, {endpoint::bind("tcp://127.0.0.1:*")}, {}).front();

  SUBCASE("an address already in use") {
    try {
      (void)zmqkit::attach(second, {endpoint::bind(taken)}, {});
      FAIL("bound the same port twice");
    } catch (const zmqkit::error& e) {
      CHECK(std::string(e.what()).find(taken) != std::string::npos);
      CHECK(e.code().category() == zmqkit::zmq_category());
      CHECK(e.code() == std::errc::address_in_use);
    }
  }
  SUBCASE("an interface that does not exist") {
    const std::string bad = "tcp://no-such-interface-zmqkit:1";
    try {
      (void)zmqkit::attach(second, {endpoint::bind(bad)}, {});
      FAIL("bound to a made-up interface");
    } catch (const zmqkit::error& e) {
      CHECK(std::string(e.what()).find(bad) != std::string::npos);
    }
  }
  SUBCASE("a later endpoint in the list") {
    const auto inproc = zmqkit::test::bind_address(zmqkit::test::transport::inproc);
    try {
      (void)zmqkit::attach(second, {endpoint::bind(inproc), endpoint::bind(taken)}, {});
      FAIL("bound the same port twice");
    } catch (const zmqkit::error& e) {
      CHECK(std::string(e.what()).find(taken) != std::string::npos);
      CHECK(std::string(e.what()).find(inproc) == std::string::npos);
    }
  }
}
