// pusher semantics. PUSH load-balances round-robin over pullers whose
// queues have room, and blocks (never drops) when none has: the send
// timeout bounds that wait. A timed-out message is not committed to the
// sequence, so pullers see no gap for a message that was never sent.
#include <zmqkit/pusher.hpp>

namespace zmqkit {

pusher::pusher(zmq::context_t& context, options opts)
    : socket_(detail::translate("create PUSH socket",
                                [&] { return zmq::socket_t(context, zmq::socket_type::push); })),
      max_size_(static_cast<std::size_t>(opts.socket.max_message_size)) {
  apply_socket_options(socket_, opts.socket, zmq::socket_type::push);
  detail::translate("pusher options", [&] {
    socket_.set(zmq::sockopt::sndtimeo, static_cast<int>(opts.send_timeout.count()));
  });
  endpoints_ = attach(socket_, opts.endpoints, opts.socket.curve);
}

bool pusher::send(std::string_view topic, zmq::message_t& body) {
  if (!send_message(socket_, topic, body, zmq::send_flags::none, max_size_)) {
    ++stats_.timeouts;
    return false;
  }
  writer_.commit();
  ++stats_.sent;
  return true;
}

}  // namespace zmqkit
