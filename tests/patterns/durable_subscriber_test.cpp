// durable_subscriber against a test replay endpoint: a real ROUTER socket on
// tcp://127.0.0.1:*, driven from the test's thread, that speaks
// docs/protocol.md ("Replay"): it reads SUB/CREDIT/ACK/NACK/PING/BYE and
// sends MSG (never beyond the credit it was granted) and ERR.
#include <zmqkit/durable_subscriber.hpp>

#include <doctest/doctest.h>

#include <future>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <zmqkit/monitor.hpp>
#include <zmqkit/msgpack_reader.hpp>

using namespace std::chrono_literals;
using zmqkit::durable_subscriber;
using zmqkit::endpoint;
using zmqkit::replay_start;

namespace {

using frames = std::vector<std::string>;

std::string as_string(const zmq::message_t& m) { return {static_cast<const char*>(m.data()), m.size()}; }

std::uint64_t unpack_uint(const std::string& bytes) {
  zmqkit::msgpack_reader r(bytes);
  const auto v = r.read_uint("uint");
  REQUIRE(r.remaining() == 0);
  return v;
}

std::vector<std::string> unpack_prefixes(const std::string& bytes) {
  zmqkit::msgpack_reader r(bytes);
  std::vector<std::string> out;
  const auto n = r.read_array_header("prefixes");
  for (std::uint32_t i = 0; i < n; ++i) out.emplace_back(r.read_bin("prefix"));
  REQUIRE(r.remaining() == 0);
  return out;
}

class replay_peer {
 public:
  explicit replay_peer(zmq::context_t& ctx) : router_(ctx, zmq::socket_type::router) {
    router_.set(zmq::sockopt::linger, 0);
    router_.bind("tcp://127.0.0.1:*");
    address_ = router_.get(zmq::sockopt::last_endpoint);
  }
  const std::string& address() const { return address_; }

  // The next command from a subscriber, without its identity, if one is there.
  std::optional<frames> poll() {
    zmq::message_t m;
    if (!router_.recv(m, zmq::recv_flags::dontwait)) return std::nullopt;
    identity_ = as_string(m);
    frames f;
    while (m.more()) {
      (void)router_.recv(m);
      f.push_back(as_string(m));
    }
    if (!f.empty() && f[0] == "CREDIT") credit_ += unpack_uint(f.at(1));
    return f;
  }

  // Waits up to timeout for the next command.
  std::optional<frames> wait(std::chrono::milliseconds timeout) {
    zmq::pollitem_t item{router_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout) == 0) return std::nullopt;
    return poll();
  }

  // Sends frames to the last subscriber heard from.
  void send(const frames& f) {
    (void)router_.send(zmq::buffer(identity_), zmq::send_flags::sndmore);
    for (std::size_t i = 0; i < f.size(); ++i)
      (void)router_.send(zmq::buffer(f[i]),
                         i + 1 < f.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }

  // A MSG for fseq, as the forwarder sends it; only with credit.
  void send_msg(std::uint64_t fseq, const std::string& topic = "order_placed") {
    REQUIRE(credit_ > 0);
    --credit_;
    auto body = writer_.encode(static_cast<int>(fseq));
    writer_.commit();
    send({"MSG", topic, as_string(body), zmqkit::encode_position({journal_, fseq})});
  }

  std::uint64_t credit() const { return credit_; }
  // How long closing waits to send what is queued (0 unless set).
  void linger(std::chrono::milliseconds ms) { router_.set(zmq::sockopt::linger, static_cast<int>(ms.count())); }

 private:
  zmq::socket_t router_;
  std::string address_;
  std::string identity_;
  std::uint64_t credit_ = 0;
  zmqkit::envelope_writer writer_;
  zmqkit::producer_id journal_ = zmqkit::make_producer_id();
};

// Lets the subscriber run (receive() in slices, keeping what it returns)
// until the peer has a command for us; fails after 5 s.
frames next_command(durable_subscriber& sub, replay_peer& peer,
                    std::vector<zmqkit::message>* got = nullptr) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (true) {
    if (auto f = peer.poll()) return *f;
    REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline, "no command from the subscriber");
    if (auto m = sub.receive(10ms); m && got) got->push_back(std::move(*m));
  }
}

