// tools/common/metrics_endpoint: --metrics addresses, and a forwarder's
// snapshot as Prometheus text (names, labels, histogram buckets). The HTTP
// side, with a real forwarder and a real Prometheus, is in
// zmq_forwarder_metrics_test.cpp.
#include "common/metrics_endpoint.hpp"

#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include "common/cli.hpp"

using zmqkit::forwarder;
using zmqkit::tools::forwarder_metrics_text;
using zmqkit::tools::parse_metrics_address;

namespace {

// The value printed for series, or -1 if it is not there.
double value(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  return -1;
}

}  // namespace

TEST_CASE("metrics_endpoint: SHALL take HOST:PORT with an IP address or * and refuse anything else") {
  CHECK(parse_metrics_address("127.0.0.1:9464") == "127.0.0.1:9464");
  CHECK(parse_metrics_address("0.0.0.0:0") == "0.0.0.0:0");
  CHECK(parse_metrics_address("*:9464") == "9464");
  CHECK(parse_metrics_address("[::1]:9464") == "[::1]:9464");
  for (const char* bad : {"", "9464", "127.0.0.1", "127.0.0.1:", "localhost:9464", "127.0.0.1:65536",
                          "127.0.0.1:-1", "127.0.0.1:http", "::1:9464", "[nonsense]:1", "1.2.3:4"})
    CHECK_THROWS_AS(parse_metrics_address(bad), zmqkit::tools::usage_error);
}

TEST_CASE("metrics_endpoint: SHALL write the snapshot as zmqkit_forwarder_ counters, gauges and "
          "cumulative histograms, labelled by topic and subscription") {
  forwarder::metrics_snapshot m;
  m.counts.stored = 3;
  m.counts.duplicates = 1;
  m.journal_stats.next_fseq = 4;
  m.journal_stats.bytes = 1234;
  m.sync_latency.record(200'000);  // 0.2 ms
  auto& orders = m.topics.topic("orders");
  orders.events = 3;
  orders.bytes = 300;
  orders.consumed = 2;
  for (const std::int64_t ns : {1'000'000, 3'000'000, 2'000'000'000}) orders.queued.record(ns);
  m.topics.topic(std::string("bin\xff", 4)).events = 1;
  forwarder::metrics_snapshot::subscription billing;
  billing.name = "billing";
  billing.backlog = 5;
  billing.acked = 7;
  billing.delivered = 9;
  forwarder::metrics_snapshot::subscription replay1, replay2;
  replay1.backlog = 1;
  replay2.backlog = 2;
  replay2.members = 1;
  m.subscriptions = {billing, replay1, replay2};
  m.forward_to = forwarder::metrics_snapshot::link{10, 2, 4, 8};

  const std::string text = forwarder_metrics_text(m);
  INFO(text);
  CHECK(text.find("# TYPE zmqkit_forwarder_stored_total counter") != std::string::npos);
  CHECK(value(text, "zmqkit_forwarder_stored_total") == 3);
  CHECK(value(text, "zmqkit_forwarder_duplicates_total") == 1);
  CHECK(value(text, "zmqkit_forwarder_journal_next_fseq") == 4);
  CHECK(value(text, "zmqkit_forwarder_journal_bytes") == 1234);
  CHECK(value(text, "zmqkit_forwarder_fsync_seconds_count") == 1);
  CHECK(value(text, "zmqkit_forwarder_fsync_seconds_bucket{le=\"0.00025\"}") == 1);
  CHECK(value(text, "zmqkit_forwarder_fsync_seconds_bucket{le=\"0.0001\"}") == 0);

  CHECK(value(text, "zmqkit_forwarder_topic_events_total{topic=\"orders\"}") == 3);
  CHECK(value(text, "zmqkit_forwarder_topic_bytes_total{topic=\"orders\"}") == 300);
  CHECK(value(text, "zmqkit_forwarder_topic_consumed_total{topic=\"orders\"}") == 2);
  CHECK(text.find("# TYPE zmqkit_forwarder_topic_queued_seconds histogram") != std::string::npos);
  const std::string q = "zmqkit_forwarder_topic_queued_seconds";
  CHECK(value(text, q + "_count{topic=\"orders\"}") == 3);
  CHECK(value(text, q + "_sum{topic=\"orders\"}") == doctest::Approx(2.004).epsilon(0.001));
  CHECK(value(text, q + "_bucket{topic=\"orders\",le=\"0.0005\"}") == 0);
  CHECK(value(text, q + "_bucket{topic=\"orders\",le=\"0.0025\"}") == 1);
  CHECK(value(text, q + "_bucket{topic=\"orders\",le=\"0.005\"}") == 2);
  CHECK(value(text, q + "_bucket{topic=\"orders\",le=\"1\"}") == 2);
  CHECK(value(text, q + "_bucket{topic=\"orders\",le=\"2.5\"}") == 3);
  CHECK(value(text, q + "_bucket{topic=\"orders\",le=\"+Inf\"}") == 3);
  // Bytes that are not UTF-8 are spelled out; the label stays valid text.
  CHECK(value(text, "zmqkit_forwarder_topic_events_total{topic=\"bin\\\\xff\"}") == 1);

  CHECK(value(text, "zmqkit_forwarder_subscription_backlog{subscription=\"billing\"}") == 5);
  CHECK(value(text, "zmqkit_forwarder_subscription_acked_total{subscription=\"billing\"}") == 7);
  CHECK(value(text, "zmqkit_forwarder_subscription_delivered_total{subscription=\"billing\"}") == 9);
  // Unnamed subscriptions: one series, gauges summed, no counters.
  CHECK(value(text, "zmqkit_forwarder_subscription_backlog{subscription=\"(unnamed)\"}") == 3);
  CHECK(value(text, "zmqkit_forwarder_subscription_members{subscription=\"(unnamed)\"}") == 1);
  CHECK(value(text, "zmqkit_forwarder_subscription_acked_total{subscription=\"(unnamed)\"}") == -1);

  CHECK(value(text, "zmqkit_forwarder_link_backlog") == 4);
  CHECK(value(text, "zmqkit_forwarder_link_unacknowledged") == 2);
}

TEST_CASE("metrics_endpoint: SHALL leave out per-topic, subscription and link families that have no series") {
  const std::string text = forwarder_metrics_text(forwarder::metrics_snapshot{});
  CHECK(value(text, "zmqkit_forwarder_stored_total") == 0);
  CHECK(text.find("zmqkit_forwarder_topic_") == std::string::npos);
  CHECK(text.find("zmqkit_forwarder_subscription_") == std::string::npos);
  CHECK(text.find("zmqkit_forwarder_link_backlog") == std::string::npos);
}
