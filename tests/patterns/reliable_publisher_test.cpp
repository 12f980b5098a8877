// reliable_publisher against a test intake: a real ROUTER socket on
// tcp://127.0.0.1:* in a thread of its own, following docs/protocol.md
// ("Intake"): per sender it stores the next seq, drops duplicates, refuses
// what lies beyond a gap, and acknowledges cumulatively. A per-test policy
// makes it lose PUBs, NACK them, or stay silent.
#include <zmqkit/reliable_publisher.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <functional>
#include <future>
#include <stdexcept>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <zmqkit/msgpack_reader.hpp>

using namespace std::chrono_literals;
using zmqkit::endpoint;
using zmqkit::reliable_publisher;

namespace {

using clock_type = std::chrono::steady_clock;

std::string as_string(const zmq::message_t& m) { return {static_cast<const char*>(m.data()), m.size()}; }

std::string pack_uint(std::uint64_t v) {
  msgpack::sbuffer b;
  msgpack::pack(b, v);
  return {b.data(), b.size()};
}

// What the intake does with one PUB.
enum class action {
  store,             // as a forwarder does: store if next, ACK the stored high
  lose,              // as if lost on the way: nothing at all
  ack_later,         // store, but send no ACK for it
  silent,            // neither store nor answer
  nack_full,         // NACK FULL with its key
  nack_too_big,      // NACK TOO_BIG with its key
  nack_unattributed  // NACK TOO_BIG with an empty sender and seq 0
};

struct pub_seen {
  std::string topic;
  std::uint64_t envelope_seq = 0;
  std::string sender;  // the key: the key frame's, or the envelope's producer
  std::uint64_t key_seq = 0;
  bool keyed = false;
  std::size_t frames = 0;  // after the identity
  clock_type::time_point at;
};

class intake_peer {
 public:
  using policy = std::function<action(const pub_seen&, int times_seen)>;

  explicit intake_peer(zmq::context_t& ctx, policy p, std::string address = "tcp://127.0.0.1:*",
                       std::map<std::string, std::uint64_t> high = {})
      : router_(ctx, zmq::socket_type::router), policy_(std::move(p)), high_(std::move(high)) {
    router_.set(zmq::sockopt::linger, 0);
    router_.bind(address);
    endpoint_ = router_.get(zmq::sockopt::last_endpoint);
    thread_ = std::thread([this] { run(); });
  }
  ~intake_peer() {
    stop_ = true;
    thread_.join();
  }

  const std::string& address() const { return endpoint_; }
  std::vector<pub_seen> seen() {
    std::lock_guard<std::mutex> lock(mutex_);
    return seen_;
  }
  // Envelope seqs stored, in journal order.
  std::vector<std::uint64_t> stored() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stored_;
  }
  int acks_sent() const { return acks_; }

 private:
  void run() {
    zmq::pollitem_t item{router_.handle(), 0, ZMQ_POLLIN, 0};
    while (!stop_) {
      if (zmq::poll(&item, 1, 20ms) == 0) continue;  // 20 ms: how soon stop_ is seen
      std::vector<zmq::message_t> f;
      zmq::message_t m;
      do {
        (void)router_.recv(m);
        f.push_back(std::move(m));
      } while (f.back().more());
      try {  // REQUIRE would throw on this thread: report with FAIL_CHECK instead
        handle(f);
      } catch (const std::exception& e) {
        FAIL_CHECK("the intake peer got a bad PUB: " << std::string(e.what()));
      }
    }
  }

