// Each scrape asks the forwarder's actor for a snapshot (forwarder::metrics,
// thread-safe) and converts it, on the HTTP server's thread, to metric
// families: no metric object is updated per message, and nothing here
// touches the actor's own state. Latency histograms become Prometheus
// histograms with fixed "le" bounds, each bucket counting the values
// certainly at or below its bound (latency_histogram::count_at_or_below,
// 6 % resolution). prometheus-cpp writes the text; the HTTP side is
// http_server, which no slow or idle client can hold up.
#include "common/metrics_endpoint.hpp"

#include <arpa/inet.h>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/summary.h>
#include <prometheus/text_serializer.h>

#include <chrono>
#include <cstdio>
#include <deque>
#include <iterator>
#include <limits>
#include <memory>
#include <stdexcept>

#include "common/cli.hpp"
#include "common/http_server.hpp"
#include "common/json.hpp"

namespace zmqkit::tools {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr std::string_view prefix = "zmqkit_forwarder_";

// Upper bounds in seconds: 50 us (an fdatasync on a fast disk) to a minute
// (a consumer far behind).
constexpr double bounds_s[] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                               0.01,    0.025,  0.05,    0.1,    0.25,  0.5,    1,
                               2.5,     5,      10,      30,     60};

// Prometheus wants UTF-8 label values; a topic may be any bytes.
std::string label_value(const std::string& s) {
  if (is_utf8(s)) return s;
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out += ch;
    } else {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      out += b;
    }
  }
  return out;
}

struct families {
  std::deque<MetricFamily> out;  // add() hands out references that must stay put

  MetricFamily& add(std::string_view name, std::string help, MetricType type) {
    auto& f = out.emplace_back();
    f.name = std::string(prefix) + std::string(name);
    f.help = std::move(help);
    f.type = type;
    return f;
  }
  static ClientMetric& sample(MetricFamily& f, std::vector<ClientMetric::Label> labels) {
    auto& m = f.metric.emplace_back();
    m.label = std::move(labels);
    return m;
  }
  void counter(std::string_view name, std::string help, double v) {
    sample(add(name, std::move(help), MetricType::Counter), {}).counter.value = v;
  }
  void gauge(std::string_view name, std::string help, double v) {
    sample(add(name, std::move(help), MetricType::Gauge), {}).gauge.value = v;
  }
};

ClientMetric::Histogram histogram(const latency_histogram& h) {
  ClientMetric::Histogram out;
  out.sample_count = h.count();
  out.sample_sum = h.sum_seconds();
  for (const double b : bounds_s)
    out.bucket.push_back({h.count_at_or_below(static_cast<std::int64_t>(b * 1e9)), b});
  out.bucket.push_back({h.count(), std::numeric_limits<double>::infinity()});
  return out;
}

void journal_families(families& fs, const forwarder::metrics_snapshot& m) {
  const auto& j = m.journal_stats;
  fs.gauge("journal_bytes", "Bytes of the journal's segments on disk", double(j.bytes));
  fs.gauge("journal_segments", "Segment files in the journal", double(j.segments));
  fs.gauge("journal_first_fseq", "Oldest journal position kept", double(j.first_fseq));
  fs.gauge("journal_next_fseq", "Journal position the next message stored gets", double(j.next_fseq));
  fs.gauge("journal_full", "1 while the journal's disk is full and intake stopped", m.full ? 1 : 0);
  fs.gauge("paused", "1 while paused by PAUSE on the control socket", m.paused ? 1 : 0);
  fs.counter("journal_quarantined_segments_total", "Segments set aside as damaged since start",
             double(j.quarantined_segments));
  auto& sync = fs.add("fsync_seconds", "Time each fdatasync of the journal took", MetricType::Histogram);
  families::sample(sync, {}).histogram = histogram(m.sync_latency);
}

