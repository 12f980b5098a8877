// The forwarder's intake: what reliable publishers (the intake ROUTER) and
// plain publishers (the frontend XSUB) send becomes journal records. Each
// message is checked against the duplicate table, keyed by (sender, seq),
// and appended; once the actor commits the batch (one fdatasync with the
// always policy: the group commit), what reached the journal is
// acknowledged and sent live, and the rest is undone and NACKed FULL. So
// nothing is acknowledged or delivered that is not stored.
//
// The duplicate table is rebuilt on start from its checkpoint (a cursor
// file) and the records after it, and checkpointed whenever a segment
// fills, so a start reads at most about a segment.
#include <sys/statvfs.h>

#include <algorithm>

#include "forwarder_parts.hpp"

namespace zmqkit::detail {

namespace reason = protocol::reason;

intake_hub::intake_hub(forwarder_context& ctx, std::optional<zmq::socket_t>& intake,
                       std::optional<zmq::socket_t>& frontend, std::optional<zmq::socket_t>& live,
                       std::size_t max_batch, std::size_t max_message_size)
    : ctx_(ctx),
      intake_(intake),
      frontend_(frontend),
      live_(live),
      max_batch_(max_batch),
      max_message_size_(max_message_size) {
  rebuild_producers();
  checkpoint_base_ = ctx_.j.segment_base();
}

// The duplicate table: the saved copy, then every record after it.
void intake_hub::rebuild_producers() {
  std::uint64_t from = ctx_.j.first_fseq();
  try {
    if (const auto blob = ctx_.cursors.load("producers")) from = producers_.load(*blob) + 1;
  } catch (const decode_error& e) {
    ctx_.damaged_cursor("producers", e, "rebuilding the duplicate table from the whole journal");
  }
  auto r = ctx_.j.read_from(from);
  while (auto rec = r.next()) {
    producer_table::sender_id id;
    std::uint64_t seq;
    if (rec->key) {
      id = rec->key->sender;
      seq = rec->key->seq;
    } else {
      try {
        auto m = message::decode(zmq::message_t(rec->topic.data(), rec->topic.size()),
                                 zmq::message_t(rec->envelope.data(), rec->envelope.size()),
                                 SIZE_MAX);
        id = m.producer();
        seq = m.seq();
      } catch (const decode_error&) {
        continue;  // stored from a frontend that was checked: cannot happen, but never fatal
      }
    }
    if (seq > producers_.high(id)) producers_.record(id, seq);
  }
}

// On a full disk the older copy stays, and this is tried again after the
// next batch: a restart meanwhile reads a little more of the journal.
void intake_hub::save_producers() {
  if (ctx_.try_save([&] { ctx_.cursors.save("producers", producers_.save(ctx_.j.committed_fseq())); }))
    checkpoint_base_ = ctx_.j.segment_base();
}

void intake_hub::stop_full(const journal_full& e) {
  if (!full_) ctx_.log(std::string(e.what()) + "; intake stopped until space returns");
  full_ = true;
}

// Intake resumes once the journal's filesystem has room for a few batches
// again; if the guess is wrong the next commit just finds the disk full again.
void intake_hub::resume_if_space() {
  struct statvfs sv {};
  if (::statvfs(ctx_.j.directory().c_str(), &sv) != 0) return;
  if (static_cast<std::uint64_t>(sv.f_bavail) * sv.f_frsize < (256u << 10)) return;
  full_ = false;
  ctx_.log("journal: space available again, intake resumed");
}

void intake_hub::read(bool intake_ready, bool frontend_ready) {
  try {
    if (intake_ready) read_intake();
    if (frontend_ready) read_frontend();
  } catch (const journal_full& e) {
    stop_full(e);
  }
}

void intake_hub::nack(std::string_view identity, std::string_view why,
                      const producer_table::sender_id* sender, std::uint64_t seq) {
  auto m = protocol::encode_nack(why, sender ? protocol::sender_bytes(*sender) : "", seq);
  const auto bytes = m.bytes();
  if (protocol::send_frames(*intake_, identity, m)) {
    ctx_.c.front_out++;
    ctx_.c.front_out_bytes += bytes;
  }
}

void intake_hub::take(item it, std::string_view topic, std::string_view envelope, bool strict) {
  switch (producers_.check(it.sender, it.seq, strict, it.first)) {
    case producer_table::verdict::duplicate:
      it.what = item::state::duplicate;
      ctx_.c.duplicates++;
      ctx_.topics.topic(topic).duplicates++;
      break;
    case producer_table::verdict::ahead:
      it.what = item::state::ahead;
      ctx_.c.refused++;
      break;
    case producer_table::verdict::store: {
      std::optional<record_key> key;
      if (it.keyed) key = record_key{it.sender, it.seq};
      it.stored_ns = unix_now_ns();
      it.fseq = ctx_.j.append(it.stored_ns, topic, envelope, key);  // journal_full: it.what stays failed
      it.what = item::state::stored;
      it.previous_high = producers_.record(it.sender, it.seq);
      break;
    }
  }
  batch_.push_back(std::move(it));
}

void intake_hub::read_intake() {
  auto& c = ctx_.c;
  bool truncated = false;
  while (batch_.size() < max_batch_ && protocol::receive_frames(*intake_, frames_, &truncated, 5, &identity_)) {
    c.front_in++;
    c.front_in_bytes += identity_.size();
    for (const auto& f : frames_) c.front_in_bytes += f.size();
    const auto identity = protocol::view(identity_);
    std::optional<protocol::pub> p;
    if (truncated || !(p = protocol::decode_pub(frames_))) {
      c.bad_frames++;
      nack(identity, reason::bad_frame, nullptr, 0);
      continue;
    }
    const record_key* key = p->key ? &p->key->key : nullptr;
    if (p->topic.size() > max_topic_size || p->envelope.size() > max_message_size_) {
      c.too_big++;
      nack(identity, reason::too_big, key ? &key->sender : nullptr, key ? key->seq : 0);
      continue;
    }
    item it;
    try {
      it.msg = message::decode(std::move(p->topic), std::move(p->envelope), SIZE_MAX);
    } catch (const decode_error&) {
      c.bad_frames++;
      nack(identity, reason::bad_frame, key ? &key->sender : nullptr, key ? key->seq : 0);
      continue;
    }
    it.identity = std::move(identity_);
    it.keyed = key != nullptr;
    it.sender = key ? key->sender : it.msg->producer();
    it.seq = key ? key->seq : it.msg->seq();
    it.first = p->key ? p->key->first : 0;
    const auto topic = it.msg->topic();
    const auto envelope = it.msg->envelope();
    take(std::move(it), topic, envelope, true);
  }
}

void intake_hub::read_frontend() {
  bool truncated = false;
  while (batch_.size() < max_batch_ && protocol::receive_frames(*frontend_, frames_, &truncated, 3)) {
    ctx_.c.front_in++;
    for (const auto& f : frames_) ctx_.c.front_in_bytes += f.size();
    // A plain publisher sends two frames; a forwarder's live output three.
    if (truncated || frames_.size() < 2) {
      ctx_.c.bad_frames++;
      continue;
    }
    item it;
    try {
      it.msg = message::decode(std::move(frames_[0]), std::move(frames_[1]), max_message_size_);
    } catch (const decode_error&) {
      ctx_.c.bad_frames++;
      continue;
    }
    it.sender = it.msg->producer();
    it.seq = it.msg->seq();
    const auto topic = it.msg->topic();
    const auto envelope = it.msg->envelope();
    take(std::move(it), topic, envelope, false);
  }
}

void intake_hub::commit() {
  if (batch_.empty()) return;
  std::uint64_t committed;
  try {
    committed = ctx_.j.commit();
  } catch (const journal_full& e) {
    committed = ctx_.j.committed_fseq();
    stop_full(e);
  }
  finish_batch(committed);
}

// Acknowledges and fans out what reached the journal; undoes and NACKs the
// rest (only after a full disk). Acknowledgements are cumulative: one per
// sender and connection, carrying the highest seq stored with no gap.
void intake_hub::finish_batch(std::uint64_t committed) {
  auto& c = ctx_.c;
  for (auto it = batch_.rbegin(); it != batch_.rend(); ++it)
    if (it->what == item::state::stored && it->fseq > committed) {
      producers_.restore(it->sender, it->previous_high);
      it->what = item::state::failed;
    }
  std::vector<std::pair<std::string, producer_table::sender_id>> acks;
  const std::int64_t now = unix_now_ns();
  for (auto& it : batch_) {
    const bool from_intake = it.identity.size() > 0;
    if (it.what == item::state::stored) {
      c.stored++;
      auto& t = ctx_.topics.topic(it.msg->topic());
      t.events++;
      t.bytes += it.msg->wire_size();
      t.queued.record(it.stored_ns - it.msg->time_ns());
      if (live_) {
        auto m = protocol::encode_live(it.msg->topic(), it.msg->envelope(),
                                       {ctx_.journal_id, it.fseq, it.stored_ns, committed});
        const auto bytes = m.bytes();
        if (protocol::send_frames(*live_, m)) {
          c.live_sent++;
          c.back_out++;
          c.back_out_bytes += bytes;
          t.transit.record(now - it.stored_ns);
        }
      }
    }
    if (!from_intake) continue;
    if (it.what == item::state::failed) {
      c.nacked_full++;
      nack(protocol::view(it.identity), reason::full, &it.sender, it.seq);
      continue;
    }
    std::pair<std::string, producer_table::sender_id> key{std::string(protocol::view(it.identity)), it.sender};
    if (std::find(acks.begin(), acks.end(), key) == acks.end()) acks.push_back(std::move(key));
  }
  for (const auto& [identity, sender] : acks) {
    const std::uint64_t high = producers_.high(sender);
    if (high == 0) continue;
    auto m = protocol::encode_ack(protocol::sender_bytes(sender), high);
    const auto bytes = m.bytes();
    if (protocol::send_frames(*intake_, identity, m)) {
      c.front_out++;
      c.front_out_bytes += bytes;
    }
  }
  batch_.clear();
  if (ctx_.j.segment_base() != checkpoint_base_) save_producers();
}

}  // namespace zmqkit::detail
