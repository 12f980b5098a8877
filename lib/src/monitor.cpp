#include <zmqkit/monitor.hpp>

#include <zmqkit/detail/zmq_error.hpp>
#include <zmqkit/error.hpp>

#include <atomic>
#include <cstring>
#include <string>

namespace zmqkit {

const char* event_name(int id) noexcept {
  switch (id) {
    case ZMQ_EVENT_CONNECTED: return "connected";
    case ZMQ_EVENT_CONNECT_DELAYED: return "connecting";
    case ZMQ_EVENT_CONNECT_RETRIED: return "retrying";
    case ZMQ_EVENT_LISTENING: return "listening";
    case ZMQ_EVENT_BIND_FAILED: return "bind failed";
    case ZMQ_EVENT_ACCEPTED: return "accepted";
    case ZMQ_EVENT_ACCEPT_FAILED: return "accept failed";
    case ZMQ_EVENT_CLOSED: return "closed";
    case ZMQ_EVENT_CLOSE_FAILED: return "close failed";
    case ZMQ_EVENT_DISCONNECTED: return "disconnected";
    case ZMQ_EVENT_MONITOR_STOPPED: return "monitor stopped";
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL: return "handshake failed";
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: return "handshake succeeded";
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL: return "handshake failed (protocol)";
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: return "handshake failed (auth)";
    default: return "event";
  }
}

socket_monitor::socket_monitor(zmq::context_t& context, zmq::socket_t& socket, int events) {
  static std::atomic<unsigned> counter{0};
  const auto address = "inproc://zmqkit-monitor-" + std::to_string(++counter);
  if (zmq_socket_monitor(socket.handle(), address.c_str(), events) != 0)
    detail::throw_zmq(zmq_errno(), "start socket monitor");
  detail::translate("connect socket monitor", [&] {
    pipe_ = zmq::socket_t(context, zmq::socket_type::pair);
    pipe_.set(zmq::sockopt::linger, 0);
    // No limit on the pipe: libzmq sends events blocking, from the thread
    // that handles the connection, so with the default limits about 2000
    // unread events stopped the watched socket (and every socket on its I/O
    // thread) for good: a PUSH socket accepting 3000 connections nobody
    // read the events of then delivered nothing more. With a receive limit
    // of 0 an inproc pipe has none.
    pipe_.set(zmq::sockopt::rcvhwm, 0);
    pipe_.connect(address);
  });
}

// No destructor work: libzmq stops the monitor when the watched socket
// closes, and events sent while nobody reads the pipe are dropped.

std::optional<socket_event> socket_monitor::next(std::chrono::milliseconds timeout) {
  return detail::translate("read socket monitor", [&]() -> std::optional<socket_event> {
    pipe_.set(zmq::sockopt::rcvtimeo, static_cast<int>(timeout.count()));
    zmq::message_t head;
    if (!pipe_.recv(head)) return std::nullopt;
    // Version 1 format: frame 1 is u16 event + u32 value, frame 2 the endpoint.
    socket_event e;
    if (head.size() >= 6) {
      std::uint16_t id;
      std::uint32_t value;
      std::memcpy(&id, head.data(), 2);
      std::memcpy(&value, static_cast<const char*>(head.data()) + 2, 4);
      e.id = id;
      e.value = static_cast<int>(value);
    }
    if (head.more()) {
      zmq::message_t address;
      (void)pipe_.recv(address);
      e.endpoint = address.to_string();
    }
    return e;
  });
}

void connection_counter::record(const socket_event& e) noexcept {
  switch (e.id) {
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
      ++up_;
      return;
    // libzmq closes the connection after each of these, with a
    // ZMQ_EVENT_DISCONNECTED of its own.
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
      ++failed_;
      return;
    case ZMQ_EVENT_DISCONNECTED:
      if (failed_ > 0) {
        --failed_;
      } else if (up_ > 0) {
        --up_;
      }
      return;
    default:
      return;
  }
}

}  // namespace zmqkit
