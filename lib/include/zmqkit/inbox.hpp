// The receive side shared by subscriber, puller, requester and replier: wait
// for a message within a deadline, decode it, count it, track sequences.
// A malformed message is counted, handed to the error hook and skipped; the
// wait goes on for the rest of the deadline. One inbox serves one socket for
// that socket's life: it remembers the receive timeout it last set on it.
#pragma once

#include <chrono>
#include <functional>
#include <optional>

#include <zmq.hpp>

#include <zmqkit/counters.hpp>
#include <zmqkit/envelope.hpp>
#include <zmqkit/sequence_tracker.hpp>

namespace zmqkit {

using error_hook = std::function<void(const decode_error&)>;

class inbox {
 public:
  explicit inbox(error_hook on_error = {}, std::size_t max_message_size = default_max_message_size)
      : on_error_(std::move(on_error)), max_message_size_(max_message_size) {}

  // Blocks up to timeout (forever if negative, not at all if zero). Returns
  // nullopt when nothing valid arrived in time. Throws zmqkit::error.
  [[nodiscard]] std::optional<message> receive(zmq::socket_t& socket,
                                               std::chrono::milliseconds timeout,
                                               counters& stats);

  // Whether seq holes count as gaps. A receiver that filters (a subscriber
  // with prefixes) cannot tell a filtered message from a lost one, so it
  // turns this off; duplicates are counted either way.
  void count_gaps(bool on) noexcept { count_gaps_ = on; }

 private:
  static constexpr int unset = -2;
  void set_timeout(zmq::socket_t& socket, int ms);

  error_hook on_error_;
  std::size_t max_message_size_;
  sequence_tracker tracker_;
  int applied_timeout_ = unset;
  bool count_gaps_ = true;
};

}  // namespace zmqkit
