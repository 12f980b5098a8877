// durable_subscriber semantics. The forwarder sends nothing without credit,
// so credit is granted again as messages are taken from the socket (once
// half the window is used), never when they are settled: settling is the
// caller's, and a caller that holds messages for a while must not stall the
// stream. The socket keeps one queue across reconnects (IMMEDIATE off, see
// docs/design-notes.md): commands made while the forwarder is down wait in
// it and go to the forwarder once it is back, and messages that arrived
// before a connection dropped are still read. Commands the socket does not
// take (its queue is full) wait here, in order, and a PING is skipped then.
//
// The forwarder answers "ERR UNKNOWN" to every command from a member it does
// not know, and a reconnect makes this subscriber such a member. It then
// subscribes again with "resume". Answers to commands sent before that SUB
// arrive after it; within one ping interval of a SUB they are ignored, so a
// burst of them re-subscribes once (a SUB that was lost is noticed by the
// next PING, later than that).
//
// A MSG whose position decodes but whose envelope does not is acknowledged
// after it is counted: it can never be decoded here, and left unsettled it
// would come back after every ack wait and pin a named subscription's
// position.
#include <zmqkit/durable_subscriber.hpp>

#include <algorithm>
#include <cerrno>
#include <stdexcept>

#include <zmqkit/cursor_store.hpp>
#include <zmqkit/detail/zmq_error.hpp>
#include <zmqkit/msgpack_reader.hpp>

#include "forwarder_protocol.hpp"

namespace zmqkit {
namespace {

namespace command = protocol::command;

// Bytes from the wire, made safe to put in a one-line message.
std::string printable(std::string_view s) {
  std::string out;
  for (const char c : s.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return s.size() > 64 ? out + "..." : out;
}

}  // namespace

std::string replay_start::to_wire() const { return protocol::encode_start(*this); }

bool durable_subscriber::valid_name(std::string_view name) noexcept {
  // The forwarder keeps a named subscription's position under its name, so
  // the name must be one its cursor store takes: not ".x", "x.tmp" or
  // "x.corrupt", which the forwarder would refuse with BAD_NAME.
  return name.empty() || (name.size() <= 128 && cursor_store::valid_name(name));
}

durable_subscriber::durable_subscriber(zmq::context_t& context, options opts)
    : opts_(std::move(opts)),
      socket_(detail::translate("create DEALER socket",
                                [&] { return zmq::socket_t(context, zmq::socket_type::dealer); })) {
  if (!valid_name(opts_.name))
    throw std::invalid_argument("subscription name '" + printable(opts_.name) +
                                "': use 1 to 128 of A-Z a-z 0-9 . _ -");
  if (opts_.window == 0) throw std::invalid_argument("durable_subscriber: window must be at least 1");
  if (opts_.ping_interval.count() <= 0)
    throw std::invalid_argument("durable_subscriber: ping_interval must be positive");
  (void)opts_.start.to_wire();  // a bad start fails here, not at the first re-subscribe
  apply_socket_options(socket_, opts_.socket, zmq::socket_type::dealer);
  endpoints_ = attach(socket_, opts_.endpoints, opts_.socket.curve);
  last_send_ = clock::now();
  subscribe(opts_.start);
}

durable_subscriber::~durable_subscriber() {
  try {
    // Never heard from the forwarder, and nothing from it waiting: no
    // message is owed an acknowledgement, so only our SUB and CREDIT are
    // queued. Waiting for a connection that never came would only delay
    // the close.
    zmq::pollitem_t readable{socket_.handle(), 0, ZMQ_POLLIN, 0};
    if (!heard_ && zmq::poll(&readable, 1, std::chrono::milliseconds(0)) == 0) {
      socket_.set(zmq::sockopt::linger, 0);
      return;
    }
    // Acknowledgements first, so BYE hands on only what is unsettled. The
    // socket may refuse them for a moment (a burst of ACKs reaches the HWM
    // before libzmq hears that its I/O thread sent the earlier ones), so
    // wait for room, up to the linger the socket would wait anyway.
    pending_.push_back(std::make_unique<protocol::outgoing>(protocol::encode_bye()));
    const auto deadline = clock::now() + opts_.socket.linger;
    flush_pending();
    while (!pending_.empty() && clock::now() < deadline) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now());
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLOUT, 0};
      (void)zmq::poll(&item, 1, left);
      flush_pending();
    }
  } catch (...) {
    // Closing anyway: the forwarder times the member out instead.
  }
}

void durable_subscriber::subscribe(replay_start start) {
  // Credit queued for an earlier membership does not carry over.
  pending_.erase(std::remove_if(pending_.begin(), pending_.end(),
                                [](const auto& c) { return (*c)[0] == command::sub || (*c)[0] == command::credit; }),
                 pending_.end());
  pending_.push_front(std::make_unique<protocol::outgoing>(protocol::encode_credit(opts_.window)));
  pending_.push_front(std::make_unique<protocol::outgoing>(protocol::encode_sub(opts_.name, opts_.prefixes, start)));
  credit_ = opts_.window;
  flush_pending();
}

