// CURVE's cost: pusher -> puller over tcp loopback in one process, the same
// messages plaintext and encrypted, runs interleaved (plain, curve, plain,
// curve...) so both see the same machine. Reports, per payload size, the
// median messages/s of each and their ratio (curve / plain), with min and max.
//
// Usage: curve_bench [MESSAGES] [PAIRS]   (defaults 200000, 5)
// Each run: the pusher sends MESSAGES of the size, the puller receives and
// checks every one (seq in order, payload size); the clock runs from the
// first send to the last receive, connection and handshake excluded.
#include <zmqkit/authenticator.hpp>
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

struct curve_setup {
  std::string dir;
  zmqkit::certificate server = zmqkit::certificate::generate();
  zmqkit::certificate client = zmqkit::certificate::generate();
  curve_setup() {
    std::string tmpl = std::filesystem::temp_directory_path().string() + "/curve_bench-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) std::exit(1);
    dir = tmpl;
    client.save(dir + "/client");
  }
  ~curve_setup() { std::filesystem::remove_all(dir); }
};

// Messages per second for one run; exits 1 if a message is missing or wrong.
double run_once(zmq::context_t& ctx, const curve_setup* curve, std::size_t size, std::uint64_t count) {
  zmqkit::puller::options lo{{zmqkit::endpoint::bind("tcp://127.0.0.1:*")}};
  zmqkit::pusher::options uo;
  if (curve != nullptr) {
    lo.socket.curve = zmqkit::curve_options::from(curve->server);
    uo.socket.curve = zmqkit::curve_options::from(curve->client, curve->server.public_key);
  }
  zmqkit::puller pull(ctx, lo);
  uo.endpoints = {zmqkit::endpoint::connect(pull.endpoints()[0])};
  uo.send_timeout = std::chrono::milliseconds(10000);
  zmqkit::pusher push(ctx, uo);
  const std::string body(size, 'z');
  const zmqkit::binary payload{body};
  // One message first, so the connection and handshake are not timed.
  if (!push.push("warm", payload) || !pull.receive(std::chrono::milliseconds(10000))) std::exit(1);

  const auto start = clock_type::now();
  std::thread sender([&] {
    for (std::uint64_t i = 0; i < count; ++i)
      if (!push.push("bench", payload)) std::exit(1);
  });
  for (std::uint64_t i = 0; i < count; ++i) {
    const auto m = pull.receive(std::chrono::milliseconds(10000));
    if (!m || m->seq() != i + 2 || !m->payload_bytes() || m->payload_bytes()->size() != size) {
      std::fprintf(stderr, "curve_bench: message %llu missing or wrong\n",
                   static_cast<unsigned long long>(i + 1));
      std::exit(1);
    }
  }
  const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  sender.join();
  return static_cast<double>(count) / seconds;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t count = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200000;
  const int pairs = argc > 2 ? std::atoi(argv[2]) : 5;
  if (count == 0 || pairs <= 0) {
    std::fprintf(stderr, "usage: curve_bench [MESSAGES] [PAIRS]\n");
    return 2;
  }
  zmq::context_t ctx;
  curve_setup keys;
  zmqkit::authenticator auth(ctx, {keys.dir});
  std::printf("pusher -> puller, tcp loopback, %llu messages per run, %d interleaved pairs\n",
              static_cast<unsigned long long>(count), pairs);
  std::printf("%8s %14s %14s %8s %8s %8s %10s\n", "payload", "plain msg/s", "curve msg/s", "ratio",
              "min", "max", "curve MB/s");
  for (const std::size_t size : {64, 1024, 16384}) {
    std::vector<double> plain, secured, ratio;
    for (int i = 0; i < pairs; ++i) {
      plain.push_back(run_once(ctx, nullptr, size, count));
      secured.push_back(run_once(ctx, &keys, size, count));
      ratio.push_back(secured.back() / plain.back());
    }
    const double c = median(secured);
    std::printf("%8zu %14.0f %14.0f %8.2f %8.2f %8.2f %10.1f\n", size, median(plain), c,
                median(ratio), *std::min_element(ratio.begin(), ratio.end()),
                *std::max_element(ratio.begin(), ratio.end()), c * static_cast<double>(size) / 1e6);
  }
  return 0;
}
