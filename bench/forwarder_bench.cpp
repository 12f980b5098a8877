// Acknowledged publishing into a running forwarder's intake, measured from
// the publisher's side: how many messages per second are acknowledged (that
// is, on disk under the forwarder's fsync policy), and how long each
// acknowledgement takes at a constant offered rate. A benchmark, not a
// test: bench/forwarder.sh starts zmq-forwarder and runs this against it.
//
// Usage: forwarder_bench ENDPOINT [--count N] [--size BYTES] [--rate R] [--tick-us US]
//   ENDPOINT   the forwarder's intake, e.g. tcp://127.0.0.1:5560
//   --count    messages to publish (default 1000000)
//   --size     payload bytes, sent as msgpack bin (default 100)
//   --rate     0: as fast as the outbox allows, and report throughput
//              (default); R > 0: offer R messages per second on a fixed
//              schedule and report acknowledgement latency
//
// Latency is measured from each message's scheduled send time, not from
// when it was actually sent, so a stall delays the schedule's later
// messages and shows in the figures instead of hiding (no coordinated
// omission). Acknowledgements are cumulative and come in publish order, so
// each rise of stats().acked settles the oldest scheduled messages.
// Prints one line of key=value pairs; exits 1 if anything was not
// acknowledged.
#include <zmqkit/reliable_publisher.hpp>

#include <poll.h>

#include <ctime>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <stdexcept>
#include <string>
#include <vector>

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

struct settings {
  std::string endpoint;
  std::uint64_t count = 1000000;
  std::size_t size = 100;
  double rate = 0;
  long tick_us = 200;
};

settings parse(int argc, char** argv) {
  settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--count") s.count = std::stoull(value());
    else if (a == "--size") s.size = std::stoul(value());
    else if (a == "--rate") s.rate = std::stod(value());
    else if (a == "--tick-us") s.tick_us = std::stol(value());
    else if (s.endpoint.empty() && a.rfind("--", 0) != 0) s.endpoint = a;
    else throw std::invalid_argument("unknown argument " + a);
  }
  if (s.endpoint.empty() || s.count == 0) throw std::invalid_argument("usage: forwarder_bench ENDPOINT [--count N] [--size BYTES] [--rate R]");
  return s;
}

double percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

int throughput(zmqkit::reliable_publisher& pub, const settings& s, const std::string& payload) {
  const auto t0 = clock_type::now();
  for (std::uint64_t i = 0; i < s.count; ++i)
    if (!pub.publish("bench", zmqkit::binary{payload})) throw std::runtime_error("outbox stayed full");
  const bool all = pub.flush(60s);
  const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  std::printf("mode=throughput count=%llu size=%zu seconds=%.3f acked_per_s=%.0f mib_per_s=%.1f resent=%llu nacked=%llu\n",
              static_cast<unsigned long long>(s.count), s.size, secs, static_cast<double>(s.count) / secs,
              static_cast<double>(s.count * s.size) / secs / (1 << 20),
              static_cast<unsigned long long>(pub.stats().resent),
              static_cast<unsigned long long>(pub.stats().nacked));
  return all ? 0 : 1;
}

// Waits until the socket may have something to read or until `until`, to
// the microsecond (zmq_poll counts in milliseconds: too coarse for a send
// every 10 us, and spinning instead would take a core from the forwarder).
void wait_readable(zmq::socket_t& socket, clock_type::time_point until) {
  if (socket.get(zmq::sockopt::events) & ZMQ_POLLIN) return;
  const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(until - clock_type::now());
  if (left.count() <= 0) return;
  const timespec ts{static_cast<time_t>(left.count() / 1000000000), static_cast<long>(left.count() % 1000000000)};
  pollfd p{socket.get(zmq::sockopt::fd), POLLIN, 0};
  (void)::ppoll(&p, 1, &ts, nullptr);  // ZMQ_FD is edge-triggered: events is checked above
}

int latency(zmqkit::reliable_publisher& pub, const settings& s, const std::string& payload) {
  const auto interval = std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(1.0 / s.rate));
  std::deque<clock_type::time_point> scheduled;  // published, not yet acknowledged
  std::vector<double> us;
  us.reserve(s.count);
  std::uint64_t acked = pub.stats().acked;
  const auto settle = [&] {
    const auto now = clock_type::now();
    for (; acked < pub.stats().acked && !scheduled.empty(); ++acked) {
      us.push_back(std::chrono::duration<double, std::micro>(now - scheduled.front()).count());
      scheduled.pop_front();
    }
  };
  const auto start = clock_type::now() + 10ms;
  const auto tick = std::chrono::microseconds(s.tick_us);
  for (std::uint64_t i = 0; i < s.count; ++i) {
    const auto due = start + interval * static_cast<long>(i);
    // Until the next send is due, wait for acknowledgements on the socket,
    // but sleep at least a tick: waking every 10 us costs a virtual machine
    // dearly. A message sent late by up to a tick has it counted in its
    // latency.
    while (clock_type::now() < due) {
      wait_readable(pub.socket(), std::max(due, clock_type::now() + tick));
      (void)pub.poll();
      settle();
    }
    scheduled.push_back(due);
    if (!pub.publish("bench", zmqkit::binary{payload})) throw std::runtime_error("outbox stayed full");
    settle();
  }
  const auto deadline = clock_type::now() + 60s;
  while (!scheduled.empty() && clock_type::now() < deadline) {
    zmq::pollitem_t item{pub.socket().handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, 100ms);
    (void)pub.poll();
    settle();
  }
  std::sort(us.begin(), us.end());
  std::printf("mode=latency rate=%.0f count=%llu size=%zu ack_us_p50=%.0f p90=%.0f p99=%.0f p99.9=%.0f max=%.0f\n",
              s.rate, static_cast<unsigned long long>(s.count), s.size, percentile(us, 50), percentile(us, 90),
              percentile(us, 99), percentile(us, 99.9), us.empty() ? 0.0 : us.back());
  return scheduled.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const settings s = parse(argc, argv);
    zmq::context_t ctx;
    zmqkit::reliable_publisher::options o;
    o.endpoints = {zmqkit::endpoint::connect(s.endpoint)};
    o.send_timeout = 60s;
    zmqkit::reliable_publisher pub(ctx, o);
    const std::string payload(s.size, 'x');
    return s.rate > 0 ? latency(pub, s, payload) : throughput(pub, s, payload);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "forwarder_bench: %s\n", e.what());
    return 2;
  }
}
