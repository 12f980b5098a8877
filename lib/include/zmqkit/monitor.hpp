// Socket events from libzmq's socket monitor: connected, disconnected,
// retrying, handshake failed... What a tool prints with -v, and what a test
// waits on instead of sleeping.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <zmq.hpp>

namespace zmqkit {

struct socket_event {
  int id = 0;            // ZMQ_EVENT_* value
  int value = 0;         // the event's value (fd, errno or interval, by event)
  std::string endpoint;  // the endpoint it concerns
};

// A short lowercase name: "connected", "disconnected", "retrying",
// "handshake failed (auth)"...
const char* event_name(int id) noexcept;

class socket_monitor {
 public:
  // Starts reporting events of socket (a mask of ZMQ_EVENT_*). Construct it
  // on the socket's thread; next() may then be called from one other
  // thread. Monitoring ends when the socket closes; the monitor may outlive
  // it. Throws zmqkit::error.
  socket_monitor(zmq::context_t& context, zmq::socket_t& socket, int events = ZMQ_EVENT_ALL);
  socket_monitor(const socket_monitor&) = delete;
  socket_monitor& operator=(const socket_monitor&) = delete;

  // The next event, waiting up to timeout; nullopt if none came.
  [[nodiscard]] std::optional<socket_event> next(std::chrono::milliseconds timeout);
  // The pipe events arrive on, to zmq::poll (ZMQ_POLLIN) with others.
  void* handle() noexcept { return pipe_.handle(); }

 private:
  zmq::socket_t pipe_;
};

}  // namespace zmqkit