// The next command that is not a PING.
frames next_non_ping(durable_subscriber& sub, replay_peer& peer,
                     std::vector<zmqkit::message>* got = nullptr) {
  while (true) {
    auto f = next_command(sub, peer, got);
    if (f.at(0) != "PING") return f;
  }
}

durable_subscriber::options options_for(const replay_peer& peer) {
  durable_subscriber::options o;
  o.endpoints = {endpoint::connect(peer.address())};
  return o;
}

}  // namespace

TEST_CASE("durable_subscriber: SHALL send SUB with its name, prefixes and start, then CREDIT") {
  zmq::context_t ctx;
  replay_peer peer(ctx);
  auto opts = options_for(peer);
  opts.name = "billing.v2_eu-1";
  opts.prefixes = {"order_", "user_"};
  opts.start = replay_start::at(std::uint64_t{42});
  opts.window = 10;
  durable_subscriber sub(ctx, opts);

  const auto s = next_command(sub, peer);
  REQUIRE(s.size() == 4);
  CHECK(s[0] == "SUB");
  CHECK(s[1] == "billing.v2_eu-1");
  CHECK(unpack_prefixes(s[2]) == std::vector<std::string>{"order_", "user_"});
  CHECK(s[3] == "fseq:42");
  const auto c = next_command(sub, peer);
  REQUIRE(c.size() == 2);
  CHECK(c[0] == "CREDIT");
  CHECK(unpack_uint(c[1]) == 10);
  CHECK(sub.socket().get(zmq::sockopt::immediate) == 0);
}

TEST_CASE("durable_subscriber: SHALL write each start as the protocol spells it") {
  CHECK(replay_start::first().to_wire() == "first");
  CHECK(replay_start::only_new().to_wire() == "new");
  CHECK(replay_start::resume().to_wire() == "resume");
  CHECK(replay_start{}.to_wire() == "resume");
  CHECK(replay_start::at(std::uint64_t{7}).to_wire() == "fseq:7");
  const auto t = std::chrono::system_clock::time_point(std::chrono::seconds(1764000000));
  CHECK(replay_start::at(t).to_wire() == "time:1764000000000000000");
  CHECK_THROWS_AS(replay_start::at(std::chrono::system_clock::time_point(-1s)).to_wire(),
                  std::invalid_argument);
}

TEST_CASE("durable_subscriber: SHALL refuse a bad name or a zero window before connecting") {
  zmq::context_t ctx;
  CHECK(durable_subscriber::valid_name(""));
  CHECK(durable_subscriber::valid_name(std::string(128, 'a')));
  CHECK_FALSE(durable_subscriber::valid_name(std::string(129, 'a')));
  CHECK_FALSE(durable_subscriber::valid_name("a b"));
  CHECK_FALSE(durable_subscriber::valid_name("a/b"));
  // Names the forwarder's cursor store keeps for itself: BAD_NAME there.
  CHECK_FALSE(durable_subscriber::valid_name(".hidden"));
  CHECK_FALSE(durable_subscriber::valid_name("audit.tmp"));
  CHECK_FALSE(durable_subscriber::valid_name("audit.corrupt"));
  CHECK(durable_subscriber::valid_name("audit.v2"));
  durable_subscriber::options o;
  o.name = "no spaces please";
  CHECK_THROWS_AS(durable_subscriber(ctx, o), std::invalid_argument);
  o.name = "";
  o.window = 0;
  CHECK_THROWS_AS(durable_subscriber(ctx, o), std::invalid_argument);
}

TEST_CASE("durable_subscriber: SHALL keep the stream going within its credit and ack each message") {
  zmq::context_t ctx;
  replay_peer peer(ctx);
  auto opts = options_for(peer);
  opts.window = 4;
  durable_subscriber sub(ctx, opts);
  REQUIRE(next_command(sub, peer).at(0) == "SUB");
  REQUIRE(next_command(sub, peer).at(0) == "CREDIT");
  CHECK(peer.credit() == 4);

  // The peer sends whenever it has credit, never beyond; the subscriber
  // acks everything it gets. All 40 must arrive without a stall.
  constexpr std::uint64_t total = 40;
  std::uint64_t next = 1, ack_expected = 1;
  std::vector<zmqkit::message> got;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (ack_expected <= total) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    while (peer.credit() > 0 && next <= total) peer.send_msg(next++);
    if (auto m = sub.receive(10ms)) {
      REQUIRE(m->position());
      CHECK(m->position()->fseq == static_cast<std::uint64_t>(m->payload_as<int>()));
      sub.ack(*m);
      got.push_back(std::move(*m));
    }
    while (auto f = peer.poll()) {
      if (f->at(0) == "ACK") CHECK(unpack_uint(f->at(1)) == ack_expected++);
      // Granted but unused credit never exceeds the window.
      CHECK(peer.credit() <= 4);
    }
  }
  CHECK(got.size() == total);
  CHECK(sub.stats().received == total);
  CHECK(sub.stats().acked == total);
  CHECK(sub.stats().duplicates == 0);
  CHECK(sub.stats().gaps == 0);
}

