#include <zmqkit/replier.hpp>
#include <zmqkit/requester.hpp>

#include <doctest/doctest.h>

#include <future>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include "support/transports.hpp"

using namespace std::chrono_literals;
using zmqkit::endpoint;
using zmqkit::test::bind_address;
using zmqkit::test::transport;

TEST_CASE("replier: SHALL answer with receive() and reply()") {
  zmq::context_t ctx;
  zmqkit::replier rep(ctx, {{endpoint::bind(bind_address(transport::inproc))}});
  zmqkit::requester req(ctx, {{endpoint::connect(rep.endpoints().at(0))}});

  CHECK_THROWS_AS(rep.reply("x", 1), std::logic_error);  // nothing to reply to yet
  auto pending = std::async(std::launch::async, [&] { return req.request("price", std::string("sku-1")); });
  auto request = rep.receive(5s);
  REQUIRE(request);
  CHECK(request->payload_as<std::string>() == "sku-1");
  CHECK_THROWS_AS((void)rep.receive(0ms), std::logic_error);  // must reply first
  rep.reply(request->topic(), 1999, {{"currency", "EUR"}});

  auto reply = pending.get();
  REQUIRE(reply);
  CHECK(reply->topic() == "price");
  CHECK(reply->payload_as<int>() == 1999);
  CHECK(reply->find_header("currency") == std::optional<std::string_view>("EUR"));
}

TEST_CASE("replier: SHALL answer with an error when the handler throws, and keep serving") {
  zmq::context_t ctx;
  zmqkit::replier rep(ctx, {{endpoint::bind("tcp://127.0.0.1:*")}});
  std::thread server([&] {
    for (int i = 0; i < 2; ++i)
      REQUIRE(rep.serve_one(
          [](const zmqkit::message& m) {
            if (m.payload_as<int>() < 0) throw std::domain_error("negative quantity");
            return m.payload_as<int>();
          },
          10s));
  });
  zmqkit::requester req(ctx, {{endpoint::connect(rep.endpoints().at(0))}});
  auto bad = req.request("qty", -1);
  REQUIRE(bad);
  CHECK(bad->find_header("error") == std::optional<std::string_view>("negative quantity"));
  CHECK(bad->payload_msgpack() == "\xc0");  // nil
  auto good = req.request("qty", 3);
  REQUIRE(good);
  CHECK_FALSE(good->find_header("error"));
  CHECK(good->payload_as<int>() == 3);
  server.join();
  CHECK(rep.stats().handler_errors == 1);
}

TEST_CASE("replier: SHALL answer a malformed request with an error and keep serving") {
  zmq::context_t ctx;
  zmqkit::replier rep(ctx, {{endpoint::bind(bind_address(transport::ipc))}});
  std::thread server([&] {
    REQUIRE(rep.serve_one([](const zmqkit::message& m) { return m.payload_as<int>() + 1; }, 10s));
  });

  zmq::socket_t raw(ctx, zmq::socket_type::req);  // someone else's client
  raw.set(zmq::sockopt::linger, 0);
  raw.set(zmq::sockopt::rcvtimeo, 10000);
  raw.connect(rep.endpoints().at(0));
  raw.send(zmq::str_buffer("not an envelope"));
  zmq::message_t topic, body;
  REQUIRE(raw.recv(topic));
  REQUIRE(topic.more());
  REQUIRE(raw.recv(body));
  auto answer = zmqkit::message::decode(std::move(topic), std::move(body));
  const auto error = answer.find_header("error");
  REQUIRE(error);
  CHECK(error->rfind("bad request: frames", 0) == 0);

  zmqkit::requester req(ctx, {{endpoint::connect(rep.endpoints().at(0))}});
  auto good = req.request("inc", 41);
  REQUIRE(good);
  CHECK(good->payload_as<int>() == 42);
  server.join();
  CHECK(rep.stats().decode_errors == 1);
}

TEST_CASE("replier: SHALL answer with an error in place of a reply over max_message_size, then "
          "throw EMSGSIZE, and keep serving") {
  zmq::context_t ctx;
  zmqkit::replier::options opts{{endpoint::bind("tcp://127.0.0.1:*")}};
  opts.socket.max_message_size = 1024;
  zmqkit::replier rep(ctx, opts);
  zmqkit::requester req(ctx, {{endpoint::connect(rep.endpoints().at(0))}});

  auto pending = std::async(std::launch::async, [&] { return req.request("big", 1); });
  REQUIRE(rep.receive(5s));
  try {
    rep.reply("big", std::string(2000, 'x'));
    FAIL("a 2000-byte reply was accepted with a 1024-byte limit");
  } catch (const zmqkit::error& e) {
    CHECK(e.code() == std::errc::message_size);
  }
  const auto reply = pending.get();
  REQUIRE(reply);
  const auto why = reply->find_header("error");
  REQUIRE(why);
  CHECK(why->find("reply not sent: envelope of ") == 0);

  // serve_one counts it as a failed handler.
  std::thread server([&] {
    REQUIRE(rep.serve_one([](const zmqkit::message&) { return std::string(2000, 'y'); }, 10s));
  });
  const auto second = req.request("big", 2);
  server.join();
  REQUIRE(second);
  CHECK(second->find_header("error"));
  CHECK(rep.stats().handler_errors == 1);
}
