#include <zmqkit/metrics.hpp>

#include <zmqkit/json_text.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace zmqkit {

latency_histogram::latency_histogram(int sub_bits) : sub_bits_(sub_bits) {
  if (sub_bits < 1 || sub_bits > 10) throw std::invalid_argument("latency_histogram: sub_bits must be 1..10");
  buckets_.assign(static_cast<std::size_t>(64 - sub_bits + 1) << sub_bits, 0);
}

// Values below 2^sub_bits each have a bucket (block 0). Above, a value whose
// highest set bit is `top` falls in block top - sub_bits + 1, at the
// sub_bits bits below that bit.
std::size_t latency_histogram::index(std::uint64_t v) const noexcept {
  if (v < (std::uint64_t{1} << sub_bits_)) return static_cast<std::size_t>(v);
  const int top = 63 - __builtin_clzll(v);
  const int shift = top - sub_bits_;
  const std::uint64_t mask = (std::uint64_t{1} << sub_bits_) - 1;
  return (static_cast<std::size_t>(shift + 1) << sub_bits_) + static_cast<std::size_t>((v >> shift) & mask);
}

std::uint64_t latency_histogram::upper_edge(std::size_t i) const noexcept {
  const std::size_t per = std::size_t{1} << sub_bits_;
  const std::size_t block = i / per, offset = i % per;
  if (block == 0) return offset + 1;
  const int shift = static_cast<int>(block) - 1;
  if (shift + sub_bits_ >= 63) return UINT64_MAX;
  return static_cast<std::uint64_t>(per + offset + 1) << shift;
}

void latency_histogram::record(std::int64_t ns) {
  const auto v = static_cast<std::uint64_t>(std::max<std::int64_t>(ns, 0));
  ++buckets_[std::min(index(v), buckets_.size() - 1)];
  ++count_;
  sum_ns_ += static_cast<double>(v);
  max_ = std::max(max_, static_cast<std::int64_t>(v));
}

std::int64_t latency_histogram::percentile_ns(double p) const {
  if (count_ == 0) return 0;
  const auto wanted = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(std::ceil(std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(count_))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= wanted)
      return static_cast<std::int64_t>(std::min<std::uint64_t>(upper_edge(i) - 1, static_cast<std::uint64_t>(max_)));
  }
  return max_;
}

std::uint64_t latency_histogram::count_at_or_below(std::int64_t ns) const {
  if (ns < 0) return 0;
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < buckets_.size() && upper_edge(i) - 1 <= static_cast<std::uint64_t>(ns); ++i)
    n += buckets_[i];
  return n;
}

std::int64_t unix_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

latency_split split_latency(const message& m, std::int64_t now_ns) {
  latency_split s;
  const auto& pos = m.position();
  if (pos && pos->stored_ns != 0) {
    s.queued_ns = std::max<std::int64_t>(pos->stored_ns - m.time_ns(), 0);
    s.transit_ns = std::max<std::int64_t>(now_ns - pos->stored_ns, 0);
  } else {
    s.transit_ns = std::max<std::int64_t>(now_ns - m.time_ns(), 0);
  }
  return s;
}

event_metrics::event_metrics(std::size_t max_topics) : max_topics_(std::max<std::size_t>(max_topics, 1)) {}

topic_metrics& event_metrics::topic(std::string_view name) {
  if (auto it = topics_.find(name); it != topics_.end()) return it->second;
  if (topics_.size() >= max_topics_) name = overflow_topic;
  return topics_.try_emplace(std::string(name)).first->second;
}

topic_metrics& event_metrics::received(const message& m, std::int64_t now_ns) {
  auto& t = topic(m.topic());
  ++t.events;
  t.bytes += m.wire_size();
  const auto split = split_latency(m, now_ns);
  if (split.queued_ns) t.queued.record(*split.queued_ns);
  t.transit.record(split.transit_ns);
  return t;
}

void event_metrics::tick(clock::time_point now) {
  if (last_tick_ == clock::time_point{}) {
    last_tick_ = now;
    return;
  }
  const double secs = std::chrono::duration<double>(now - last_tick_).count();
  if (secs < 1.0) return;
  for (auto& [name, t] : topics_) {
    t.events_per_s = static_cast<double>(t.events - t.events_at_tick_) / secs;
    t.consumed_per_s = static_cast<double>(t.consumed - t.consumed_at_tick_) / secs;
    t.events_at_tick_ = t.events;
    t.consumed_at_tick_ = t.consumed;
  }
  last_tick_ = now;
}

namespace {

double ms(std::int64_t ns) { return static_cast<double>(ns) / 1e6; }

std::string latency_text(const char* what, const latency_histogram& h) {
  if (h.count() == 0) return "";
  char b[128];
  std::snprintf(b, sizeof b, ", %s p50 %.3f p99 %.3f ms", what, ms(h.percentile_ns(50)),
                ms(h.percentile_ns(99)));
  return b;
}

}  // namespace

std::string json_number(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3f", v);
  return b;
}

std::string latency_json(const latency_histogram& h) {
  return "{\"count\":" + std::to_string(h.count()) +
         ",\"p50\":" + json_number(ms(h.percentile_ns(50))) +
         ",\"p99\":" + json_number(ms(h.percentile_ns(99))) +
         ",\"max\":" + json_number(ms(h.max_ns())) + "}";
}

std::string event_metrics::to_json() const {
  std::string out = "{";
  bool first = true;
  for (const auto& [name, t] : topics_) {
    if (!first) out += ",";
    first = false;
    out += json_quote(name) + ":{\"events\":" + std::to_string(t.events) +
           ",\"bytes\":" + std::to_string(t.bytes) + ",\"events_per_s\":" + json_number(t.events_per_s) +
           ",\"consumed\":" + std::to_string(t.consumed) +
           ",\"consumed_per_s\":" + json_number(t.consumed_per_s) +
           ",\"failures\":" + std::to_string(t.failures) +
           ",\"dead_lettered\":" + std::to_string(t.dead_lettered) +
           ",\"duplicates\":" + std::to_string(t.duplicates) +
           ",\"latency_ms\":{\"queued\":" + latency_json(t.queued) +
           ",\"transit\":" + latency_json(t.transit) + ",\"handler\":" + latency_json(t.handler) + "}}";
  }
  return out + "}";
}

std::string event_metrics::to_text(double over_seconds) const {
  std::string out;
  for (const auto& [name, t] : topics_) {
    if (!out.empty()) out += '\n';
    out += "topic " + json_quote(name) + ": " + std::to_string(t.events) + " events";
    if (over_seconds > 0) {
      char rate[48];
      std::snprintf(rate, sizeof rate, " (%.1f/s)", double(t.events) / over_seconds);
      out += rate;
    }
    if (t.consumed != 0 || t.failures != 0) out += ", " + std::to_string(t.consumed) + " consumed";
    if (t.failures != 0) out += ", " + std::to_string(t.failures) + " failures";
    if (t.dead_lettered != 0) out += ", " + std::to_string(t.dead_lettered) + " dead-lettered";
    if (t.duplicates != 0) out += ", " + std::to_string(t.duplicates) + " duplicates";
    out += latency_text("queued", t.queued) + latency_text("transit", t.transit) +
           latency_text("handler", t.handler);
  }
  return out;
}


}  // namespace zmqkit