TEST_CASE("durable_subscriber: SHALL send NACK with the fseq, and ACK by itself with auto_ack") {
  zmq::context_t ctx;
  replay_peer peer(ctx);
  auto opts = options_for(peer);
  opts.auto_ack = true;
  durable_subscriber sub(ctx, opts);
  REQUIRE(next_command(sub, peer).at(0) == "SUB");
  REQUIRE(next_command(sub, peer).at(0) == "CREDIT");

  peer.send_msg(7);
  std::vector<zmqkit::message> got;
  const auto ack = next_non_ping(sub, peer, &got);
  REQUIRE(got.size() == 1);
  CHECK(ack == frames{"ACK", std::string(1, '\x07')});
  sub.nack(9);
  CHECK(next_non_ping(sub, peer) == frames{"NACK", std::string(1, '\x09')});
  CHECK(sub.stats().nacked == 1);
}

TEST_CASE("durable_subscriber: SHALL PING while idle and re-SUB with resume after ERR UNKNOWN") {
  zmq::context_t ctx;
  replay_peer peer(ctx);
  auto opts = options_for(peer);
  opts.name = "audit";
  opts.start = replay_start::first();
  opts.window = 50;
  opts.ping_interval = 50ms;
  durable_subscriber sub(ctx, opts);
  REQUIRE(next_command(sub, peer).at(3) == "first");
  REQUIRE(next_command(sub, peer).at(0) == "CREDIT");

  // The forwarder restarted and does not know this member: its PING gets ERR UNKNOWN.
  REQUIRE(next_command(sub, peer) == frames{"PING"});
  peer.send({"ERR", "UNKNOWN"});
  const auto again = next_non_ping(sub, peer);
  REQUIRE(again.size() == 4);
  CHECK(again[0] == "SUB");
  CHECK(again[1] == "audit");
  CHECK(again[3] == "resume");
  const auto credit = next_non_ping(sub, peer);
  CHECK(credit == frames{"CREDIT", std::string(1, '\x32')});  // the whole window again
  CHECK(sub.stats().resubscribes == 1);

  // The stream then goes on as before.
  peer.send_msg(1);
  auto m = sub.receive(5s);
  REQUIRE(m);
  CHECK(m->position()->fseq == 1);
}

TEST_CASE("durable_subscriber: SHALL still read the messages that arrived before its connection dropped") {
  zmq::context_t ctx;
  std::optional<replay_peer> peer(std::in_place, ctx);
  std::optional<zmqkit::socket_monitor> monitor;
  auto opts = options_for(*peer);
  opts.socket.on_created = [&](zmq::socket_t& s) { monitor.emplace(ctx, s, ZMQ_EVENT_CONNECT_RETRIED); };
  durable_subscriber sub(ctx, opts);
  REQUIRE(next_command(sub, *peer).at(0) == "SUB");
  REQUIRE(next_command(sub, *peer).at(0) == "CREDIT");
  for (std::uint64_t fseq = 1; fseq <= 20; ++fseq) peer->send_msg(fseq);
  peer->linger(5s);  // the MSGs go out before the connection closes
  peer.reset();
  // Reconnecting: libzmq has handled the dropped connection by now.
  REQUIRE(monitor->next(5s));

  // Still there, for a poll on the socket as for receive().
  zmq::pollitem_t item{sub.socket().handle(), 0, ZMQ_POLLIN, 0};
  CHECK(zmq::poll(&item, 1, 0ms) == 1);
  for (std::uint64_t fseq = 1; fseq <= 20; ++fseq) {
    auto m = sub.receive(1s);
    REQUIRE(m);
    CHECK(m->position()->fseq == fseq);
    sub.ack(*m);
  }
}

