// Durable subscriptions. A subscription (a group) reads the journal with its
// own reader; each message goes to one member with credit and stays pending
// until that member acknowledges it. Pending messages whose member left,
// went silent, NACKed them or let ack_wait pass are sent again to whoever has
// credit. A named group's position is its ack floor (the lowest fseq not yet
// acknowledged), saved so that a restart of either side resumes there:
// delivery is at-least-once.
//
// Each message sent records its transit time (stored to sent) under its
// topic, and its acknowledgement counts it as consumed there: the pending
// entry keeps a pointer to the topic's figures (std::map nodes stay put),
// so an ACK costs no lookup.
#include <algorithm>

#include "forwarder_parts.hpp"

namespace zmqkit::detail {

namespace {

namespace reason = protocol::reason;

constexpr std::uint64_t max_credit = 1u << 20;

std::string cursor_name(const std::string& group) { return "sub." + group; }

}  // namespace

std::uint64_t replay_hub::group::floor() const {
  const std::uint64_t read = reader ? reader->position() : parked;
  return pending.empty() ? read : std::min(pending.begin()->first, read);
}

bool replay_hub::group::matches(std::string_view topic) const {
  if (prefixes.empty()) return true;
  return std::any_of(prefixes.begin(), prefixes.end(),
                     [&](const std::string& p) { return topic.substr(0, p.size()) == p; });
}

replay_hub::replay_hub(forwarder_context& ctx, zmq::socket_t& socket,
                       std::chrono::milliseconds ack_wait, std::chrono::milliseconds member_timeout)
    : ctx_(ctx), socket_(socket), ack_wait_(ack_wait), member_timeout_(member_timeout) {
  // Every stored position is checked at start, so that a damaged one is
  // reported now, not when its subscriber comes back.
  for (const auto& name : ctx_.cursors.names())
    if (name.compare(0, 4, "sub.") == 0) (void)stored_position(name.substr(4));
}

// A named subscription's stored position, nullopt when there is none. A
// damaged one counts as none (docs/journal.md, Cursor files): the
// subscription starts where its SUB asks, so with resume, the default, its
// acknowledged messages come again rather than any being skipped.
std::optional<std::uint64_t> replay_hub::stored_position(const std::string& name) {
  try {
    return ctx_.cursors.load_fseq(cursor_name(name));
  } catch (const decode_error& e) {
    ctx_.damaged_cursor(cursor_name(name), e,
                        "subscription " + name +
                            " has no stored position and starts where its next SUB asks");
    return std::nullopt;
  }
}

void replay_hub::error_reply(const std::string& id, std::string_view why) {
  try {
    (void)protocol::send_frames(socket_, id, protocol::encode_err(why));
  } catch (const zmq::error_t&) {
    // gone already (EHOSTUNREACH): nothing to tell
  }
}

void replay_hub::on_readable() {
  bool truncated = false;
  for (int i = 0; i < 4096 && protocol::receive_frames(socket_, frames_, &truncated, 7, &identity_); ++i) {
    ctx_.c.back_in++;
    ctx_.c.back_in_bytes += identity_.size();
    for (const auto& f : frames_) ctx_.c.back_in_bytes += f.size();
    if (truncated || frames_.empty()) {
      ctx_.c.bad_frames++;
      continue;
    }
    handle(std::string(protocol::view(identity_)), frames_);
  }
}

void replay_hub::handle(const std::string& id, const protocol::frames& frames) {
  const std::string_view cmd = protocol::command_of(frames);
  if (cmd == protocol::command::sub) {
    subscribe(id, frames);
    return;
  }
  auto m = members_.find(id);
  if (m == members_.end()) {
    if (cmd != protocol::command::bye) error_reply(id, reason::unknown);
    return;
  }
  m->second.last_seen = clock::now();
  group& g = groups_.at(m->second.group_key);
  if (protocol::decode_ping(frames)) return;
  if (protocol::decode_bye(frames)) {
    leave(id);
    return;
  }
  if (const auto n = protocol::decode_credit(frames)) {
    m->second.credit = std::min(max_credit, m->second.credit + *n);
  } else if (const auto fseq = protocol::decode_replay_ack(frames)) {
    if (auto p = g.pending.find(*fseq); p != g.pending.end()) {
      if (p->second.topic) p->second.topic->consumed++;
      g.pending.erase(p);
      g.resend.erase(*fseq);
      ctx_.c.replay_acked++;
      g.acked++;
    }
  } else if (const auto nacked = protocol::decode_replay_nack(frames)) {
    if (auto p = g.pending.find(*nacked); p != g.pending.end()) requeue(g, *nacked);
  } else {
    ctx_.c.bad_frames++;
  }
}

void replay_hub::subscribe(const std::string& id, const protocol::frames& frames) {
  auto decoded = protocol::decode_sub(frames);
  if (!decoded.sub) {
    if (decoded.refused == reason::bad_frame) ctx_.c.bad_frames++;
    return error_reply(id, decoded.refused);
  }
  const std::string& name = decoded.sub->name;
  const auto& start = decoded.sub->start;
  if (members_.count(id)) leave(id);

  const std::string key = name.empty() ? std::string(1, '\0') + id : name;
  auto [it, created] = groups_.try_emplace(key);
  group& g = it->second;
  if (created) {
    g.name = name;
    g.prefixes = std::move(decoded.sub->prefixes);
    std::optional<std::uint64_t> stored;
    if (!name.empty()) stored = stored_position(name);
    std::uint64_t from = 1;
    if (stored) {
      from = *stored;
    } else {
      using kind = replay_start::kind;
      switch (start.what) {
        case kind::first:
        case kind::resume: from = ctx_.j.first_fseq(); break;
        case kind::only_new: from = ctx_.j.committed_fseq() + 1; break;
        case kind::fseq: from = std::max<std::uint64_t>(start.fseq, 1); break;
        case kind::time:
          from = ctx_.j.fseq_at_time(
              std::chrono::duration_cast<std::chrono::nanoseconds>(start.time.time_since_epoch()).count());
          break;
      }
    }
    g.reader.emplace(ctx_.j.read_from(from));
    g.saved = stored.value_or(0);
  } else if (!g.reader) {
    g.reader.emplace(ctx_.j.read_from(g.parked));
  }
  g.members.push_back(id);
  members_[id] = member{key, 0, clock::now()};
}

void replay_hub::requeue(group& g, std::uint64_t fseq) {
  auto& p = g.pending[fseq];
  p.member.clear();
  g.resend.insert(fseq);
}

void replay_hub::leave(const std::string& id) {
  auto m = members_.find(id);
  if (m == members_.end()) return;
  const std::string key = m->second.group_key;
  members_.erase(m);
  auto git = groups_.find(key);
  if (git == groups_.end()) return;
  group& g = git->second;
  g.members.erase(std::remove(g.members.begin(), g.members.end(), id), g.members.end());
  for (auto& [fseq, p] : g.pending)
    if (p.member == id) requeue(g, fseq);
  if (!g.members.empty()) return;
  if (g.name.empty()) {
    groups_.erase(git);
    return;
  }
  // Nobody reads this subscription now: close its reader and keep only its
  // position. What was sent and not acknowledged lies at or after it, so
  // the next member gets it again.
  g.parked = g.floor();
  g.reader.reset();
  g.pending.clear();
  g.resend.clear();
}

std::optional<journal_record> replay_hub::read_at(std::uint64_t fseq) {
  if (!redo_ || redo_->position() > fseq) redo_.emplace(ctx_.j.read_from(fseq));
  while (auto rec = redo_->next()) {
    if (rec->fseq == fseq) return rec;
    if (rec->fseq > fseq) break;
  }
  redo_.reset();
  return std::nullopt;  // gone: removed by retention or quarantined
}

bool replay_hub::pump(std::size_t budget) {
  bool more = false;
  const std::int64_t now_ns = unix_now_ns();  // one clock read per pass is close enough
  for (auto& [key, g] : groups_)
    if (pump_group(g, budget, now_ns)) more = true;
  for (const auto& id : gone_) leave(id);
  more = more || !gone_.empty();
  gone_.clear();
  return more;
}

bool replay_hub::pump_group(group& g, std::size_t& budget, std::int64_t now_ns) {
  while (budget > 0) {
    // The next member with credit, round robin.
    member* to = nullptr;
    std::string to_id;
    for (std::size_t i = 0; i < g.members.size() && !to; ++i) {
      const auto& id = g.members[(g.next_member + i) % g.members.size()];
      auto& m = members_.at(id);
      if (m.credit > 0) {
        to = &m;
        to_id = id;
        g.next_member = (g.next_member + i + 1) % g.members.size();
      }
    }
    if (!to) return false;

    std::optional<journal_record> rec;
    bool again = false;
    while (!g.resend.empty() && !rec) {
      const std::uint64_t fseq = *g.resend.begin();
      rec = read_at(fseq);
      if (!rec) {  // no longer in the journal: nothing to wait for
        g.resend.erase(g.resend.begin());
        g.pending.erase(fseq);
      }
      again = true;
    }
    if (!rec) {
      again = false;
      while ((rec = g.reader->next()) && !g.matches(rec->topic)) {
      }
      if (!rec) return false;
    }
    auto m = protocol::encode_msg(rec->topic, rec->envelope,
                                  {ctx_.journal_id, rec->fseq, rec->time_ns, ctx_.j.committed_fseq()});
    const auto bytes = m.bytes() - protocol::command::msg.size();  // counted without the command
    bool sent = false;
    try {
      sent = protocol::send_frames(socket_, to_id, m);
    } catch (const zmq::error_t& e) {
      if (e.num() != EHOSTUNREACH) throw;
      gone_.push_back(to_id);  // disconnected: leaves once the groups are not being walked
      to->credit = 0;
    }
    if (!sent) {
      requeue(g, rec->fseq);
      if (gone_.empty()) return false;  // its queue is full: try again on a later pass
      continue;
    }
    ctx_.c.back_out++;
    ctx_.c.back_out_bytes += bytes;
    ctx_.c.replay_sent++;
    if (again) {
      ctx_.c.redelivered++;
      g.resend.erase(rec->fseq);
    }
    to->credit--;
    auto& topic = ctx_.topics.topic(rec->topic);
    topic.transit.record(now_ns - rec->time_ns);
    g.delivered++;
    g.pending[rec->fseq] = inflight{to_id, clock::now() + ack_wait_, &topic};
    budget--;
  }
  return true;
}

void replay_hub::tick(clock::time_point now) {
  std::vector<std::string> silent;
  for (const auto& [id, m] : members_)
    if (now - m.last_seen > member_timeout_) silent.push_back(id);
  for (const auto& id : silent) leave(id);
  for (auto& [key, g] : groups_)
    for (auto& [fseq, p] : g.pending)
      if (!p.member.empty() && now >= p.deadline) requeue(g, fseq);
}

void replay_hub::save_positions() {
  for (auto& entry : groups_) {
    group& g = entry.second;  // C++17 lambdas cannot capture a structured binding
    if (g.name.empty()) continue;
    const std::uint64_t f = g.floor();
    if (f == g.saved) continue;
    if (ctx_.try_save([&] { ctx_.cursors.save_fseq(cursor_name(g.name), f); })) g.saved = f;
  }
}

void replay_hub::update_rates(double seconds) {
  for (auto& [key, g] : groups_) g.acked_rate.update(g.acked, seconds);
}

std::vector<forwarder::metrics_snapshot::subscription> replay_hub::figures() const {
  std::vector<forwarder::metrics_snapshot::subscription> out;
  out.reserve(groups_.size());
  const std::uint64_t head = ctx_.j.committed_fseq() + 1;
  for (const auto& [key, g] : groups_) {
    auto& s = out.emplace_back();
    s.name = g.name;
    s.members = g.members.size();
    s.position = g.floor();
    s.pending = g.pending.size();
    s.backlog = head > s.position ? head - s.position : 0;
    s.delivered = g.delivered;
    s.acked = g.acked;
    s.acked_per_s = g.acked_rate.per_s;
  }
  return out;
}

}  // namespace zmqkit::detail