  void handle(std::vector<zmq::message_t>& f) {
    if (f.size() < 4 || f.size() > 5 || as_string(f[1]) != "PUB")
      throw std::runtime_error(std::to_string(f.size()) + " frames, not PUB | topic | envelope [| key]");
    const std::string id = as_string(f[0]);
    pub_seen p;
    p.frames = f.size() - 1;
    p.at = clock_type::now();
    p.topic = as_string(f[2]);
    auto msg = zmqkit::message::decode(zmq::message_t(f[2].data(), f[2].size()),
                                       zmq::message_t(f[3].data(), f[3].size()));
    p.envelope_seq = msg.seq();
    p.sender.assign(reinterpret_cast<const char*>(msg.producer().data()), 16);
    p.key_seq = msg.seq();
    if (f.size() == 5) {
      const std::string key = as_string(f[4]);
      zmqkit::msgpack_reader r(key);
      if (r.read_array_header("key") != 2) throw std::runtime_error("key is not [sender, seq]");
      p.sender = std::string(r.read_bin("key.sender"));
      p.key_seq = r.read_uint("key.seq");
      p.keyed = true;
    }
    int times = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      seen_.push_back(p);
      for (const auto& s : seen_) times += s.envelope_seq == p.envelope_seq ? 1 : 0;
    }
    const auto act = policy_(p, times);
    switch (act) {
      case action::lose:
      case action::silent: return;
      case action::nack_full: return reply({id, "NACK", "FULL", p.sender, pack_uint(p.key_seq)});
      case action::nack_too_big:
        return reply({id, "NACK", "TOO_BIG", p.sender, pack_uint(p.key_seq)});
      case action::nack_unattributed: return reply({id, "NACK", "TOO_BIG", "", pack_uint(0)});
      case action::store:
      case action::ack_later: break;
    }
    auto known = high_.find(p.sender);
    if (known == high_.end() || p.key_seq == known->second + 1) {
      high_[p.sender] = p.key_seq;
      std::lock_guard<std::mutex> lock(mutex_);
      stored_.push_back(p.envelope_seq);
    }
    // Duplicates and refusals are answered too: the stored high, again.
    if (act == action::ack_later) return;
    reply({id, "ACK", p.sender, pack_uint(high_[p.sender])});
    ++acks_;
  }

  void reply(const std::vector<std::string>& frames) {
    for (std::size_t i = 0; i < frames.size(); ++i)
      (void)router_.send(zmq::buffer(frames[i]),
                         i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }

  zmq::socket_t router_;
  std::string endpoint_;
  policy policy_;
  std::map<std::string, std::uint64_t> high_;
  std::mutex mutex_;
  std::vector<pub_seen> seen_;
  std::vector<std::uint64_t> stored_;
  std::atomic<int> acks_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

action always_store(const pub_seen&, int) { return action::store; }

std::vector<std::uint64_t> range(std::uint64_t from, std::uint64_t to) {
  std::vector<std::uint64_t> out;
  for (auto i = from; i <= to; ++i) out.push_back(i);
  return out;
}

reliable_publisher::options options_for(const intake_peer& peer) {
  reliable_publisher::options o;
  o.endpoints = {endpoint::connect(peer.address())};
  o.resend_interval = 100ms;  // fast tests; the protocol behaviour is the same
  return o;
}

}  // namespace

TEST_CASE("reliable_publisher: SHALL send PUB | topic | envelope and drop what is acknowledged") {
  zmq::context_t ctx;
  intake_peer peer(ctx, always_store);
  reliable_publisher pub(ctx, options_for(peer));

  for (int i = 1; i <= 20; ++i) REQUIRE(pub.publish("order_placed", i, {{"source", "test"}}));
  CHECK(pub.outstanding() <= 20);
  REQUIRE(pub.flush(5s));

  CHECK(pub.outstanding() == 0);
  CHECK(pub.stats().sent == 20);
  CHECK(pub.stats().acked == 20);
  CHECK(pub.stats().resent == 0);
  CHECK(peer.stored() == range(1, 20));
  const auto seen = peer.seen();
  REQUIRE(seen.size() == 20);
  for (const auto& p : seen) {
    CHECK(p.frames == 3);  // "PUB", topic, envelope: no key frame
    CHECK(p.topic == "order_placed");
    CHECK_FALSE(p.keyed);
    CHECK(p.sender == std::string(reinterpret_cast<const char*>(pub.producer().data()), 16));
  }
}

TEST_CASE("reliable_publisher: SHALL hand messages to its socket while no forwarder is up and deliver "
          "them from there once one is") {
  zmq::context_t ctx;
  // An address nobody listens on yet: bound in a context of its own, whose
  // closing closes the listening socket at once.
  std::string address;
  {
    zmq::context_t other;
    zmq::socket_t s(other, zmq::socket_type::router);
    s.set(zmq::sockopt::linger, 0);
    s.bind("tcp://127.0.0.1:*");
    address = s.get(zmq::sockopt::last_endpoint);
  }
  reliable_publisher::options opts;
  opts.endpoints = {endpoint::connect(address)};
  opts.resend_interval = 60s;  // nothing is resent: what arrives comes from the socket's queue
  reliable_publisher pub(ctx, opts);
  CHECK(pub.socket().get(zmq::sockopt::type) == ZMQ_DEALER);
  CHECK(pub.socket().get(zmq::sockopt::immediate) == 0);
  for (int i = 1; i <= 5; ++i) REQUIRE(pub.publish("order_placed", i));
  CHECK(pub.poll() == 0);
  CHECK(pub.stats().sent == 1);  // a key stream's first message goes alone until acknowledged
  CHECK(pub.outstanding() == 5);

  intake_peer peer(ctx, always_store, address);
  REQUIRE(pub.flush(10s));
  CHECK(peer.stored() == range(1, 5));
  CHECK(pub.stats().sent == 5);
  CHECK(pub.stats().resent == 0);
}