void counter_families(families& fs, const forwarder::counters& c) {
  const std::tuple<std::string_view, const char*, std::uint64_t> counters[] = {
      {"stored_total", "Messages stored in the journal", c.stored},
      {"duplicates_total", "Messages dropped as already stored (same sender and seq)", c.duplicates},
      {"refused_total", "Messages refused: a gap before them in their sender's sequence", c.refused},
      {"nacked_full_total", "Messages refused with NACK FULL: the journal's disk was full", c.nacked_full},
      {"too_big_total", "Messages refused with NACK TOO_BIG", c.too_big},
      {"bad_frames_total", "Malformed messages received and dropped", c.bad_frames},
      {"live_sent_total", "Messages sent to plain subscribers (live)", c.live_sent},
      {"replay_sent_total", "Messages sent to durable subscriptions, redeliveries included", c.replay_sent},
      {"redelivered_total", "Messages sent again to a durable subscription", c.redelivered},
      {"replay_acked_total", "Acknowledgements from durable subscriptions", c.replay_acked},
      {"link_sent_total", "Messages sent to the next forwarder (forward-to)", c.link_sent},
      {"link_acked_total", "Messages the next forwarder acknowledged", c.link_acked},
      {"link_rewinds_total", "Times the forward-to link went back to resend", c.link_rewinds},
      {"link_dropped_total", "Messages the next forwarder refused for good, skipped", c.link_dropped},
      {"damaged_cursors_total", "Cursor files found damaged and set aside (NAME.corrupt)",
       c.damaged_cursors}};
  for (const auto& [name, help, v] : counters) fs.counter(name, help, double(v));
}

void topic_families(families& fs, const event_metrics& topics) {
  auto& events = fs.add("topic_events_total", "Messages stored, per topic", MetricType::Counter);
  auto& bytes = fs.add("topic_bytes_total", "Topic and envelope bytes stored, per topic", MetricType::Counter);
  auto& consumed = fs.add("topic_consumed_total", "Messages acknowledged by a durable subscription, per topic",
                          MetricType::Counter);
  auto& dups = fs.add("topic_duplicates_total", "Duplicates dropped, per topic", MetricType::Counter);
  auto& queued = fs.add("topic_queued_seconds",
                        "From the producer's envelope time to stored here (outbox and the hop)",
                        MetricType::Histogram);
  auto& transit = fs.add("topic_transit_seconds", "From stored here to sent to a subscriber",
                         MetricType::Histogram);
  for (const auto& [name, t] : topics.topics()) {
    const std::vector<ClientMetric::Label> l{{"topic", label_value(name)}};
    families::sample(events, l).counter.value = double(t.events);
    families::sample(bytes, l).counter.value = double(t.bytes);
    families::sample(consumed, l).counter.value = double(t.consumed);
    families::sample(dups, l).counter.value = double(t.duplicates);
    families::sample(queued, l).histogram = histogram(t.queued);
    families::sample(transit, l).histogram = histogram(t.transit);
  }
}

// Named subscriptions each have their series. Unnamed ones (a replay that
// ends with its subscriber) come and go: their gauges are summed under
// "(unnamed)", which no name can be, and their counters left out, since a
// sum that drops when one leaves would read as a counter reset.
void subscription_families(families& fs, const std::vector<forwarder::metrics_snapshot::subscription>& subs) {
  auto& backlog = fs.add("subscription_backlog", "Journal head minus the subscription's position",
                         MetricType::Gauge);
  auto& pending = fs.add("subscription_pending", "Messages sent and not acknowledged yet", MetricType::Gauge);
  auto& members = fs.add("subscription_members", "Subscribers sharing the subscription", MetricType::Gauge);
  auto& position = fs.add("subscription_position", "First journal position not acknowledged",
                          MetricType::Gauge);
  auto& delivered = fs.add("subscription_delivered_total", "Messages sent, redeliveries included",
                           MetricType::Counter);
  auto& acked = fs.add("subscription_acked_total", "Messages acknowledged", MetricType::Counter);
  forwarder::metrics_snapshot::subscription unnamed;
  bool any_unnamed = false;
  for (const auto& s : subs) {
    if (s.name.empty()) {
      any_unnamed = true;
      unnamed.backlog += s.backlog;
      unnamed.pending += s.pending;
      unnamed.members += s.members;
      continue;
    }
    const std::vector<ClientMetric::Label> l{{"subscription", s.name}};
    families::sample(backlog, l).gauge.value = double(s.backlog);
    families::sample(pending, l).gauge.value = double(s.pending);
    families::sample(members, l).gauge.value = double(s.members);
    families::sample(position, l).gauge.value = double(s.position);
    families::sample(delivered, l).counter.value = double(s.delivered);
    families::sample(acked, l).counter.value = double(s.acked);
  }
  if (any_unnamed) {
    const std::vector<ClientMetric::Label> l{{"subscription", "(unnamed)"}};
    families::sample(backlog, l).gauge.value = double(unnamed.backlog);
    families::sample(pending, l).gauge.value = double(unnamed.pending);
    families::sample(members, l).gauge.value = double(unnamed.members);
  }
}

