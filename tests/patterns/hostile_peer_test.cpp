// Hostile peers on every socket zmqkit binds: a raw TCP client completes a
// ZMTP handshake as a compatible socket type and then announces a frame of
// 2^40 bytes, or sends random bytes. The socket must drop that connection
// without trying to allocate the frame, keep its memory bounded, and go on
// serving well-behaved peers.
#include <zmqkit/durable_subscriber.hpp>
#include <zmqkit/forwarder.hpp>
#include <zmqkit/publisher.hpp>
#include <zmqkit/puller.hpp>
#include <zmqkit/pusher.hpp>
#include <zmqkit/reliable_publisher.hpp>
#include <zmqkit/replier.hpp>
#include <zmqkit/requester.hpp>
#include <zmqkit/subscriber.hpp>

#include <doctest/doctest.h>

#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/raw_tcp.hpp"
#include "support/request.hpp"
#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using zmqkit::endpoint;
using namespace zmqkit::test;

namespace {

const endpoint any_port = endpoint::bind("tcp://127.0.0.1:*");

std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

// One hostile connection: the handshake of a peer_type, then what follows.
// Returns what the server sent before it closed the connection.
std::string attack(const std::string& address, const std::string& peer_type, const std::string& then) {
  const int fd = tcp_connect(address);
  const std::string bytes = zmtp_null_handshake(peer_type) + then;
  (void)::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  const auto got = read_until_closed(fd, 15s);
  ::close(fd);
  return got;
}

}  // namespace

TEST_CASE("hostile peers: SHALL drop a frame announcing 2^40 bytes and random bytes on every bound "
          "socket, with bounded memory, and keep serving good peers") {
  temp_dir dir("zmqkit-hostile");
  zmq::context_t ctx;
  zmqkit::publisher pub(ctx, {{any_port}});
  zmqkit::subscriber bound_sub(ctx, {{any_port}});
  zmqkit::puller pull(ctx, {{any_port}});
  zmqkit::replier rep(ctx, {{any_port}});
  zmqkit::forwarder::options fo;
  fo.journal_dir = dir / "journal";
  fo.intake = fo.frontend = fo.live = fo.replay = fo.control = {any_port};
  zmqkit::forwarder fwd(ctx, fo);
  const auto& b = fwd.endpoints();

  struct target {
    std::string name, address, peer_type;
  };
  const std::vector<target> targets{
      {"publisher (XPUB)", pub.endpoints().at(0), "SUB"},
      {"subscriber (SUB, bound)", bound_sub.endpoints().at(0), "PUB"},
      {"puller (PULL)", pull.endpoints().at(0), "PUSH"},
      {"replier (REP)", rep.endpoints().at(0), "REQ"},
      {"forwarder intake (ROUTER)", b.intake.at(0), "DEALER"},
      {"forwarder frontend (XSUB)", b.frontend.at(0), "PUB"},
      {"forwarder live (XPUB)", b.live.at(0), "SUB"},
      {"forwarder replay (ROUTER)", b.replay.at(0), "DEALER"},
      {"forwarder control (REP)", b.control.at(0), "REQ"},
  };

  const auto before = resident_bytes();
  std::mt19937 rng(20261123);
  for (const auto& t : targets) {
    INFO(t.name << " at " << t.address);
    // 2^40 bytes announced, 64 KiB of them sent.
    const auto huge = attack(t.address, t.peer_type,
                             zmtp_long_frame_header(std::uint64_t{1} << 40) + std::string(65536, 'x'));
    CHECK(huge.size() <= 256);  // the server's greeting and READY, nothing else
    // A frame just over the 16 MiB limit, announced the same way.
    (void)attack(t.address, t.peer_type, zmtp_long_frame_header((16u << 20) + 1));
    // Random bytes after the handshake, five times.
    for (int i = 0; i < 5; ++i) {
      std::string junk(1 + rng() % 2048, '\0');
      for (auto& c : junk) c = static_cast<char>(rng());
      const int fd = tcp_connect(t.address);
      const std::string bytes = zmtp_null_handshake(t.peer_type) + junk;
      (void)::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      ::close(fd);  // some junk is a valid frame header that waits for more: do not wait
    }
  }
  const auto after = resident_bytes();
  CHECK(after < before + (64u << 20));  // nothing near 2^40, nor 16 MiB per connection kept

  // Every socket still serves a well-behaved peer.
  zmqkit::subscriber sub(ctx, {{endpoint::connect(pub.endpoints().at(0))}});
  REQUIRE(pub.wait_for_subscribers(1, 10s));
  REQUIRE(pub.publish("still", 1));
  CHECK(sub.receive(10s));

  zmqkit::publisher to_bound(ctx, {{endpoint::connect(bound_sub.endpoints().at(0))}});
  // A bound SUB sends its subscription to a new publisher only once its own
  // thread handles the connection: each receive() call lets it.
  bool joined = false;
  for (int i = 0; i < 100 && !joined; ++i) {
    (void)bound_sub.receive(0ms);
    joined = to_bound.wait_for_subscribers(1, 100ms);
  }
  REQUIRE(joined);
  REQUIRE(to_bound.publish("still", 2));
  CHECK(bound_sub.receive(10s));

  zmqkit::pusher push(ctx, {{endpoint::connect(pull.endpoints().at(0))}});
  REQUIRE(push.push("still", 3));
  CHECK(pull.receive(10s));

  std::thread server([&] { (void)rep.serve_one([](const zmqkit::message& m) { return m.payload_as<int>(); }, 10s); });
  zmqkit::requester req(ctx, {{endpoint::connect(rep.endpoints().at(0))}});
  const auto reply = req.request("still", 4);
  server.join();
  REQUIRE(reply);
  CHECK(reply->payload_as<int>() == 4);

  zmqkit::reliable_publisher rp(ctx, {{endpoint::connect(b.intake.at(0))}});
  REQUIRE(rp.publish("still", 5));
  REQUIRE(rp.flush(10s));
  zmqkit::durable_subscriber::options dso;
  dso.endpoints = {endpoint::connect(b.replay.at(0))};
  dso.start = zmqkit::replay_start::first();
  zmqkit::durable_subscriber ds(ctx, dso);
  const auto stored = ds.receive(10s);
  REQUIRE(stored);
  CHECK(stored->payload_as<int>() == 5);
  CHECK(request(b.control.at(0), "STATS").at(0).find("\"stored\":1") != std::string::npos);
  CHECK_FALSE(fwd.failure());
}
