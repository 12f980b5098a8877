// The driver: times any link (links.hpp) the same way, throughput or open
// loop latency, one side or both, so zmqkit and raw libzmq differ only in
// what the link does per message.
#include "zmq_bench/runs.hpp"

#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <exception>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include <zmqkit/envelope.hpp>

#include "zmq_bench/links.hpp"

namespace zmqkit::bench {

const char* name(scenario s) noexcept {
  switch (s) {
    case scenario::pubsub: return "pubsub";
    case scenario::pushpull: return "pushpull";
    case scenario::reqrep: return "reqrep";
    case scenario::forwarder: return "forwarder";
  }
  return "?";
}

const char* name(impl i) noexcept {
  switch (i) {
    case impl::zmqkit: return "zmqkit";
    case impl::raw: return "raw";
    case impl::frames: return "frames";
  }
  return "?";
}

namespace detail {

void check(std::string_view got, const std::string& want, std::uint64_t i) {
  const std::size_t edge = std::min<std::size_t>(16, want.size());
  if (got.size() != want.size() || std::memcmp(got.data(), want.data(), edge) != 0 ||
      std::memcmp(got.data() + got.size() - edge, want.data() + want.size() - edge, edge) != 0)
    throw std::runtime_error("message " + std::to_string(i) + ": not the " +
                             std::to_string(want.size()) + " bytes sent (got " +
                             std::to_string(got.size()) + ")");
}

std::string fresh_address(const std::string& transport) {
  static std::atomic<unsigned> n{0};
  const auto id = std::to_string(::getpid()) + "-" + std::to_string(++n);
  if (transport == "tcp") return "tcp://127.0.0.1:*";
  if (transport == "ipc") return "ipc://" + std::filesystem::temp_directory_path().string() + "/zmq-bench-" + id;
  if (transport == "inproc") return "inproc://zmq-bench-" + id;
  throw std::invalid_argument("transport '" + transport + "': use tcp, ipc or inproc");
}

void remove_ipc(const std::string& address) {
  if (address.rfind("ipc://", 0) == 0) ::unlink(address.substr(6).c_str());
}

namespace {

using namespace std::chrono_literals;

// Payload bytes: a pattern, so a message cut short or shifted shows.
std::string pattern(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 131 + 7) & 0xff);
  return s;
}

link make_link(zmq::context_t& ctx, const run_spec& spec, resources& r, const std::string& bind_at,
               const std::string* connect_to, bool sender_side, bool receiver_side) {
  auto l = spec.how != impl::zmqkit ? raw_link(ctx, spec, r, bind_at, connect_to, sender_side, receiver_side)
                                    : zmqkit_link(ctx, spec, r, bind_at, connect_to, sender_side, receiver_side);
  if (!l.wait_until) {
    // Sleeps in slices, so that a stop ends even the wait of a slow --rate.
    l.wait_until = [stop = spec.stop](clock_type::time_point t) {
      while (clock_type::now() < t) {
        if (stop != nullptr && stop->load()) throw std::runtime_error("stopped");
        std::this_thread::sleep_until(std::min(t, clock_type::now() + 100ms));
      }
    };
  }
  return l;
}

// A sleeping sender wakes within microseconds of its due time, not the
// default 50 us timer slack later.
void precise_timers() { (void)::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL); }

clock_type::duration interval_of(double rate) {
  return std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(1.0 / rate));
}

