#include <zmqkit/inbox.hpp>

#include <zmqkit/detail/zmq_error.hpp>

namespace zmqkit {

void inbox::set_timeout(zmq::socket_t& socket, int ms) {
  // setsockopt is cheap but not free; most calls reuse the same timeout.
  if (ms == applied_timeout_) return;
  detail::translate("set receive timeout", [&] { socket.set(zmq::sockopt::rcvtimeo, ms); });
  applied_timeout_ = ms;
}

std::optional<message> inbox::receive(zmq::socket_t& socket, std::chrono::milliseconds timeout,
                                      counters& stats) {
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + timeout;
  int wait_ms = static_cast<int>(timeout.count() < 0 ? -1 : timeout.count());
  while (true) {
    set_timeout(socket, wait_ms);
    try {
      auto m = receive_message(socket, zmq::recv_flags::none, max_message_size_);
      if (!m) return std::nullopt;
      const auto seen = tracker_.observe(m->producer(), m->seq());
      if (count_gaps_) stats.gaps += seen.missed;
      stats.duplicates += seen.duplicate ? 1 : 0;
      ++stats.received;
      return m;
    } catch (const decode_error& e) {
      ++stats.decode_errors;
      if (on_error_) on_error_(e);
    }
    if (wait_ms > 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
      if (left.count() <= 0) return std::nullopt;
      wait_ms = static_cast<int>(left.count());
    }
  }
}

}  // namespace zmqkit
