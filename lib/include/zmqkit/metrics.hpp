// Metrics in the terms event-driven programs are reasoned about: per topic,
// how many events came and how fast, how many were consumed, and where their
// latency went (docs/metrics.md):
//
//   queued   from the producer's envelope time to the forwarder storing it:
//            waiting in the producer's outbox (link down, forwarder busy)
//            plus the hop to the forwarder;
//   transit  from there to the consumer: waiting in the journal (backlog)
//            and the way out, or from the envelope time when no forwarder
//            stored the message;
//   handler  the consumer's own handling time.
//
// Times on two hosts come from two clocks: a difference between them is as
// good as their synchronisation (NTP), and a negative one counts as 0.
// Plain values owned by one thread, as the patterns' counters are.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <zmqkit/envelope.hpp>

namespace zmqkit {

// Log-linear histogram of durations in nanoseconds: each power of two is
// split into 2^sub_bits buckets, so a percentile is within 1/2^sub_bits of
// the truth (6 % with the default 4) in constant memory (64 << sub_bits
// counters) whatever the range.
class latency_histogram {
 public:
  latency_histogram() : latency_histogram(4) {}
  explicit latency_histogram(int sub_bits);

  void record(std::int64_t ns);  // a negative value counts as 0
  std::uint64_t count() const noexcept { return count_; }
  double sum_seconds() const noexcept { return sum_ns_ / 1e9; }
  std::int64_t max_ns() const noexcept { return max_; }
  // The upper edge of the bucket holding the p-th percentile (p in 0..100),
  // never above the largest value recorded; 0 when empty.
  std::int64_t percentile_ns(double p) const;
  // How many values are certainly at or below ns: every bucket that ends at
  // or below it (a Prometheus "le" bucket, to the histogram's resolution).
  std::uint64_t count_at_or_below(std::int64_t ns) const;

 private:
  std::size_t index(std::uint64_t v) const noexcept;
  std::uint64_t upper_edge(std::size_t index) const noexcept;  // exclusive

  int sub_bits_;
  std::vector<std::uint64_t> buckets_;
  std::uint64_t count_ = 0;
  double sum_ns_ = 0;
  std::int64_t max_ = 0;
};

// Per-topic figures. Rates are over the last tick() interval.
struct topic_metrics {
  std::uint64_t events = 0;         // received (or stored, at a forwarder)
  std::uint64_t bytes = 0;          // their topic and envelope bytes
  std::uint64_t consumed = 0;       // handled to the end (or delivered, at a forwarder)
  std::uint64_t failures = 0;       // handler attempts that threw
  std::uint64_t dead_lettered = 0;  // given up on after the last attempt
  std::uint64_t duplicates = 0;     // seen before, skipped
  double events_per_s = 0;
  double consumed_per_s = 0;
  latency_histogram queued, transit, handler;

 private:
  friend class event_metrics;
  std::uint64_t events_at_tick_ = 0, consumed_at_tick_ = 0;
};

// Where a message's latency went so far, from its timestamps (see the top).
struct latency_split {
  std::optional<std::int64_t> queued_ns;  // only when a forwarder stored it
  std::int64_t transit_ns = 0;
};
latency_split split_latency(const message& m, std::int64_t now_ns);

// The wall clock in ns since the Unix epoch, as envelopes carry it.
std::int64_t unix_now_ns();

// A table of topic_metrics. Past max_topics distinct topics, the rest are
// counted together under overflow_topic, so a stream of random topics
// cannot grow memory.
class event_metrics {
 public:
  static constexpr std::string_view overflow_topic = "(other)";
  using clock = std::chrono::steady_clock;

  event_metrics() : event_metrics(256) {}
  explicit event_metrics(std::size_t max_topics);

  topic_metrics& topic(std::string_view name);
  // Counts m as an event of its topic, with its queued and transit latency
  // as of now_ns; returns its topic's entry.
  topic_metrics& received(const message& m, std::int64_t now_ns);

  // Refreshes the rates when at least a second has passed since the last
  // refresh; cheap to call on every message.
  void tick(clock::time_point now = clock::now());

  const std::map<std::string, topic_metrics, std::less<>>& topics() const noexcept { return topics_; }

  // {"TOPIC":{"events":..,"events_per_s":..,"consumed":..,..,
  //  "latency_ms":{"queued":{"count":..,"p50":..,"p99":..,"max":..},..}},..}
  std::string to_json() const;
  // One line per topic, for a tool's --stats; with over_seconds > 0 each
  // says its average event rate over that time.
  std::string to_text(double over_seconds = 0) const;

 private:
  std::size_t max_topics_;
  std::map<std::string, topic_metrics, std::less<>> topics_;
  clock::time_point last_tick_{};
};

// A rate or a time as the metrics' JSON writes it: three decimals.
std::string json_number(double v);
// {"count":N,"p50":MS,"p99":MS,"max":MS}, times in milliseconds.
std::string latency_json(const latency_histogram& h);

}  // namespace zmqkit