TEST_CASE("reliable_publisher: SHALL treat ACKs as cumulative") {
  zmq::context_t ctx;
  // Stores everything, acknowledges only the first message and every 10th.
  intake_peer peer(ctx, [](const pub_seen& p, int) {
    return p.envelope_seq == 1 || p.envelope_seq % 10 == 0 ? action::store : action::ack_later;
  });
  reliable_publisher pub(ctx, options_for(peer));
  for (int i = 1; i <= 30; ++i) REQUIRE(pub.publish("tick", i));
  REQUIRE(pub.flush(5s));
  CHECK(pub.stats().acked == 30);
  CHECK(peer.stored() == range(1, 30));
  CHECK(peer.acks_sent() <= 4 + static_cast<int>(pub.stats().resent));
}

TEST_CASE("reliable_publisher: SHALL resend from the oldest unacknowledged message when PUBs are "
          "lost") {
  zmq::context_t ctx;
  // Seqs 3 and 4 are lost the first time; 5.. are then refused as ahead of
  // the gap until the publisher goes back.
  intake_peer peer(ctx, [](const pub_seen& p, int times) {
    return (p.envelope_seq == 3 || p.envelope_seq == 4) && times == 1 ? action::lose : action::store;
  });
  reliable_publisher pub(ctx, options_for(peer));
  for (int i = 1; i <= 10; ++i) REQUIRE(pub.publish("order_placed", i));
  REQUIRE(pub.flush(5s));
  CHECK(pub.stats().acked == 10);
  CHECK(pub.stats().resent >= 2);
  CHECK(peer.stored() == range(1, 10));  // each once, in order
}

TEST_CASE("reliable_publisher: SHALL pause after NACK FULL and send the message again later") {
  zmq::context_t ctx;
  intake_peer peer(ctx, [](const pub_seen& p, int times) {
    return p.envelope_seq == 2 && times <= 2 ? action::nack_full : action::store;
  });
  reliable_publisher pub(ctx, options_for(peer));
  for (int i = 1; i <= 5; ++i) REQUIRE(pub.publish("order_placed", i));
  REQUIRE(pub.flush(10s));
  CHECK(pub.stats().nacked >= 2);
  CHECK(pub.stats().rejected == 0);
  CHECK(peer.stored() == range(1, 5));

  // The second try of seq 2 came after the first pause (100 ms), the third
  // after a longer one.
  std::vector<clock_type::time_point> tries;
  for (const auto& p : peer.seen())
    if (p.envelope_seq == 2) tries.push_back(p.at);
  REQUIRE(tries.size() >= 3);
  CHECK(tries[1] - tries[0] >= 100ms);
  CHECK(tries[2] - tries[1] >= 200ms);
}

TEST_CASE("reliable_publisher: SHALL report a message NACKed TOO_BIG as rejected and still deliver "
          "the ones after it") {
  zmq::context_t ctx;
  intake_peer peer(ctx, [](const pub_seen& p, int) {
    return p.envelope_seq == 3 ? action::nack_too_big : action::store;
  });
  auto opts = options_for(peer);
  std::vector<reliable_publisher::rejection> rejected;
  opts.on_rejected = [&](const reliable_publisher::rejection& r) { rejected.push_back(r); };
  reliable_publisher pub(ctx, opts);
  for (int i = 1; i <= 6; ++i) REQUIRE(pub.publish("order_" + std::to_string(i), i));
  REQUIRE(pub.flush(5s));

  CHECK(pub.stats().rejected == 1);
  CHECK(pub.stats().acked == 5);
  REQUIRE(rejected.size() == 1);
  CHECK(rejected[0].reason == "TOO_BIG");
  CHECK(rejected[0].seq == 3);
  CHECK(rejected[0].topic == "order_3");
  CHECK(peer.stored() == std::vector<std::uint64_t>{1, 2, 4, 5, 6});
  // 4, 5, 6 were stored under a fresh key stream, so the hole at 3 did not
  // block them; their envelopes keep the producer's seq.
  for (const auto& p : peer.seen())
    if (p.envelope_seq > 3 && p.keyed) CHECK(p.key_seq == p.envelope_seq - 3);
}

TEST_CASE("reliable_publisher: SHALL reject the oldest outstanding message on a TOO_BIG NACK that "
          "names no message") {
  zmq::context_t ctx;
  intake_peer peer(ctx, [](const pub_seen& p, int) {
    return p.envelope_seq == 3 ? action::nack_unattributed : action::store;
  });
  auto opts = options_for(peer);
  std::vector<std::uint64_t> rejected;
  opts.on_rejected = [&](const reliable_publisher::rejection& r) { rejected.push_back(r.seq); };
  reliable_publisher pub(ctx, opts);
  for (int i = 1; i <= 5; ++i) REQUIRE(pub.publish("order_placed", i));
  REQUIRE(pub.flush(5s));
  CHECK(rejected == std::vector<std::uint64_t>{3});
  CHECK(peer.stored() == std::vector<std::uint64_t>{1, 2, 4, 5});
}

