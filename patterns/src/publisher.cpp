// publisher semantics. XPUB with XPUB_VERBOSE passes every subscribe message
// up, not just the first per topic, so each subscriber's arrival is visible;
// the count is net of unsubscribe messages. PUB-side delivery is unchanged:
// sends are never blocked, a full subscriber queue drops, receivers count the
// hole from seq. Subscription messages queue inside the socket until read,
// so publish() drains them now and then to keep that queue small.
#include <zmqkit/publisher.hpp>

#include <zmqkit/detail/zmq_error.hpp>


namespace zmqkit {
namespace {
// Draining costs a command-mailbox check (a syscall); amortise it.
constexpr unsigned drain_every = 1024;
}  // namespace

publisher::publisher(zmq::context_t& context, options opts)
    : socket_(detail::translate("create XPUB socket",
                                [&] { return zmq::socket_t(context, zmq::socket_type::xpub); })),
      max_size_(static_cast<std::size_t>(opts.socket.max_message_size)) {
  apply_socket_options(socket_, opts.socket, zmq::socket_type::xpub);
  detail::translate("publisher options", [&] {
    socket_.set(zmq::sockopt::xpub_verbose, 1);
    if (!opts.drop_when_full) {
      socket_.set(zmq::sockopt::xpub_nodrop, 1);
      socket_.set(zmq::sockopt::sndtimeo, static_cast<int>(opts.send_timeout.count()));
    }
  });
  endpoints_ = attach(socket_, opts.endpoints, opts.socket.curve);
}

bool publisher::send(std::string_view topic, zmq::message_t& body) {
  // XPUB drops at the HWM and reports success, unless XPUB_NODROP is on:
  // then a full subscriber makes the send wait, up to the send timeout.
  if (!send_message(socket_, topic, body, zmq::send_flags::none, max_size_)) {
    ++stats_.timeouts;
    return false;
  }
  writer_.commit();
  ++stats_.sent;
  if (++sends_since_drain_ == drain_every) {
    sends_since_drain_ = 0;
    while (read_subscriptions(zmq::recv_flags::dontwait)) {
    }
  }
  return true;
}

bool publisher::read_subscriptions(zmq::recv_flags flags) {
  return detail::translate("read subscriptions", [&] {
    zmq::message_t msg;
    if (!socket_.recv(msg, flags)) return false;
    // 1 = subscribe, 0 = unsubscribe, then the prefix; anything else is a
    // message from an XSUB peer and is not ours to count.
    if (msg.size() >= 1) {
      const auto kind = *static_cast<const std::uint8_t*>(msg.data());
      if (kind == 1) ++subscriptions_;
      if (kind == 0 && subscriptions_ > 0) --subscriptions_;
    }
    return true;
  });
}

std::size_t publisher::subscriptions() noexcept {
  try {
    while (read_subscriptions(zmq::recv_flags::dontwait)) {
    }
  } catch (const error&) {
    // A closed context: report what was counted before it went.
  }
  return subscriptions_;
}

bool publisher::wait_for_subscribers(std::size_t n, std::chrono::milliseconds timeout) {
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + timeout;
  while (subscriptions() < n) {
    int wait_ms = -1;
    if (timeout.count() >= 0) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now());
      if (left.count() <= 0) return false;
      wait_ms = static_cast<int>(left.count());
    }
    detail::translate("set receive timeout", [&] { socket_.set(zmq::sockopt::rcvtimeo, wait_ms); });
    read_subscriptions(zmq::recv_flags::none);
  }
  return true;
}

}  // namespace zmqkit
