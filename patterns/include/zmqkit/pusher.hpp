// pusher: the sending side of a pipeline (PUSH/PULL).
//
// Owns one PUSH socket: each message goes to exactly one connected puller,
// round-robin. With IMMEDIATE on (the default) a message only queues to a
// completed connection, so push() blocks while no puller is there, up to
// options::send_timeout. Not thread-safe: one pusher per thread; share the
// zmq::context_t, not the object.
//
// Example:
//   zmqkit::pusher push(ctx, {{zmqkit::endpoint::bind("tcp://*:5557")}});
//   if (!push.push("order_placed", order)) std::cerr << "no worker took it\n";
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include <zmqkit/counters.hpp>
#include <zmqkit/endpoint.hpp>
#include <zmqkit/envelope.hpp>
#include <zmqkit/socket_options.hpp>

namespace zmqkit {

class pusher {
 public:
  struct options {
    std::vector<endpoint> endpoints;
    socket_options socket{};
    std::chrono::milliseconds send_timeout = 5000ms;  // forever: block until a puller takes it
  };

  // Creates the socket and attaches it. Throws zmqkit::error.
  pusher(zmq::context_t& context, options opts);

  // Queues payload for one puller. Blocks up to send_timeout while every
  // puller's queue is full or none is connected; false if it timed out (the
  // message was not sent and used no seq). Throws zmqkit::error; with
  // EMSGSIZE, before sending anything, for a message larger than
  // socket.max_message_size (check_sendable).
  template <class T>
  [[nodiscard]] bool push(std::string_view topic, const T& payload, const headers& hdrs = {}) {
    auto body = writer_.encode(payload, hdrs);
    return send(topic, body);
  }

  const std::vector<std::string>& endpoints() const noexcept { return endpoints_; }
  const counters& stats() const noexcept { return stats_; }
  const producer_id& producer() const noexcept { return writer_.producer(); }
  zmq::socket_t& socket() noexcept { return socket_; }

 private:
  bool send(std::string_view topic, zmq::message_t& body);

  zmq::socket_t socket_;
  std::vector<std::string> endpoints_;
  envelope_writer writer_;
  counters stats_;
  std::size_t max_size_;
};

}  // namespace zmqkit
