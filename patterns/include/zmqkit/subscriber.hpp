// subscriber: the receiving side of publish/subscribe.
//
// Owns one SUB socket. Receives messages whose topic starts with one of its
// prefixes, and counts per producer what it saw twice (duplicates) and, while
// it takes every topic (prefix ""), what it missed (gaps) from the envelope's
// seq: seq is per producer, so under a narrower filter a message filtered
// away and a message lost look the same, and gaps are not counted. Malformed messages are counted,
// passed to options::on_error and skipped. Not thread-safe: one subscriber
// per thread; share the zmq::context_t, not the object.
//
// Example:
//   zmqkit::subscriber sub(ctx, {{zmqkit::endpoint::connect("tcp://localhost:5556")},
//                                {"user_", "order_"}});
//   while (auto m = sub.receive(1s)) std::cout << m->topic() << '\n';
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include <zmqkit/counters.hpp>
#include <zmqkit/endpoint.hpp>
#include <zmqkit/envelope.hpp>
#include <zmqkit/inbox.hpp>
#include <zmqkit/socket_options.hpp>

namespace zmqkit {

class subscriber {
 public:
  struct options {
    std::vector<endpoint> endpoints;  // usually connect
    std::vector<std::string> topics{""};  // prefixes; "" is everything, {} is nothing yet
    socket_options socket{};
    error_hook on_error{};  // called with each malformed message's error
  };

  // Creates the socket, subscribes, attaches. Throws zmqkit::error.
  subscriber(zmq::context_t& context, options opts);

  // Waits up to timeout (forever if negative) for the next message.
  // nullopt on timeout. Throws zmqkit::error.
  [[nodiscard]] std::optional<message> receive(std::chrono::milliseconds timeout = forever);

  // Add or remove a prefix. Takes effect at the publisher asynchronously;
  // publisher::wait_for_subscribers() sees it arrive.
  void subscribe(std::string_view prefix);
  void unsubscribe(std::string_view prefix);

  const std::vector<std::string>& endpoints() const noexcept { return endpoints_; }
  const counters& stats() const noexcept { return stats_; }
  zmq::socket_t& socket() noexcept { return socket_; }

 private:
  zmq::socket_t socket_;
  std::vector<std::string> endpoints_;
  int everything_ = 0;  // subscriptions to "" (SUB counts them like any prefix)
  inbox inbox_;
  counters stats_;
};

}  // namespace zmqkit