// Times spec.count messages over l after one warm-up message (not timed).
run_result drive(link& l, const run_spec& spec, bool sender_side, bool receiver_side) {
  run_result result;
  const bool latency = spec.rate > 0;
  const auto interval = latency ? interval_of(spec.rate) : clock_type::duration::zero();
  precise_timers();
  if (l.round_trip) {  // req/rep: the requester times each round trip
    if (!sender_side) {
      for (std::uint64_t i = 0; i <= spec.count; ++i) l.receive(i);
      return result;
    }
    l.send(0);  // warm-up
    const auto start = clock_type::now() + 1ms;
    for (std::uint64_t i = 1; i <= spec.count; ++i) {
      const auto due = latency ? start + interval * static_cast<long>(i - 1) : clock_type::now();
      if (latency) l.wait_until(due);
      l.send(i);
      if (latency) result.latency.record(std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - due).count());
    }
    result.per_second = static_cast<double>(spec.count) /
                        std::chrono::duration<double>(clock_type::now() - start).count();
    return result;
  }

  if (sender_side && !receiver_side) {  // the other process times it
    l.send(0);
    for (std::uint64_t i = 1; i <= spec.count; ++i) l.send(i);
    l.finish_sending();
    return result;
  }
  if (receiver_side && !sender_side) {
    l.receive(0);
    const auto start = clock_type::now();
    for (std::uint64_t i = 1; i <= spec.count; ++i) l.receive(i);
    result.per_second = static_cast<double>(spec.count) /
                        std::chrono::duration<double>(clock_type::now() - start).count();
    return result;
  }

  l.send(0);
  l.finish_sending();  // a reliable publisher sends once it is pumped
  l.receive(0);
  const auto start = clock_type::now() + (latency ? 1ms : 0ms);
  std::exception_ptr failed;
  std::thread sender([&] {
    precise_timers();
    try {
      for (std::uint64_t i = 1; i <= spec.count; ++i) {
        if (latency) l.wait_until(start + interval * static_cast<long>(i - 1));
        l.send(i);
      }
      l.finish_sending();
    } catch (...) {
      failed = std::current_exception();
    }
  });
  try {
    for (std::uint64_t i = 1; i <= spec.count; ++i) {
      l.receive(i);
      if (latency)
        result.latency.record(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  clock_type::now() - (start + interval * static_cast<long>(i - 1)))
                                  .count());
    }
  } catch (...) {
    sender.join();
    throw;
  }
  result.per_second = static_cast<double>(spec.count) /
                      std::chrono::duration<double>(clock_type::now() - start).count();
  sender.join();
  if (failed) std::rethrow_exception(failed);
  return result;
}

run_result run(zmq::context_t& ctx, const run_spec& spec, const std::string& bind_at,
               const std::string* connect_to, bool sender_side, bool receiver_side) {
  resources r;
  r.payload = pattern(spec.size);
  r.bound.push_back(bind_at);
  link l = make_link(ctx, spec, r, bind_at, connect_to, sender_side, receiver_side);
  std::exception_ptr failed;
  run_result result;
  try {
    if (l.round_trip && sender_side && receiver_side) {
      // The replier answers on its own thread; the requester times.
      std::thread rep([&] {
        try {
          for (std::uint64_t i = 0; i <= spec.count; ++i) l.receive(i);
        } catch (...) {
          failed = std::current_exception();
        }
      });
      try {
        result = drive(l, spec, true, false);
      } catch (...) {
        rep.join();
        throw;
      }
      rep.join();
    } else {
      result = drive(l, spec, sender_side, receiver_side);
    }
  } catch (...) {
    l.cleanup();
    throw;
  }
  l.cleanup();
  if (failed) std::rethrow_exception(failed);
  return result;
}

}  // namespace
}  // namespace detail

using detail::fresh_address;
using detail::run;

std::size_t max_payload(impl how) noexcept {
  return how == impl::zmqkit ? default_max_message_size - envelope_overhead : std::size_t{64} << 20;
}

run_result run_in_process(zmq::context_t& context, const run_spec& spec) {
  return run(context, spec, fresh_address(spec.transport), nullptr, true, true);
}

run_result run_receiver(zmq::context_t& context, const run_spec& spec, const std::string& endpoint) {
  if (spec.what == scenario::forwarder) throw std::invalid_argument("forwarder: one process only");
  return run(context, spec, endpoint, nullptr, false, true);
}

run_result run_sender(zmq::context_t& context, const run_spec& spec, const std::string& endpoint) {
  if (spec.what == scenario::forwarder) throw std::invalid_argument("forwarder: one process only");
  return run(context, spec, "", &endpoint, true, false);
}

}  // namespace zmqkit::bench