TEST_CASE("durable_subscriber: SHALL throw the reason when the forwarder refuses the SUB") {
  zmq::context_t ctx;
  replay_peer peer(ctx);
  durable_subscriber sub(ctx, options_for(peer));
  REQUIRE(next_command(sub, peer).at(0) == "SUB");
  peer.send({"ERR", "BAD_START"});
  try {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) (void)sub.receive(50ms);
    FAIL("receive() did not throw");
  } catch (const zmqkit::error& e) {
    CHECK(e.code() == std::errc::protocol_error);
    CHECK(std::string(e.what()).find("BAD_START") != std::string::npos);
  }
}

TEST_CASE("durable_subscriber: SHALL count and drop malformed frames, never crash") {
  zmq::context_t ctx;
  replay_peer peer(ctx);
  std::vector<std::string> errors;
  auto opts = options_for(peer);
  opts.on_error = [&](const zmqkit::decode_error& e) { errors.emplace_back(e.field()); };
  durable_subscriber sub(ctx, opts);
  REQUIRE(next_command(sub, peer).at(0) == "SUB");
  REQUIRE(next_command(sub, peer).at(0) == "CREDIT");

  zmqkit::envelope_writer w;
  const auto good = w.encode(std::string("ok"));
  const std::string envelope = as_string(good);
  const auto pos = [](std::uint64_t fseq) { return zmqkit::encode_position({{}, fseq}); };
  peer.send({"MSG"});                                                   // frames
  peer.send({"MSG", "t", envelope});                                    // frames
  peer.send({"MSG", "t", std::string("\xdd\xff\x00\x00\x00", 5), pos(3)});  // envelope: acked
  peer.send({"MSG", "t", envelope, "\x92\xc4\x01"});                   // position
  peer.send({"ERR"});                                                   // ERR frames
  peer.send({"ERR", "UNKNOWN", "extra"});                              // ERR frames
  peer.send({"HELLO", "x"});                                            // command
  peer.send({"MSG", "t", envelope, pos(9)});                            // fine

  auto m = sub.receive(5s);
  REQUIRE(m);
  CHECK(m->position()->fseq == 9);
  CHECK(m->payload_as<std::string>() == "ok");
  CHECK(sub.stats().decode_errors == 7);
  CHECK(errors.size() == 7);
  CHECK(sub.stats().received == 1);
  CHECK(sub.stats().resubscribes == 0);
  // The undecodable message was settled, so it does not come back forever.
  CHECK(next_non_ping(sub, peer) == frames{"ACK", std::string(1, '\x03')});
}

TEST_CASE("durable_subscriber: SHALL close at once when it never reached its forwarder, whatever "
          "the linger") {
  // Only its SUB and CREDIT are queued and no message is owed an ACK;
  // waiting out a 20 s linger for a connection would only delay the close.
  zmq::context_t ctx;
  durable_subscriber::options opts;
  opts.name = "never";
  opts.endpoints = {zmqkit::endpoint::connect("tcp://127.0.0.1:1")};
  opts.socket.linger = 20s;
  std::optional<durable_subscriber> sub(std::in_place, ctx, opts);
  CHECK_FALSE(sub->receive(50ms));
  auto closing = std::async(std::launch::async, [&] { sub.reset(); });
  CHECK(closing.wait_for(10s) == std::future_status::ready);
}

TEST_CASE("durable_subscriber: SHALL say BYE when it goes") {
  zmq::context_t ctx;
  replay_peer peer(ctx);
  std::optional<durable_subscriber> sub(std::in_place, ctx, options_for(peer));
  REQUIRE(next_command(*sub, peer).at(0) == "SUB");
  REQUIRE(next_command(*sub, peer).at(0) == "CREDIT");
  peer.send_msg(1);
  auto m = sub->receive(5s);
  REQUIRE(m);
  sub->ack(*m);
  sub.reset();

  std::vector<frames> after;
  while (after.empty() || after.back() != frames{"BYE"}) {
    auto f = peer.wait(5s);
    REQUIRE_MESSAGE(f, "no BYE");
    after.push_back(*f);
  }
  CHECK(after.front() == frames{"ACK", std::string(1, '\x01')});
}
