// publisher: the sending side of publish/subscribe.
//
// Owns one XPUB socket (a PUB that also reports subscriptions, which is what
// wait_for_subscribers() listens to). By default publish() never blocks: like
// PUB, a subscriber whose queue is full at the HWM simply misses messages, and
// sees the hole as a gap in seq. With options::drop_when_full off, publish()
// instead waits (up to send_timeout) for the slowest subscriber to make room,
// which suits a pipe that must not lose lines. Not thread-safe: use one
// publisher per thread and share the zmq::context_t, not the object.
//
// Example:
//   zmq::context_t ctx;
//   zmqkit::publisher pub(ctx, {{zmqkit::endpoint::bind("tcp://*:5556")}});
//   pub.wait_for_subscribers(1, 5s);
//   pub.publish("user_registered", std::map<std::string, std::string>{{"user", "ada"}});
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

class publisher {
 public:
  struct options {
    std::vector<endpoint> endpoints;  // where to bind/connect; usually bind
    socket_options socket{};
    bool drop_when_full = true;  // false: block instead (XPUB_NODROP)
    std::chrono::milliseconds send_timeout = forever;  // the bound on that block
  };

  // Creates the socket and attaches it to every endpoint. Throws zmqkit::error.
  publisher(zmq::context_t& context, options opts);

  // Sends payload (any msgpack-packable value, zmqkit::binary or
  // zmqkit::packed) under topic. Returns true once queued; false only when
  // drop_when_full is off and send_timeout passed (then no seq is used).
  // Throws zmqkit::error; with EMSGSIZE, before sending anything, for a
  // message larger than socket.max_message_size (check_sendable).
  template <class T>
  bool publish(std::string_view topic, const T& payload, const headers& hdrs = {}) {
    auto body = writer_.encode(payload, hdrs);
    return send(topic, body);
  }

  // Blocks until at least n subscriptions are active (each prefix a
  // subscriber asks for counts once) or timeout passes; true if they are.
  // This replaces guessing how long the slow-joiner window lasts.
  [[nodiscard]] bool wait_for_subscribers(std::size_t n, std::chrono::milliseconds timeout);
  // Subscriptions seen so far, net of unsubscriptions.
  std::size_t subscriptions() noexcept;

  // Resolved endpoints, in the order given (bound ports filled in).
  const std::vector<std::string>& endpoints() const noexcept { return endpoints_; }
  const counters& stats() const noexcept { return stats_; }
  const producer_id& producer() const noexcept { return writer_.producer(); }
  zmq::socket_t& socket() noexcept { return socket_; }

 private:
  bool send(std::string_view topic, zmq::message_t& body);
  // Reads pending subscription messages; returns true if it read any.
  bool read_subscriptions(zmq::recv_flags flags);

  zmq::socket_t socket_;
  std::vector<std::string> endpoints_;
  envelope_writer writer_;
  counters stats_;
  std::size_t max_size_;
  std::size_t subscriptions_ = 0;
  unsigned sends_since_drain_ = 0;
};

}  // namespace zmqkit
