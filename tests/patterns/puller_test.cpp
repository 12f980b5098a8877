#include <zmqkit/puller.hpp>
#include <zmqkit/pusher.hpp>

#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <vector>

#include "support/transports.hpp"

using namespace std::chrono_literals;
using zmqkit::endpoint;
using zmqkit::test::all_transports;
using zmqkit::test::bind_address;
using zmqkit::test::transport;

namespace {

std::vector<std::unique_ptr<zmqkit::pusher>> three_pushers(zmq::context_t& ctx,
                                                          const std::string& address) {
  std::vector<std::unique_ptr<zmqkit::pusher>> pushers;
  for (int i = 0; i < 3; ++i)
    pushers.push_back(std::make_unique<zmqkit::pusher>(
        ctx, zmqkit::pusher::options{{endpoint::connect(address)}}));
  return pushers;
}

}  // namespace

TEST_CASE("puller: SHALL fair-queue messages from 3 pushers") {
  // inproc pipes are shared memory: once push() returns the message is in
  // the puller's queue, so the order the puller reads them in is all fq's.
  zmq::context_t ctx;
  zmqkit::puller pull(ctx, {{endpoint::bind(bind_address(transport::inproc))}});
  auto pushers = three_pushers(ctx, pull.endpoints().at(0));
  for (auto& p : pushers)
    for (int i = 0; i < 100; ++i) REQUIRE(p->push("work", i));

  std::map<zmqkit::producer_id, int> first_thirty;
  for (int i = 0; i < 300; ++i) {
    auto m = pull.receive(5s);
    REQUIRE(m);
    if (i < 30) ++first_thirty[m->producer()];
  }
  // One busy pusher cannot starve the others: turns alternate.
  REQUIRE(first_thirty.size() == 3);
  for (const auto& [producer, count] : first_thirty) CHECK(count == 10);
  CHECK(pull.stats().gaps == 0);
}

TEST_CASE("puller: SHALL receive everything from 3 pushers in order per pusher over ipc and tcp") {
  zmq::context_t ctx;
  for (auto t : all_transports()) {
    SUBCASE(zmqkit::test::name(t)) {
      zmqkit::puller pull(ctx, {{endpoint::bind(bind_address(t))}});
      auto pushers = three_pushers(ctx, pull.endpoints().at(0));
      for (int i = 0; i < 500; ++i)
        for (auto& p : pushers) REQUIRE(p->push("work", i));

      std::map<zmqkit::producer_id, std::uint64_t> last_seq;
      for (int i = 0; i < 1500; ++i) {
        auto m = pull.receive(5s);
        REQUIRE(m);
        auto& last = last_seq[m->producer()];
        CHECK(m->seq() == last + 1);
        CHECK(m->payload_as<int>() == static_cast<int>(last));
        last = m->seq();
      }
      CHECK(last_seq.size() == 3);
      CHECK(pull.stats().received == 1500);
      CHECK(pull.stats().gaps == 0);
      CHECK(pull.stats().duplicates == 0);
    }
  }
}

TEST_CASE("puller: SHALL return nothing when nothing arrives before the deadline") {
  zmq::context_t ctx;
  zmqkit::puller pull(ctx, {{endpoint::bind("tcp://127.0.0.1:*")}});
  CHECK_FALSE(pull.receive(0ms));
  CHECK_FALSE(pull.receive(10ms));
  CHECK(pull.stats().received == 0);
}
