// subscriber semantics. Filtering is SUB's: by topic-frame prefix, at the
// publisher for tcp/ipc peers. Subscriptions are set before connecting so
// they travel with the handshake rather than after it. Gap counting starts
// at the first message from each producer (what was published before this
// subscriber joined is not a gap) and is on only while "" is subscribed:
// seq numbers a producer's whole stream, so any narrower filter makes holes
// that are not losses.
#include <zmqkit/subscriber.hpp>

#include <zmqkit/detail/zmq_error.hpp>

namespace zmqkit {

subscriber::subscriber(zmq::context_t& context, options opts)
    : socket_(detail::translate("create SUB socket",
                                [&] { return zmq::socket_t(context, zmq::socket_type::sub); })),
      inbox_(std::move(opts.on_error), static_cast<std::size_t>(opts.socket.max_message_size)) {
  apply_socket_options(socket_, opts.socket, zmq::socket_type::sub);
  inbox_.count_gaps(false);  // until "" is subscribed
  for (const auto& t : opts.topics) subscribe(t);
  endpoints_ = attach(socket_, opts.endpoints, opts.socket.curve);
}

std::optional<message> subscriber::receive(std::chrono::milliseconds timeout) {
  return inbox_.receive(socket_, timeout, stats_);
}

void subscriber::subscribe(std::string_view prefix) {
  detail::translate("subscribe", [&] { socket_.set(zmq::sockopt::subscribe, prefix); });
  if (prefix.empty()) inbox_.count_gaps(++everything_ > 0);
}

void subscriber::unsubscribe(std::string_view prefix) {
  detail::translate("unsubscribe", [&] { socket_.set(zmq::sockopt::unsubscribe, prefix); });
  // SUB counts subscriptions: one unsubscribe undoes one subscribe.
  if (prefix.empty() && everything_ > 0) inbox_.count_gaps(--everything_ > 0);
}

}  // namespace zmqkit
