#include <zmqkit/replier.hpp>
#include <zmqkit/requester.hpp>

#include <doctest/doctest.h>
#include <sys/wait.h>

#include <csignal>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "support/process.hpp"
#include "support/transports.hpp"

using namespace std::chrono_literals;
using zmqkit::endpoint;
using zmqkit::test::all_transports;
using zmqkit::test::bind_address;

namespace {

const std::string test_replier = ZMQKIT_TEST_BINARY_DIR "/test_replier";

// Starts test_replier and returns it with the endpoint it printed.
std::unique_ptr<zmqkit::test::process> start_replier(const std::string& address,
                                                     std::string& bound, int crash_after = -1) {
  std::vector<std::string> argv{test_replier, address};
  if (crash_after >= 0) {
    argv.push_back("--crash-after");
    argv.push_back(std::to_string(crash_after));
  }
  auto p = std::make_unique<zmqkit::test::process>(argv);
  auto line = p->read_line(10s);
  REQUIRE_MESSAGE(line, "test_replier did not report its endpoint: " << p->stderr_text());
  bound = *line;
  return p;
}

}  // namespace

TEST_CASE("requester: SHALL get a reply for each request over inproc, ipc and tcp") {
  zmq::context_t ctx;
  for (auto t : all_transports()) {
    SUBCASE(zmqkit::test::name(t)) {
      zmqkit::replier rep(ctx, {{endpoint::bind(bind_address(t))}});
      std::thread server([&] {
        for (int i = 0; i < 50; ++i)
          REQUIRE(rep.serve_one([](const zmqkit::message& m) { return m.payload_as<int>() * 2; },
                                10s));
      });
      zmqkit::requester req(ctx, {{endpoint::connect(rep.endpoints().at(0))}});
      for (int i = 0; i < 50; ++i) {
        auto reply = req.request("double", i);
        REQUIRE(reply);
        CHECK(reply->topic() == "double");
        CHECK(reply->payload_as<int>() == 2 * i);
      }
      server.join();
      CHECK(req.stats().retries == 0);
      CHECK(rep.stats().received == 50);
    }
  }
}

TEST_CASE("requester: SHALL give up after its retries when no replier answers, never wedging") {
  zmq::context_t ctx;
  // A bound REP that never answers: the request is delivered, the reply never comes.
  zmq::socket_t silent(ctx, zmq::socket_type::rep);
  silent.bind("tcp://127.0.0.1:*");
  zmqkit::requester::options opts;
  opts.endpoints = {endpoint::connect(silent.get(zmq::sockopt::last_endpoint))};
  opts.timeout = 50ms;
  opts.retries = 2;
  std::vector<int> attempts;
  opts.on_retry = [&](int attempt) { attempts.push_back(attempt); };
  zmqkit::requester req(ctx, opts);

  CHECK_FALSE(req.request("ping", 1));
  CHECK(req.stats().retries == 2);
  CHECK(attempts == std::vector<int>{2, 3});
  CHECK(req.stats().timeouts == 1);
  CHECK_FALSE(req.request("ping", 2));  // the socket was rebuilt: no EFSM
  CHECK(req.stats().timeouts == 2);
}

TEST_CASE("requester: SHALL get its reply from a replier that was killed and restarted") {
  zmq::context_t ctx;
  zmqkit::requester::options opts;
  opts.timeout = 200ms;
  opts.retries = 100;

  SUBCASE("killed with SIGKILL between requests") {
    std::string bound;
    auto first = start_replier("tcp://127.0.0.1:*", bound);
    opts.endpoints = {endpoint::connect(bound)};
    zmqkit::requester req(ctx, opts);
    REQUIRE(req.request("echo", std::string("before")));

    first->kill(SIGKILL);
    REQUIRE(first->wait(10s));
    auto pending = std::async(std::launch::async, [&] { return req.request("echo", std::string("after")); });
    std::string again;
    auto second = start_replier(bound, again);
    CHECK(again == bound);
    auto reply = pending.get();
    REQUIRE(reply);
    CHECK(reply->payload_as<std::string>() == "after");
  }

  SUBCASE("dying while it holds the request, so the reply is lost") {
    std::string bound;
    auto first = start_replier("tcp://127.0.0.1:*", bound, /*crash_after=*/1);
    opts.endpoints = {endpoint::connect(bound)};
    zmqkit::requester req(ctx, opts);
    REQUIRE(req.request("echo", std::string("served")));

    auto pending = std::async(std::launch::async, [&] { return req.request("echo", std::string("lost")); });
    auto status = first->wait(10s);  // it dies on receiving "lost"
    REQUIRE(status);
    CHECK(WIFSIGNALED(*status));
    std::string again;
    auto second = start_replier(bound, again);
    auto reply = pending.get();
    REQUIRE(reply);
    CHECK(reply->payload_as<std::string>() == "lost");
    CHECK(req.stats().retries >= 1);
  }
}
