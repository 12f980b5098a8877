// The forward-to link acts as a reliable publisher toward another
// forwarder's intake, reading this journal from a saved position. Each
// message carries a key of the link's own: this journal's id and a count
// with no gaps, so the next hop can drop what it already stored even though
// the messages come from many producers; and the oldest seq not yet
// acknowledged, so the next hop never starts the count past a message lost
// on the way (docs/protocol.md, Intake). The count is tied to the journal:
// from a saved (fseq, seq) pair, reading the journal again gives every
// message the same seq it had before, which is what makes resending after a
// restart safe.
#include "forwarder_parts.hpp"

namespace zmqkit::detail {

namespace {
// Its position file (docs/journal.md): fseq and seq, little-endian uint64s.
constexpr std::string_view cursor = "link";
}  // namespace

socket_options forward_link::socket_settings(socket_options o, std::chrono::milliseconds heartbeat) {
  // Whatever the link has sent stays in the journal until the next hop
  // acknowledges it, and goes again after a restart: nothing in its queue
  // is worth waiting for at close (a next hop that is down held the stop
  // for the whole linger).
  o.linger = std::chrono::milliseconds(0);
  if (heartbeat.count() <= 0) return o;
  // The link notices a dead next hop in 3 heartbeats: a PING unanswered
  // that long on an idle link, or, on a busy one, data the next hop's
  // kernel has not acknowledged that long (TCP_USER_TIMEOUT): libzmq sends
  // a PING only once what it queued before has gone into the socket, so
  // with the path cut and the send buffer full, no PING would ever go.
  const auto silence = 3 * heartbeat;
  o.heartbeat_interval = heartbeat;
  o.heartbeat_timeout = silence;
  o.on_created = [silence, theirs = std::move(o.on_created)](zmq::socket_t& s) {
    s.set(zmq::sockopt::tcp_maxrt, static_cast<int>(silence.count()));
    s.set(zmq::sockopt::connect_timeout, static_cast<int>(silence.count()));
    if (theirs) theirs(s);
  };
  return o;
}

forward_link::forward_link(forwarder_context& ctx, zmq::socket_t& socket, std::size_t window,
                           std::chrono::milliseconds resend)
    : ctx_(ctx),
      socket_(socket),
      window_(window ? window : 1),
      resend_(resend),
      reader_(ctx.j.read_from(ctx.j.first_fseq())),
      last_progress_(clock::now()) {
  if (const auto v = ctx_.cursors.load(cursor)) {
    if (v->size() != 16) throw decode_error("cursors/link", "not a link position");
    saved_ = {protocol::get_u64_le(v->data()), protocol::get_u64_le(v->data() + 8)};
    rewind(saved_.first, saved_.second);
  } else {
    saved_ = {reader_.position(), 1};
  }
  acked_seq_ = next_seq_ - 1;
}

void forward_link::rewind(std::uint64_t fseq, std::uint64_t seq) {
  reader_ = ctx_.j.read_from(fseq);
  next_seq_ = seq;
  inflight_.clear();
  last_progress_ = clock::now();
}

// The next hop's answers, as any intake gives them; those not naming this
// journal are counted as bad frames.
void forward_link::on_readable() {
  const auto ours = protocol::sender_bytes(ctx_.journal_id);
  bool truncated = false;
  for (int i = 0; i < 4096 && protocol::receive_frames(socket_, frames_, &truncated, 6); ++i) {
    ctx_.c.back_in++;
    for (const auto& f : frames_) ctx_.c.back_in_bytes += f.size();
    const auto ack = truncated ? std::nullopt : protocol::decode_ack(frames_);
    const auto nack = truncated || ack ? std::nullopt : protocol::decode_nack(frames_);
    if (ack && ack->sender == ours) {
      if (ack->seq <= acked_seq_) continue;
      acked_seq_ = ack->seq;
      while (!inflight_.empty() && inflight_.front().first <= ack->seq) {
        inflight_.pop_front();
        ctx_.c.link_acked++;
      }
      last_progress_ = clock::now();
    } else if (nack && nack->sender == ours) {
      if (nack->reason == protocol::reason::full) continue;  // the next hop's disk is full: resend later
      // It can never be stored there: skip it, and give its seq to the next
      // message, since the next hop refuses anything after a gap.
      for (const auto& [s, f] : inflight_) {
        if (s != nack->seq) continue;
        ctx_.log("forward-to: message " + std::to_string(f) + " refused by the next hop (" +
                 std::string(nack->reason) + "), skipped");
        ctx_.c.link_dropped++;
        rewind(f + 1, s);
        break;
      }
    } else {
      ctx_.c.bad_frames++;
    }
  }
}

bool forward_link::pump(std::size_t budget) {
  while (budget > 0 && inflight_.size() < window_) {
    const std::uint64_t at = reader_.position();
    const auto rec = reader_.next();
    if (!rec) return false;
    // With the oldest unacknowledged seq, so that a next hop that lost what
    // was in flight (killed before storing it) stores nothing of this link
    // until that oldest one comes again.
    const protocol::pub_key key{{ctx_.journal_id, next_seq_},
                                inflight_.empty() ? next_seq_ : inflight_.front().first};
    auto m = protocol::encode_pub(rec->topic, zmq::message_t(rec->envelope.data(), rec->envelope.size()), key);
    const auto bytes = m.bytes();
    if (!protocol::send_frames(socket_, m)) {
      // The socket's queue is full (the next hop is slow or down): read it
      // again later.
      reader_ = ctx_.j.read_from(at);
      return false;
    }
    if (inflight_.empty()) last_progress_ = clock::now();
    inflight_.emplace_back(next_seq_++, rec->fseq);
    ctx_.c.link_sent++;
    ctx_.c.back_out++;
    ctx_.c.back_out_bytes += bytes - protocol::command::pub.size();  // counted without the command
    budget--;
  }
  return inflight_.size() < window_;
}

void forward_link::tick(clock::time_point now) {
  if (inflight_.empty() || now - last_progress_ < resend_) return;
  // No acknowledgement for a while: the connection may have dropped what it
  // carried. Go back to the first unacknowledged message.
  const auto [seq, fseq] = inflight_.front();
  ctx_.c.link_rewinds++;
  rewind(fseq, seq);
}

void forward_link::save_position() {
  const std::pair<std::uint64_t, std::uint64_t> pos =
      inflight_.empty() ? std::pair{reader_.position(), next_seq_}
                        : std::pair{inflight_.front().second, inflight_.front().first};
  if (pos == saved_) return;
  char b[16];
  protocol::put_u64_le(b, pos.first);
  protocol::put_u64_le(b + 8, pos.second);
  if (ctx_.try_save([&] { ctx_.cursors.save(cursor, std::string_view(b, 16)); })) saved_ = pos;
}

forwarder::metrics_snapshot::link forward_link::figures() const {
  const std::uint64_t head = ctx_.j.committed_fseq() + 1;
  forwarder::metrics_snapshot::link l;
  l.position = inflight_.empty() ? reader_.position() : inflight_.front().second;
  l.unacknowledged = inflight_.size();
  l.backlog = head > l.position ? head - l.position : 0;
  l.acked_seq = acked_seq_;
  return l;
}

}  // namespace zmqkit::detail
