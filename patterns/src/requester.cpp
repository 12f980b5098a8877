// requester semantics (the Lazy Pirate pattern of the ZeroMQ guide).
// A REQ socket that sent and got no answer is stuck waiting for that one
// reply; rather than rely on REQ_RELAXED to unstick it, the socket is
// closed with linger 0 (dropping the request still queued to a dead peer)
// and rebuilt, which also guarantees a late reply to an old attempt can
// never be taken for the answer to a new one. REQ_CORRELATE is set too,
// for the same guarantee within one socket's life. For the same reason the
// socket always closes with linger 0, the requester's own end included: a
// request whose reply nobody will read is not worth holding a program's exit
// for (zmq-req stopped by a signal with no replier took the 1 s linger).
#include <zmqkit/requester.hpp>

#include <zmqkit/detail/zmq_error.hpp>

namespace zmqkit {

requester::requester(zmq::context_t& context, options opts)
    : context_(context), opts_(std::move(opts)) {
  build();
}

void requester::build() {
  if (socket_.handle() != nullptr) socket_.close();
  socket_ = detail::translate("create REQ socket",
                              [&] { return zmq::socket_t(context_, zmq::socket_type::req); });
  apply_socket_options(socket_, opts_.socket, zmq::socket_type::req);
  const auto ms = static_cast<int>(opts_.timeout.count());
  detail::translate("requester options", [&] {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::req_correlate, 1);
    socket_.set(zmq::sockopt::req_relaxed, 1);
    socket_.set(zmq::sockopt::sndtimeo, ms);
    socket_.set(zmq::sockopt::rcvtimeo, ms);
  });
  if (endpoints_.empty()) {
    endpoints_ = attach(socket_, opts_.endpoints, opts_.socket.curve);
  } else {
    // Rebuilt: rebind a wildcard port to the one the kernel chose first.
    std::vector<endpoint> again = opts_.endpoints;
    for (std::size_t i = 0; i < again.size(); ++i) again[i].address = endpoints_[i];
    attach(socket_, again, opts_.socket.curve);
  }
}

std::optional<message> requester::exchange(std::string_view topic, zmq::message_t& body) {
  for (int attempt = 0; attempt <= opts_.retries; ++attempt) {
    if (attempt > 0) {
      ++stats_.retries;
      if (opts_.on_retry) opts_.on_retry(attempt + 1);
    }
    zmq::message_t frame;
    frame.copy(body);  // shares the buffer (refcounted), no byte copy
    if (send_message(socket_, topic, frame, zmq::send_flags::none,
                     static_cast<std::size_t>(opts_.socket.max_message_size))) {
      ++stats_.sent;
      try {
        auto reply = receive_message(socket_, zmq::recv_flags::none,
                                     static_cast<std::size_t>(opts_.socket.max_message_size));
        if (reply) {
          ++stats_.received;
          return reply;
        }
      } catch (const decode_error& e) {
        ++stats_.decode_errors;
        if (opts_.on_error) opts_.on_error(e);
      }
    }
    build();
  }
  ++stats_.timeouts;
  return std::nullopt;
}

}  // namespace zmqkit