std::vector<MetricFamily> forwarder_families(const forwarder::metrics_snapshot& m) {
  families fs;
  counter_families(fs, m.counts);
  journal_families(fs, m);
  topic_families(fs, m.topics);
  subscription_families(fs, m.subscriptions);
  if (m.forward_to) {
    fs.gauge("link_backlog", "Journal head minus what the next forwarder acknowledged",
             double(m.forward_to->backlog));
    fs.gauge("link_unacknowledged", "Messages sent to the next forwarder, not acknowledged yet",
             double(m.forward_to->unacknowledged));
    fs.gauge("link_position", "First journal position the next forwarder has not acknowledged",
             double(m.forward_to->position));
  }
  // A family with no sample (no topic yet) would still print its HELP and
  // TYPE lines; leave it out.
  std::vector<MetricFamily> out;
  for (auto& f : fs.out)
    if (!f.metric.empty()) out.push_back(std::move(f));
  return out;
}

}  // namespace

std::string parse_metrics_address(const std::string& text) {
  const auto bad = [&](const std::string& why) {
    return usage_error("--metrics '" + text + "': " + why);
  };
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) throw bad("use HOST:PORT, e.g. 127.0.0.1:9464 or *:0");
  const std::string host = text.substr(0, colon), port = text.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) > 65535)
    throw bad("the port must be a number from 0 to 65535 (0: any free port)");
  if (host == "*") return port;
  unsigned char addr[16];
  if (host.size() > 2 && host.front() == '[' && host.back() == ']' &&
      ::inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), addr) == 1)
    return host + ":" + port;
  if (::inet_pton(AF_INET, host.c_str(), addr) == 1) return host + ":" + port;
  throw bad("the host must be an IPv4 address, [an IPv6 address] or *, not a name");
}

std::string forwarder_metrics_text(const forwarder::metrics_snapshot& m) {
  return prometheus::TextSerializer().Serialize(forwarder_families(m));
}

// The exposer_* families are the ones prometheus-cpp's Exposer kept about
// itself (same names, help and quantiles), so a scrape reads as before.
struct metrics_endpoint::impl {
  std::string host;
  source from;
  prometheus::Registry registry;
  prometheus::Counter& bytes = prometheus::BuildCounter()
                                   .Name("exposer_transferred_bytes_total")
                                   .Help("Transferred bytes to metrics services")
                                   .Register(registry)
                                   .Add({});
  prometheus::Counter& scrapes = prometheus::BuildCounter()
                                     .Name("exposer_scrapes_total")
                                     .Help("Number of times metrics were scraped")
                                     .Register(registry)
                                     .Add({});
  prometheus::Summary& latencies = prometheus::BuildSummary()
                                       .Name("exposer_request_latencies")
                                       .Help("Latencies of serving scrape requests, in microseconds")
                                       .Register(registry)
                                       .Add({}, prometheus::Summary::Quantiles{
                                                    {0.5, 0.05}, {0.9, 0.01}, {0.99, 0.001}});
  std::unique_ptr<http_server> http;

  std::string scrape() {
    const auto start = std::chrono::steady_clock::now();
    auto families = registry.Collect();
    if (const auto m = from()) {
      auto ours = forwarder_families(*m);
      families.insert(families.end(), std::make_move_iterator(ours.begin()), std::make_move_iterator(ours.end()));
    }
    auto text = prometheus::TextSerializer().Serialize(families);
    latencies.Observe(static_cast<double>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count()));
    bytes.Increment(static_cast<double>(text.size()));
    scrapes.Increment();
    return text;
  }
};

metrics_endpoint::metrics_endpoint(const std::string& address, source from) : p_(std::make_unique<impl>()) {
  const auto colon = address.rfind(':');
  p_->host = colon == std::string::npos ? "0.0.0.0" : address.substr(0, colon);
  p_->from = std::move(from);
  try {
    p_->http = std::make_unique<http_server>(address, "/metrics", "text/plain; version=0.0.4; charset=utf-8",
                                             [p = p_.get()] { return p->scrape(); });
  } catch (const std::runtime_error& e) {
    throw std::runtime_error("--metrics " + address + ": cannot listen: " + e.what());
  }
}

metrics_endpoint::~metrics_endpoint() = default;

std::string metrics_endpoint::url() const {
  return "http://" + p_->host + ":" + std::to_string(p_->http->port()) + "/metrics";
}

}  // namespace zmqkit::tools
