// puller: the receiving side of a pipeline (PUSH/PULL).
//
// Owns one PULL socket: fair-queues messages from all connected pushers,
// counts gaps and duplicates per producer, and counts and skips malformed
// messages (passing each to options::on_error). Not thread-safe: one puller
// per thread; share the zmq::context_t, not the object.
//
// Example:
//   zmqkit::puller pull(ctx, {{zmqkit::endpoint::connect("tcp://localhost:5557")}});
//   while (auto m = pull.receive(5s)) handle(*m);
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include <zmqkit/counters.hpp>
#include <zmqkit/endpoint.hpp>
#include <zmqkit/envelope.hpp>
#include <zmqkit/inbox.hpp>
#include <zmqkit/socket_options.hpp>

namespace zmqkit {

class puller {
 public:
  struct options {
    std::vector<endpoint> endpoints;
    socket_options socket{};
    error_hook on_error{};
  };

  // Creates the socket and attaches it. Throws zmqkit::error.
  puller(zmq::context_t& context, options opts);

  // Waits up to timeout (forever if negative) for the next message.
  // nullopt on timeout. Throws zmqkit::error.
  [[nodiscard]] std::optional<message> receive(std::chrono::milliseconds timeout = forever);

  const std::vector<std::string>& endpoints() const noexcept { return endpoints_; }
  const counters& stats() const noexcept { return stats_; }
  zmq::socket_t& socket() noexcept { return socket_; }

 private:
  zmq::socket_t socket_;
  std::vector<std::string> endpoints_;
  inbox inbox_;
  counters stats_;
};

}  // namespace zmqkit
