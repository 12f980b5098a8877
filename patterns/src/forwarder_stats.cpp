// The STATS document, written from a snapshot of the actor's figures. Its
// fields are documented in docs/protocol.md ("Control") and
// docs/metrics.md; scripts and tests read them, so existing ones keep their
// names and formats and new ones are only ever added.
#include "forwarder_parts.hpp"

#include <zmqkit/json_text.hpp>

namespace zmqkit::detail {

namespace {

std::string journal_json(const forwarder::metrics_snapshot& m) {
  const auto& st = m.journal_stats;
  const double mean_sync_us =
      st.syncs ? std::chrono::duration<double, std::micro>(st.sync_time).count() / st.syncs : 0.0;
  return "{\"directory\":" + json_quote(m.journal_dir) + ",\"first_fseq\":" + std::to_string(st.first_fseq) +
         ",\"next_fseq\":" + std::to_string(st.next_fseq) + ",\"bytes\":" + std::to_string(st.bytes) +
         ",\"segments\":" + std::to_string(st.segments) + ",\"fsync\":" + json_quote(m.fsync) +
         ",\"syncs\":" + std::to_string(st.syncs) + ",\"mean_sync_us\":" + std::to_string(mean_sync_us) +
         ",\"quarantined_segments\":" + std::to_string(st.quarantined_segments) +
         ",\"full\":" + (m.full ? "true" : "false") + ",\"sync_ms\":" + latency_json(m.sync_latency) + "}";
}

std::string subscriptions_json(const forwarder::metrics_snapshot& m) {
  std::string out = "[";
  for (const auto& s : m.subscriptions) {
    if (out.size() > 1) out += ",";
    out += "{\"name\":" + json_quote(s.name) + ",\"members\":" + std::to_string(s.members) +
           ",\"position\":" + std::to_string(s.position) + ",\"pending\":" + std::to_string(s.pending) +
           ",\"backlog\":" + std::to_string(s.backlog) + ",\"delivered\":" + std::to_string(s.delivered) +
           ",\"acked\":" + std::to_string(s.acked) + ",\"acked_per_s\":" + json_number(s.acked_per_s) + "}";
  }
  return out + "]";
}

std::string link_json(const std::optional<forwarder::metrics_snapshot::link>& l) {
  if (!l) return "null";
  return "{\"position\":" + std::to_string(l->position) + ",\"unacknowledged\":" +
         std::to_string(l->unacknowledged) + ",\"backlog\":" + std::to_string(l->backlog) +
         ",\"acked_seq\":" + std::to_string(l->acked_seq) + "}";
}

}  // namespace

std::string stats_json(const forwarder::metrics_snapshot& m) {
  const auto& c = m.counts;
  const std::pair<const char*, std::uint64_t> counters[] = {
      {"stored", c.stored},         {"duplicates", c.duplicates},   {"refused", c.refused},
      {"nacked_full", c.nacked_full}, {"too_big", c.too_big},       {"bad_frames", c.bad_frames},
      {"live_sent", c.live_sent},   {"replay_sent", c.replay_sent}, {"replay_acked", c.replay_acked},
      {"redelivered", c.redelivered}, {"link_sent", c.link_sent},   {"link_acked", c.link_acked},
      {"link_rewinds", c.link_rewinds}, {"link_dropped", c.link_dropped},
      {"damaged_cursors", c.damaged_cursors}};
  std::string out = "{\"journal\":" + journal_json(m) + ",\"paused\":" + (m.paused ? "true" : "false");
  out += ",\"counters\":{";
  for (std::size_t i = 0; i < std::size(counters); ++i)
    out += std::string(i ? "," : "") + "\"" + counters[i].first + "\":" + std::to_string(counters[i].second);
  out += "},\"rates\":{\"stored_per_s\":" + json_number(m.stored_per_s) +
         ",\"delivered_per_s\":" + json_number(m.delivered_per_s) +
         ",\"acked_per_s\":" + json_number(m.acked_per_s) + "}";
  out += ",\"topics\":" + m.topics.to_json();
  out += ",\"subscriptions\":" + subscriptions_json(m);
  out += ",\"forward_to\":" + link_json(m.forward_to);
  out += ",\"damaged_cursors\":[";
  for (std::size_t i = 0; i < m.damaged_cursors.size(); ++i) {
    const auto& d = m.damaged_cursors[i];
    out += std::string(i ? "," : "") + "{\"file\":" + json_quote(d.file) + ",\"moved_to\":" +
           json_quote(d.moved_to) + ",\"problem\":" + json_quote(d.problem) + "}";
  }
  return out + "]}";
}

}  // namespace zmqkit::detail
