// zmq-bench's runs, inside: each scenario is built as a "link", a send(i)
// that hands message i to the sending socket, a receive(i) that takes
// message i from the receiving one and checks it, and for the forwarder a
// way to read acknowledgements while the sender waits. One driver
// (runs.cpp) then times any link the same way, so zmqkit (zmqkit_links.cpp)
// and raw libzmq (raw_links.cpp) differ only in what the link does per
// message.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <zmq.hpp>

#include "zmq_bench/runs.hpp"

namespace zmqkit::bench::detail {

using clock_type = std::chrono::steady_clock;
inline constexpr std::chrono::seconds deadline{30};  // a run with a message this late is broken

// The two ends of one scenario. receive throws when a message is missing.
struct link {
  std::function<void(std::uint64_t)> send;
  std::function<void(std::uint64_t)> receive;
  // Waits until t; a sender that must read replies meanwhile does so here.
  // Unset: make_link gives it a sleep that a stop ends.
  std::function<void(clock_type::time_point)> wait_until;
  std::function<void()> finish_sending = [] {};
  std::function<void()> cleanup = [] {};
  bool round_trip = false;  // req/rep: send then receive on one thread
};

// An ipc address's file, removed; other addresses are left alone.
void remove_ipc(const std::string& address);

// Everything a link's lambdas refer to lives here, one per run. It goes
// when the run ends, also when the link failed half made (a stop shuts
// the context down under it): last made first, then the ipc endpoints'
// files.
struct resources {
  std::string payload;
  std::string envelope;  // impl::frames
  std::vector<std::shared_ptr<void>> held;  // sockets, patterns, threads' state
  std::vector<std::string> bound;  // addresses bound here (ipc: a file each)
  template <class T, class... A>
  T& make(A&&... a) {
    auto p = std::make_shared<T>(std::forward<A>(a)...);
    held.push_back(p);
    return *p;
  }
  resources() = default;
  resources(const resources&) = delete;
  resources& operator=(const resources&) = delete;
  ~resources() {
    while (!held.empty()) held.pop_back();
    for (const auto& a : bound) remove_ipc(a);
  }
};

// A new address on transport: tcp on a port the kernel picks, ipc and
// inproc named after this process and a counter.
std::string fresh_address(const std::string& transport);

// Checks the size and the first and last 16 bytes: enough to catch a wrong
// or truncated message without making the check cost more than the send.
void check(std::string_view got, const std::string& want, std::uint64_t i);

// The links of spec.what with spec.how, one side or both. The side that
// binds uses bind_at; the other connects to connect_to when given (one
// side per process), else to what the binding side resolved.
link raw_link(zmq::context_t& ctx, const run_spec& spec, resources& r, const std::string& bind_at,
              const std::string* connect_to, bool sender_side, bool receiver_side);
link zmqkit_link(zmq::context_t& ctx, const run_spec& spec, resources& r, const std::string& bind_at,
                 const std::string* connect_to, bool sender_side, bool receiver_side);

}  // namespace zmqkit::bench::detail
