// reliable_publisher semantics. The forwarder files each message under a
// key (sender, seq), by default the envelope's (producer_id, seq), stores
// only the next seq of each sender, and acknowledges cumulatively. So the
// outbox is resent oldest first, and two cases need care:
//
// - A sender's first message may carry any seq. Were message 1 lost with a
//   dropped connection and message 2 the first to arrive, 2 would become the
//   baseline and 1, resent, a "duplicate": lost, yet acknowledged. So a key
//   stream sends only its first message until the forwarder acknowledges it.
// - A message the forwarder refuses for good (TOO_BIG, BAD_FRAME) leaves a
//   hole: everything after it in the same key stream would be refused as
//   ahead of a gap, forever. Those messages move to a fresh key stream (a
//   random sender id, seqs from 1, sent in a fourth "key" frame); envelopes
//   are unchanged, so receivers see exactly one message missing. A stale
//   ACK or NACK for the old stream then matches nothing.
#include <zmqkit/reliable_publisher.hpp>

#include <algorithm>
#include <stdexcept>

#include <zmqkit/detail/zmq_error.hpp>
#include <zmqkit/msgpack_reader.hpp>

#include "forwarder_protocol.hpp"

namespace zmqkit {
namespace {

namespace reason = protocol::reason;

constexpr std::chrono::milliseconds first_backoff{100};
// publish() reads replies and runs its timers every this many messages, or
// when this long has passed since it last did: often enough to keep the
// outbox short, rarely enough to cost nothing in a burst.
constexpr unsigned read_every = 64;
constexpr std::chrono::milliseconds read_interval{5};

std::string_view view(const producer_id& id) noexcept { return protocol::sender_bytes(id); }

}  // namespace

reliable_publisher::reliable_publisher(zmq::context_t& context, options opts)
    : opts_(std::move(opts)),
      socket_(detail::translate("create DEALER socket",
                                [&] { return zmq::socket_t(context, zmq::socket_type::dealer); })),
      key_sender_(writer_.producer()),
      backoff_(first_backoff) {
  if (opts_.max_outstanding == 0)
    throw std::invalid_argument("reliable_publisher: max_outstanding must be at least 1");
  if (opts_.resend_interval.count() <= 0)
    throw std::invalid_argument("reliable_publisher: resend_interval must be positive");
  apply_socket_options(socket_, opts_.socket, zmq::socket_type::dealer);
  endpoints_ = attach(socket_, opts_.endpoints, opts_.socket.curve);
}

reliable_publisher::~reliable_publisher() {
  if (heard_ || socket_.handle() == nullptr) return;
  try {
    socket_.set(zmq::sockopt::linger, 0);
  } catch (...) {
    // Closing anyway, within the linger.
  }
}

bool reliable_publisher::enqueue(std::string_view topic, zmq::message_t body) {
  const auto max_size = static_cast<std::size_t>(opts_.socket.max_message_size);
  if (topic.size() > max_topic_size || body.size() > max_size) {
    // The forwarder would NACK it, or drop the connection at its
    // MAXMSGSIZE and see it again after every reconnect. Refused here
    // before it is numbered, so receivers see no gap.
    ++stats_.rejected;
    if (opts_.on_rejected) opts_.on_rejected({std::string(reason::too_big), 0, std::string(topic)});
    return false;
  }
  if (++since_read_ >= read_every || outbox_.size() >= opts_.max_outstanding ||
      clock::now() - last_read_ >= read_interval)
    poll();
  if (outbox_.size() >= opts_.max_outstanding) {
    const bool bounded = opts_.send_timeout.count() >= 0;
    const auto deadline = bounded ? clock::now() + opts_.send_timeout : clock::time_point::max();
    while (outbox_.size() >= opts_.max_outstanding) {
      if (clock::now() >= deadline) {
        ++stats_.timeouts;
        return false;
      }
      wait_until(deadline);
    }
  }
  writer_.commit();
  if (outbox_.empty()) last_progress_ = clock::now();
  outbox_.push_back({std::string(topic), std::move(body), writer_.last_seq(), key_sender_,
                     ++key_seq_});
  pump();
  return true;
}

std::size_t reliable_publisher::poll() {
  since_read_ = 0;
  last_read_ = clock::now();
  const auto acked = read_replies();
  run_timers(clock::now());
  pump();
  return acked;
}

bool reliable_publisher::flush(std::chrono::milliseconds timeout) {
  const auto deadline =
      timeout.count() >= 0 ? clock::now() + timeout : clock::time_point::max();
  poll();
  while (!outbox_.empty()) {
    if (clock::now() >= deadline) return false;
    wait_until(deadline);
  }
  return true;
}

// Waits for a reply, for room to send, or for the next timer (a resend, the
// end of a FULL pause), but not past until; then does what is due.
void reliable_publisher::wait_until(clock::time_point until) {
  const auto now = clock::now();
  auto wake = until;
  if (!outbox_.empty())
    wake = std::min(wake, now < hold_until_ ? hold_until_ : last_progress_ + opts_.resend_interval);
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(wake - now);
  const long ms = wake == clock::time_point::max() ? -1 : std::max<long>(0, left.count());
  zmq::pollitem_t item{socket_.handle(), 0,
                       static_cast<short>(ZMQ_POLLIN | (can_send(now) ? ZMQ_POLLOUT : 0)), 0};
  detail::translate("poll", [&] { return zmq::poll(&item, 1, std::chrono::milliseconds(ms)); });
  poll();
}

std::size_t reliable_publisher::read_replies() {
  std::size_t acked = 0;
  bool truncated = false;
  while (detail::translate("receive", [&] { return protocol::receive_frames(socket_, frames_, &truncated, 6); })) {
    heard_ = true;
    std::optional<protocol::intake_ack> a;
    std::optional<protocol::intake_nack> n;
    if (!truncated && (a = protocol::decode_ack(frames_))) {
      acked += on_ack(a->sender, a->seq);
    } else if (!truncated && (n = protocol::decode_nack(frames_))) {
      on_nack(n->reason, n->sender, n->seq);
    } else {
      ++stats_.decode_errors;  // not a reply the protocol knows: drop it
    }
  }
  return acked;
}

std::size_t reliable_publisher::on_ack(std::string_view sender, std::uint64_t seq) {
  const auto of = [&](const entry& e) { return view(e.sender) == sender; };
  // A stream's entries are contiguous and in key order; ACKs are cumulative.
  const auto first = std::find_if(outbox_.begin(), outbox_.end(), of);
  const bool ours = first != outbox_.end() || view(key_sender_) == sender;
  if (ours && seq > 0 &&
      std::none_of(confirmed_.begin(), confirmed_.end(),
                   [&](const producer_id& id) { return view(id) == sender; })) {
    producer_id id;
    std::copy(sender.begin(), sender.end(), id.begin());
    confirmed_.push_back(id);
  }
  auto last = first;
  while (last != outbox_.end() && of(*last) && last->key_seq <= seq) ++last;
  const auto n = static_cast<std::size_t>(last - first);
  if (n == 0) return 0;
  const auto at = static_cast<std::size_t>(first - outbox_.begin());
  outbox_.erase(first, last);
  if (next_ > at) next_ -= std::min(next_ - at, n);
  stats_.acked += n;
  progress(clock::now());
  return n;
}

void reliable_publisher::on_nack(std::string_view why, std::string_view sender, std::uint64_t seq) {
  ++stats_.nacked;
  const auto it = std::find_if(outbox_.begin(), outbox_.end(), [&](const entry& e) {
    return view(e.sender) == sender && e.key_seq == seq;
  });
  if (why == reason::too_big || why == reason::bad_frame) {
    if (it != outbox_.end()) {
      reject(static_cast<std::size_t>(it - outbox_.begin()), std::string(why));
    } else if (sender.empty()) {
      // The forwarder could not tell which message it was. It stores
      // nothing of ours past it, so once the resend interval passes without
      // progress it is the oldest outstanding one (see run_timers).
      unattributed_ = std::string(why);
    }
    return;
  }
  // FULL, or a reason this version does not know: not stored, try again later.
  if (it != outbox_.end() || sender.empty()) hold(clock::now());
}

void reliable_publisher::reject(std::size_t index, const std::string& reason) {
  entry gone = std::move(outbox_[index]);
  outbox_.erase(outbox_.begin() + static_cast<std::ptrdiff_t>(index));
  // What followed it in its key stream was refused as ahead of the hole it
  // leaves: give those messages a fresh stream and send them again.
  const producer_id fresh = make_producer_id();
  std::uint64_t k = 0;
  for (std::size_t i = index; i < outbox_.size(); ++i) {
    if (outbox_[i].sender != gone.sender) continue;
    outbox_[i].sender = fresh;
    outbox_[i].key_seq = ++k;
  }
  if (key_sender_ == gone.sender) {
    key_sender_ = fresh;
    key_seq_ = k;
  }
  // Streams with nothing left outstanding need no confirmation any more.
  confirmed_.erase(std::remove_if(confirmed_.begin(), confirmed_.end(),
                                  [&](const producer_id& id) {
                                    return id != key_sender_ &&
                                           std::none_of(outbox_.begin(), outbox_.end(),
                                                        [&](const entry& e) { return e.sender == id; });
                                  }),
                   confirmed_.end());
  next_ = std::min(next_, index);
  ++stats_.rejected;
  progress(clock::now());
  if (opts_.on_rejected) opts_.on_rejected({reason, gone.seq, std::move(gone.topic)});
}

void reliable_publisher::hold(clock::time_point now) {
  if (now < hold_until_) return;  // the rest of a burst of NACKs for one full disk
  hold_until_ = now + backoff_;
  backoff_ = std::min(backoff_ * 2, std::max(opts_.max_backoff, first_backoff));
  last_progress_ = hold_until_;
  next_ = 0;
}

void reliable_publisher::progress(clock::time_point now) {
  last_progress_ = now;
  backoff_ = first_backoff;
}

void reliable_publisher::run_timers(clock::time_point now) {
  if (outbox_.empty() || now < hold_until_ || now - last_progress_ < opts_.resend_interval) return;
  if (unattributed_) {
    const auto reason = *unattributed_;
    unattributed_.reset();
    reject(0, reason);
    if (outbox_.empty()) return;
  }
  next_ = 0;  // go back N: the forwarder drops what it has, takes what it lacks
  last_progress_ = now;
}

// Until the forwarder has acknowledged a key stream, only its first message
// goes out (the file comment says why).
bool reliable_publisher::may_send(const entry& e) const {
  return e.key_seq == 1 || std::find(confirmed_.begin(), confirmed_.end(), e.sender) != confirmed_.end();
}

bool reliable_publisher::can_send(clock::time_point now) const {
  return now >= hold_until_ && next_ < outbox_.size() && may_send(outbox_[next_]);
}

void reliable_publisher::pump() {
  if (!can_send(clock::now())) return;
  while (next_ < outbox_.size() && may_send(outbox_[next_])) {
    auto& e = outbox_[next_];
    if (!send_entry(e)) return;  // the socket's queue is full
    ++(e.sent_before ? stats_.resent : stats_.sent);
    e.sent_before = true;
    ++next_;
  }
}

bool reliable_publisher::send_entry(entry& e) {
  const bool keyed = e.sender != writer_.producer() || e.key_seq != e.seq;
  std::optional<protocol::pub_key> key;
  if (keyed) key = protocol::pub_key{{e.sender, e.key_seq}};
  return detail::translate("send", [&] {
    zmq::message_t body;
    body.copy(e.body);  // shares the buffer, no byte copy
    return protocol::send_frames(socket_, protocol::encode_pub(e.topic, std::move(body), key));
  });
}

}  // namespace zmqkit
