// puller semantics. PULL fair-queues: it takes one message from each pusher
// with something queued in turn, so one busy pusher cannot starve another.
// Pushers sharing a puller each have their own producer id, so gaps and
// duplicates are counted per pusher.
#include <zmqkit/puller.hpp>

#include <zmqkit/detail/zmq_error.hpp>

namespace zmqkit {

puller::puller(zmq::context_t& context, options opts)
    : socket_(detail::translate("create PULL socket",
                                [&] { return zmq::socket_t(context, zmq::socket_type::pull); })),
      inbox_(std::move(opts.on_error), static_cast<std::size_t>(opts.socket.max_message_size)) {
  apply_socket_options(socket_, opts.socket, zmq::socket_type::pull);
  endpoints_ = attach(socket_, opts.endpoints, opts.socket.curve);
}

std::optional<message> puller::receive(std::chrono::milliseconds timeout) {
  return inbox_.receive(socket_, timeout, stats_);
}

}  // namespace zmqkit
