// The event bus's cost: pusher -> puller over inproc in one process, 64-byte
// typed events, received three ways, runs interleaved so all see the same
// machine:
//   puller    puller::receive() and payload_as<T>(): the floor
//   bus       event_bus with a typed handler, dedup window in memory
//   bus+file  the same with the dedup window kept in a file (one write per event)
// Reports the median events/s of each and its ratio to the puller's, with
// min and max over the pairs.
//
// Usage: event_bus_bench [EVENTS] [PAIRS]   (defaults 200000, 5)
#include <zmqkit/event_bus.hpp>
#include <zmqkit/puller.hpp>
#include <zmqkit/pusher.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct event {
  std::string id;
  std::string body;
  MSGPACK_DEFINE_MAP(id, body)
};

enum class how { puller, bus, bus_file };

// Events per second for one run; exits 1 if an event is missing.
double run(how h, std::uint64_t n, const std::string& dir) {
  zmq::context_t ctx;
  const std::string at = "inproc://bench";
  zmqkit::socket_options so;
  so.receive_hwm = so.send_hwm = 100000;
  std::uint64_t got = 0;
  std::thread sender;
  const auto send_all = [&] {
    zmqkit::pusher push(ctx, {{zmqkit::endpoint::connect(at)}, so});
    const event e{"order-000000000001", std::string(30, 'x')};
    for (std::uint64_t i = 0; i < n; ++i)
      if (!push.push("order_placed", e)) std::exit(1);
  };
  clock_type::time_point start;
  if (h == how::puller) {
    zmqkit::puller pull(ctx, {{zmqkit::endpoint::bind(at)}, so});
    start = clock_type::now();
    sender = std::thread(send_all);
    while (got < n) {
      auto m = pull.receive(5s);
      if (!m) std::exit(1);
      if (!m->payload_as<event>().id.empty()) ++got;
    }
  } else {
    zmqkit::event_bus::options o;
    if (h == how::bus_file) o.dedup_file = dir + "/bench.dedup";
    std::filesystem::remove(dir + "/bench.dedup");
    zmqkit::event_bus bus(ctx, zmqkit::puller::options{{zmqkit::endpoint::bind(at)}, so}, o);
    bus.on<event>("order_placed", [&](const event& e) { got += !e.id.empty(); });
    start = clock_type::now();
    sender = std::thread(send_all);
    while (got < n)
      if (!bus.poll(5s)) std::exit(1);
  }
  const double secs = std::chrono::duration<double>(clock_type::now() - start).count();
  sender.join();
  return double(n) / secs;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200000;
  const int pairs = argc > 2 ? std::atoi(argv[2]) : 5;
  const std::string dir = std::filesystem::temp_directory_path().string();
  std::vector<double> base, bus, file, r_bus, r_file;
  for (int i = 0; i < pairs; ++i) {
    base.push_back(run(how::puller, n, dir));
    bus.push_back(run(how::bus, n, dir));
    file.push_back(run(how::bus_file, n, dir));
    r_bus.push_back(bus.back() / base.back());
    r_file.push_back(file.back() / base.back());
  }
  std::filesystem::remove(dir + "/bench.dedup");
  const auto range = [](const std::vector<double>& v) {
    return std::to_string(*std::min_element(v.begin(), v.end())).substr(0, 4) + "-" +
           std::to_string(*std::max_element(v.begin(), v.end())).substr(0, 4);
  };
  std::printf("%-9s %12s %18s\n", "receiver", "events/s", "ratio to puller");
  std::printf("%-9s %12.0f %18s\n", "puller", median(base), "1");
  std::printf("%-9s %12.0f %10.2f (%s)\n", "bus", median(bus), median(r_bus), range(r_bus).c_str());
  std::printf("%-9s %12.0f %10.2f (%s)\n", "bus+file", median(file), median(r_file), range(r_file).c_str());
  return 0;
}
