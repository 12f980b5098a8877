// pusher: the sending side of a pipeline (PUSH/PULL).
//
// Owns one PUSH socket: each message goes to exactly one connected puller,
// round-robin over the pullers connected at that moment. With IMMEDIATE on
// (the default) a message only queues to a completed connection, so push()
// blocks while no puller is there, up to options::send_timeout, and a burst
// sent before every puller has completed its handshake goes to those that
// have: wait_for_pullers() first. Counts tcp and ipc pullers (an inproc
// connection reports no handshake). Not thread-safe: one pusher per thread;
// share the zmq::context_t, not the object.
//
// Example:
//   zmqkit::pusher push(ctx, {{zmqkit::endpoint::bind("tcp://*:5557")}});
//   if (!push.wait_for_pullers(3, 10s)) std::cerr << "fewer than 3 workers\n";
//   if (!push.push("order_placed", order)) std::cerr << "no worker took it\n";
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include <zmqkit/counters.hpp>
#include <zmqkit/endpoint.hpp>
#include <zmqkit/envelope.hpp>
#include <zmqkit/monitor.hpp>
#include <zmqkit/socket_options.hpp>

namespace zmqkit {

class pusher {
 public:
  struct options {
    std::vector<endpoint> endpoints;
    socket_options socket{};
    std::chrono::milliseconds send_timeout{5000};  // forever: block until a puller takes it
    // Each connection event (connected, accepted, retrying, handshake
    // succeeded or failed, disconnected) the pusher reads while it counts
    // pullers, from its construction to the first push, on its thread:
    // libzmq keeps one monitor per socket, so a program that also wants
    // the events takes them here. What it throws leaves the call that read them.
    std::function<void(const socket_event&)> on_event{};
  };

  // Creates the socket, starts counting pullers, attaches it. A monitor
  // that socket.on_created attaches takes the socket's only monitor, and
  // wait_for_pullers() then cannot count. Throws zmqkit::error.
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

  // Blocks until at least n pullers are connected, their handshake done so
  // that a push can go to each, or timeout passes (forever: no limit); true
  // if they are. A puller that leaves meanwhile is counted out. Pullers are
  // counted from construction to the first push(): call it before pushing,
  // else it throws std::logic_error (also when socket.on_created took the
  // socket's monitor). Throws zmqkit::error (EINTR on a signal).
  [[nodiscard]] bool wait_for_pullers(std::size_t n, std::chrono::milliseconds timeout);
  // Pullers connected as counted so far; frozen from the first push().
  std::size_t pullers();

  const std::vector<std::string>& endpoints() const noexcept { return endpoints_; }
  const counters& stats() const noexcept { return stats_; }
  const producer_id& producer() const noexcept { return writer_.producer(); }
  zmq::socket_t& socket() noexcept { return socket_; }

 private:
  bool send(std::string_view topic, zmq::message_t& body);
  // Reads the monitor's events, waiting up to wait for the first one.
  void read_events(std::chrono::milliseconds wait);
  void stop_counting();

  zmq::socket_t socket_;
  std::optional<socket_monitor> monitor_;  // until the first push, or another monitor
  connection_counter pullers_;
  std::function<void(const socket_event&)> on_event_;
  std::vector<std::string> endpoints_;
  envelope_writer writer_;
  counters stats_;
  std::size_t max_size_;
};

}  // namespace zmqkit
