#include <doctest/doctest.h>

#include <chrono>
#include <random>
#include <string>

#include <zmqkit/metrics.hpp>

using namespace std::chrono_literals;
using zmqkit::latency_histogram;

namespace {

// A decoded message with the given envelope time and, if stored_ns != 0,
// a forwarder's position.
zmqkit::message make(const std::string& topic, std::int64_t time_ns, std::int64_t stored_ns = 0) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_array(6);
  pk.pack(1);
  const std::string id(16, 'p');
  pk.pack_bin(16);
  pk.pack_bin_body(id.data(), 16);
  pk.pack(1u);
  pk.pack(time_ns);
  pk.pack_map(0);
  pk.pack(7);
  auto m = zmqkit::message::decode(zmq::message_t(topic), zmq::message_t(buf.data(), buf.size()));
  if (stored_ns != 0) m.set_position({{}, 3, stored_ns, 10});
  return m;
}

}  // namespace

TEST_CASE("latency_histogram: SHALL give percentiles within its resolution") {
  latency_histogram h;
  CHECK(h.percentile_ns(50) == 0);
  for (int i = 1; i <= 1000; ++i) h.record(i * 1000);  // 1 us .. 1 ms
  CHECK(h.count() == 1000);
  CHECK(h.max_ns() == 1'000'000);
  CHECK(h.sum_seconds() == doctest::Approx(0.5005));
  for (const double p : {1.0, 50.0, 90.0, 99.0}) {
    const double truth = p * 10'000;  // ns
    CHECK(double(h.percentile_ns(p)) >= truth);
    CHECK(double(h.percentile_ns(p)) <= truth * 1.07);
  }
  CHECK(h.percentile_ns(100) == 1'000'000);
  h.record(-5);
  CHECK(h.percentile_ns(0.01) == 0);
}

TEST_CASE("latency_histogram: SHALL count values at or below a bound, never one above it") {
  latency_histogram h;
  std::mt19937_64 rng(7);
  std::vector<std::int64_t> values;
  for (int i = 0; i < 5000; ++i) values.push_back(std::int64_t(rng() % 10'000'000'000ULL));
  values.push_back(std::int64_t{1} << 62);
  for (const auto v : values) h.record(v);
  for (const std::int64_t bound : {0LL, 1000LL, 1'000'000LL, 5'000'000LL, 1'000'000'000LL, 9'000'000'000LL}) {
    std::uint64_t truth = 0;
    for (const auto v : values) truth += v <= bound;
    const auto got = h.count_at_or_below(bound);
    CHECK(got <= truth);
    CHECK(double(got) >= double(truth) * 0.93 - 1);
  }
  CHECK(h.count_at_or_below(-1) == 0);
  CHECK_THROWS_AS(latency_histogram(0), std::invalid_argument);
}

TEST_CASE("split_latency: SHALL split at the forwarder's stored time when there is one") {
  const auto direct = zmqkit::split_latency(make("t", 1000), 4000);
  CHECK_FALSE(direct.queued_ns);
  CHECK(direct.transit_ns == 3000);
  const auto stored = zmqkit::split_latency(make("t", 1000, 1500), 4000);
  REQUIRE(stored.queued_ns);
  CHECK(*stored.queued_ns == 500);
  CHECK(stored.transit_ns == 2500);
  // Clocks of two hosts disagree: a negative difference counts as 0.
  const auto skewed = zmqkit::split_latency(make("t", 5000, 4000), 3000);
  CHECK(*skewed.queued_ns == 0);
  CHECK(skewed.transit_ns == 0);
}

TEST_CASE("event_metrics: SHALL count per topic, rate per tick, and cap the topics") {
  zmqkit::event_metrics m(2);
  const auto t0 = std::chrono::steady_clock::time_point{} + 100s;
  m.tick(t0);
  for (int i = 0; i < 30; ++i) m.received(make("order_placed", 1000, 2000), 5000);
  m.received(make("user_registered", 1000), 3000).consumed++;
  m.received(make("spam_1", 1), 2);
  m.received(make("spam_2", 1), 2);
  const auto& t = m.topics();
  REQUIRE(t.size() == 3);
  CHECK(t.at("order_placed").events == 30);
  CHECK(t.at("order_placed").queued.count() == 30);
  CHECK(t.at("user_registered").queued.count() == 0);
  CHECK(t.at("user_registered").transit.count() == 1);
  CHECK(t.at(std::string(zmqkit::event_metrics::overflow_topic)).events == 2);

  m.tick(t0 + 500ms);  // too soon: rates stay
  CHECK(t.at("order_placed").events_per_s == 0);
  m.tick(t0 + 2s);
  CHECK(t.at("order_placed").events_per_s == doctest::Approx(15));
  CHECK(t.at("user_registered").consumed_per_s == doctest::Approx(0.5));
  m.tick(t0 + 4s);
  CHECK(t.at("order_placed").events_per_s == 0);

  const auto json = m.to_json();
  CHECK(json.find("\"order_placed\":{\"events\":30,") != std::string::npos);
  CHECK(json.find("\"(other)\"") != std::string::npos);
  const auto text = m.to_text();
  CHECK(text.find("topic \"order_placed\": 30 events, queued p50 0.001") != std::string::npos);
  CHECK(text.find("topic \"user_registered\": 1 events, 1 consumed") != std::string::npos);
}
