// replier semantics. REP alternates strictly: receive, then send. Every
// request therefore gets exactly one answer, including requests that fail
// to decode (answered inside the receive loop, before the next recv, with
// an "error" header) and requests whose handler throws. A requester that
// retried shows up as a duplicate seq in stats().duplicates.
#include <zmqkit/replier.hpp>

#include <stdexcept>

#include <zmqkit/detail/zmq_error.hpp>

namespace zmqkit {

replier::replier(zmq::context_t& context, options opts)
    : socket_(detail::translate("create REP socket",
                                [&] { return zmq::socket_t(context, zmq::socket_type::rep); })),
      user_on_error_(std::move(opts.on_error)),
      inbox_(
          [this](const decode_error& e) {
            if (user_on_error_) user_on_error_(e);
            awaiting_reply_ = true;
            reply_error("", std::string("bad request: ") + e.what());
          },
          static_cast<std::size_t>(opts.socket.max_message_size)),
      max_size_(static_cast<std::size_t>(opts.socket.max_message_size)) {
  apply_socket_options(socket_, opts.socket, zmq::socket_type::rep);
  endpoints_ = attach(socket_, opts.endpoints, opts.socket.curve);
}

std::optional<message> replier::receive(std::chrono::milliseconds timeout) {
  if (awaiting_reply_) throw std::logic_error("replier: reply to the last request first");
  auto request = inbox_.receive(socket_, timeout, stats_);
  awaiting_reply_ = request.has_value();
  return request;
}

void replier::reply_error(std::string_view topic, std::string_view reason) {
  auto body = writer_.encode(msgpack::type::nil_t{}, {{"error", std::string(reason)}});
  send(topic, body);
}

void replier::send(std::string_view topic, zmq::message_t& body) {
  if (!awaiting_reply_) throw std::logic_error("replier: no request to reply to");
  try {
    check_sendable(topic, body.size(), max_size_);
  } catch (const error& e) {
    // REP must answer before it can receive again, and the requester is
    // better told now than left to time out and retry into the same wall.
    reply_error(topic.size() <= max_topic_size ? topic : std::string_view(),
                std::string("reply not sent: ") + e.what());
    throw;
  }
  // REP routes the reply back to the requester's pipe; if that peer is
  // gone the reply is dropped, which is the requester's retry to handle.
  (void)send_message(socket_, topic, body, zmq::send_flags::none, max_size_);
  awaiting_reply_ = false;
  writer_.commit();
  ++stats_.sent;
}

}  // namespace zmqkit
