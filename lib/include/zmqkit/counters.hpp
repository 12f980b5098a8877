// The counters every pattern keeps. Plain numbers, updated by the owning
// thread only; read them from that thread (or after it is done).
#pragma once

#include <cstdint>

namespace zmqkit {

struct counters {
  std::uint64_t sent = 0;           // messages handed to ZeroMQ
  std::uint64_t received = 0;       // valid messages delivered to the caller
  std::uint64_t gaps = 0;           // messages missing by seq (e.g. dropped at a HWM)
  std::uint64_t duplicates = 0;     // messages at or below a producer's last seq
  std::uint64_t decode_errors = 0;  // malformed messages, dropped
  std::uint64_t timeouts = 0;       // sends or requests that gave up at their deadline
  std::uint64_t retries = 0;        // requests sent again on a rebuilt socket
  std::uint64_t handler_errors = 0; // handlers that threw (replied with an error)
};

}  // namespace zmqkit