void durable_subscriber::flush_pending() {
  while (!pending_.empty()) {
    auto& c = *pending_.front();
    const bool sub = c[0] == command::sub;  // before sending: that empties c
    if (!detail::translate("send", [&] { return protocol::send_frames(socket_, c); })) return;
    last_send_ = clock::now();
    if (sub) last_sub_ = last_send_;
    pending_.pop_front();
  }
}

void durable_subscriber::send_command(protocol::outgoing c) {
  pending_.push_back(std::make_unique<protocol::outgoing>(std::move(c)));
  flush_pending();
}

void durable_subscriber::ping_if_idle(clock::time_point now) {
  if (now - last_send_ < opts_.ping_interval) return;
  last_send_ = now;  // tried: with the queue full the next try is an interval away
  if (pending_.empty())
    (void)detail::translate("send", [&] { return protocol::send_frames(socket_, protocol::encode_ping()); });
}

std::optional<message> durable_subscriber::receive(std::chrono::milliseconds timeout) {
  const auto deadline = timeout.count() >= 0 ? clock::now() + timeout : clock::time_point::max();
  while (true) {
    const auto now = clock::now();
    flush_pending();
    ping_if_idle(now);
    if (auto m = take_message()) return m;
    if (now >= deadline) return std::nullopt;
    const auto wake = std::min(deadline, last_send_ + opts_.ping_interval);
    const auto ms = std::max<long>(0, std::chrono::ceil<std::chrono::milliseconds>(wake - now).count());
    zmq::pollitem_t item{socket_.handle(), 0,
                         static_cast<short>(ZMQ_POLLIN | (pending_.empty() ? 0 : ZMQ_POLLOUT)), 0};
    detail::translate("poll", [&] { return zmq::poll(&item, 1, std::chrono::milliseconds(ms)); });
  }
}

// Handles what has arrived until a message is ready; never waits.
std::optional<message> durable_subscriber::take_message() {
  bool truncated = false;
  while (detail::translate("receive", [&] { return protocol::receive_frames(socket_, frames_, &truncated, 6); })) {
    heard_ = true;
    try {
      if (auto m = handle_frames()) return m;
    } catch (const decode_error& e) {
      malformed(e);
    }
  }
  return std::nullopt;
}

std::optional<message> durable_subscriber::handle_frames() {
  const auto cmd = protocol::command_of(frames_);
  if (cmd == command::err) {
    const auto reason = protocol::decode_err(frames_);
    if (reason != protocol::reason::unknown)
      throw error(EPROTO, "the forwarder refused the subscription: " + printable(reason));
    if (clock::now() - last_sub_ >= opts_.ping_interval) {
      ++stats_.resubscribes;
      subscribe(replay_start::resume());
    }
    return std::nullopt;
  }
  if (cmd != command::msg) throw decode_error("command", "unknown command '" + printable(cmd) + "'");

  // Whatever it holds, a MSG used one credit.
  if (credit_ > 0) --credit_;
  if (credit_ <= opts_.window / 2) {
    send_command(protocol::encode_credit(opts_.window - credit_));
    credit_ = opts_.window;
  }
  auto d = protocol::decode_msg(frames_);
  const auto& position = d.position;
  std::optional<message> m;
  try {
    m = message::decode(std::move(d.topic), std::move(d.envelope),
                        static_cast<std::size_t>(opts_.socket.max_message_size));
  } catch (const decode_error& e) {
    malformed(e);
    ack(position.fseq);  // see the file comment
    return std::nullopt;
  }
  m->set_position(position);
  const auto seen = tracker_.observe(m->producer(), m->seq());
  const bool everything = opts_.prefixes.empty() ||
                          std::find(opts_.prefixes.begin(), opts_.prefixes.end(), "") != opts_.prefixes.end();
  if (everything) stats_.gaps += seen.missed;
  if (seen.duplicate) ++stats_.duplicates;
  ++stats_.received;
  if (opts_.auto_ack) ack(position.fseq);
  return m;
}

void durable_subscriber::malformed(const decode_error& e) {
  ++stats_.decode_errors;
  if (opts_.on_error) opts_.on_error(e);
}

void durable_subscriber::ack(const message& m) {
  if (!m.position()) throw std::invalid_argument("ack: the message has no journal position");
  ack(m.position()->fseq);
}

void durable_subscriber::ack(std::uint64_t fseq) {
  send_command(protocol::encode_replay_ack(fseq));
  ++stats_.acked;
}

void durable_subscriber::nack(const message& m) {
  if (!m.position()) throw std::invalid_argument("nack: the message has no journal position");
  nack(m.position()->fseq);
}

void durable_subscriber::nack(std::uint64_t fseq) {
  send_command(protocol::encode_replay_nack(fseq));
  ++stats_.nacked;
}

}  // namespace zmqkit
