// Socket events from libzmq's socket monitor: connected, disconnected,
// retrying, handshake failed... What a tool prints with -v, what a test
// waits on instead of sleeping, and how a pusher counts its pullers.
#pragma once

#include <chrono>
#include <cstddef>
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
  // it. libzmq keeps one monitor per socket: a second one takes over, and
  // this one then reads ZMQ_EVENT_MONITOR_STOPPED (if in events) after the
  // events it still holds. Events nobody reads queue without limit (memory,
  // not a stalled socket). With ZMQ_EVENT_BIND_FAILED in events, a bind
  // that fails reports EAGAIN instead of its errno (libzmq 4.3 overwrites
  // it sending the event). Throws zmqkit::error.
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

// Counts a socket's connections whose ZMTP handshake completed, net of those
// closed since, from its events: ZMQ_EVENT_HANDSHAKE_SUCCEEDED,
// _HANDSHAKE_FAILED_* and _DISCONNECTED (others are ignored). libzmq names
// no connection in the handshake event, so the disconnection that follows a
// failed handshake is told apart by the failure reported just before it.
// A plain value: no ZeroMQ, not thread-safe.
class connection_counter {
 public:
  void record(const socket_event& e) noexcept;
  std::size_t connections() const noexcept { return up_; }

 private:
  std::size_t up_ = 0;
  std::size_t failed_ = 0;  // failed handshakes whose disconnection is yet to come
};

}  // namespace zmqkit