TEST_CASE("reliable_publisher: SHALL refuse a message the forwarder could never store without "
          "using a seq") {
  zmq::context_t ctx;
  intake_peer peer(ctx, always_store);
  auto opts = options_for(peer);
  opts.socket.max_message_size = 1024;
  std::vector<reliable_publisher::rejection> rejected;
  opts.on_rejected = [&](const reliable_publisher::rejection& r) { rejected.push_back(r); };
  reliable_publisher pub(ctx, opts);

  CHECK_FALSE(pub.publish(std::string(70000, 't'), 1));           // topic over 65 535 bytes
  CHECK_FALSE(pub.publish("big", zmqkit::binary{std::string(2000, 'x')}));  // envelope over 1 KiB
  REQUIRE(rejected.size() == 2);
  CHECK(rejected[0].reason == "TOO_BIG");
  CHECK(rejected[0].seq == 0);
  CHECK(rejected[1].topic == "big");
  CHECK(pub.stats().rejected == 2);
  CHECK(pub.outstanding() == 0);

  REQUIRE(pub.publish("small", 1));
  REQUIRE(pub.flush(5s));
  CHECK(peer.stored() == std::vector<std::uint64_t>{1});
}

TEST_CASE("reliable_publisher: SHALL return false within send_timeout when the outbox is full and "
          "nothing is acknowledged") {
  zmq::context_t ctx;
  intake_peer peer(ctx, [](const pub_seen&, int) { return action::silent; });
  auto opts = options_for(peer);
  opts.max_outstanding = 5;
  opts.send_timeout = 300ms;
  reliable_publisher pub(ctx, opts);
  for (int i = 1; i <= 5; ++i) REQUIRE(pub.publish("order_placed", i));

  const auto start = clock_type::now();
  CHECK_FALSE(pub.publish("order_placed", 6));
  const auto took = clock_type::now() - start;
  CHECK(took >= 300ms);
  CHECK(took < 3s);
  CHECK(pub.stats().timeouts == 1);
  CHECK(pub.outstanding() == 5);
  CHECK_FALSE(pub.flush(200ms));
  CHECK(pub.stats().acked == 0);
}

TEST_CASE("reliable_publisher: SHALL send again what a dropped connection lost once the intake is "
          "back") {
  zmq::context_t ctx;
  // The first intake lives in a context of its own: closing that context
  // closes its listening socket at once, so the port can be bound again. On
  // the heap: in a std::optional, GCC's -O3 warns that the context's
  // destructor may read it uninitialised after reset() (it cannot).
  auto first_ctx = std::make_unique<zmq::context_t>();
  // Acknowledges message 1, then takes nothing more: 2..5 are lost with it.
  std::optional<intake_peer> first(std::in_place, *first_ctx, [](const pub_seen& p, int) {
    return p.envelope_seq == 1 ? action::store : action::silent;
  });
  const std::string address = first->address();
  auto opts = options_for(*first);
  opts.socket.reconnect_interval = 50ms;
  opts.socket.reconnect_interval_max = 200ms;
  reliable_publisher pub(ctx, opts);
  for (int i = 1; i <= 5; ++i) REQUIRE(pub.publish("order_placed", i));
  CHECK_FALSE(pub.flush(300ms));
  CHECK(pub.outstanding() == 4);
  CHECK(first->stored() == std::vector<std::uint64_t>{1});

  first.reset();
  first_ctx.reset();
  // Back on the same port, remembering that message 1 is stored (a
  // forwarder's sender table survives restarts).
  const std::string sender(reinterpret_cast<const char*>(pub.producer().data()), 16);
  intake_peer second(ctx, always_store, address, {{sender, 1}});
  REQUIRE(pub.flush(10s));
  CHECK(second.stored() == range(2, 5));
  CHECK(pub.stats().acked == 5);
  CHECK(pub.stats().resent >= 4);
}

TEST_CASE("reliable_publisher: SHALL close at once when it never heard from its forwarder, "
          "whatever the linger") {
  zmq::context_t ctx;
  zmqkit::reliable_publisher::options opts;
  opts.endpoints = {zmqkit::endpoint::connect("tcp://127.0.0.1:1")};
  opts.socket.linger = std::chrono::seconds(20);
  std::optional<zmqkit::reliable_publisher> pub(std::in_place, ctx, opts);
  REQUIRE(pub->publish("t", 1));  // queued in the socket for a connection that never comes
  CHECK(pub->outstanding() == 1);
  auto closing = std::async(std::launch::async, [&] { pub.reset(); });
  CHECK(closing.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
}
