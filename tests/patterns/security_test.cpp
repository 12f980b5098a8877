// CURVE with the authenticator, end to end over real tcp: who gets in, who
// does not, and what hostile connections cannot do.
#include <zmqkit/authenticator.hpp>
#include <zmqkit/monitor.hpp>
#include <zmqkit/publisher.hpp>
#include <zmqkit/puller.hpp>
#include <zmqkit/pusher.hpp>
#include <zmqkit/replier.hpp>
#include <zmqkit/requester.hpp>
#include <zmqkit/subscriber.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/raw_tcp.hpp"
#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using zmqkit::certificate;
using zmqkit::curve_options;
using zmqkit::endpoint;
using zmqkit::test::read_until_closed;
using zmqkit::test::tcp_connect;

namespace {

// A server certificate, a client whose key is allowed, a stranger whose key
// is not, and the allow-list directory.
struct keyring {
  zmqkit::test::temp_dir dir{"zmqkit-keys"};
  certificate server = certificate::generate();
  certificate client = certificate::generate();
  certificate stranger = certificate::generate();
  std::string allow = dir / "allow";

  keyring() {
    std::filesystem::create_directory(allow);
    client.save(allow + "/client");
    std::filesystem::remove(allow + "/client.key_secret");  // only public keys belong here
  }
  curve_options server_side() const { return curve_options::from(server); }
  curve_options as_client(const certificate& who) const {
    return curve_options::from(who, server.public_key);
  }
  // A publisher's options: a CURVE server on a kernel-chosen tcp port.
  zmqkit::publisher::options publisher_options() const {
    zmqkit::publisher::options o{{endpoint::bind("tcp://127.0.0.1:*")}};
    o.socket.curve = server_side();
    return o;
  }
  // A subscriber's options: a CURVE client of address with who's key.
  zmqkit::subscriber::options subscriber_options(const std::string& address,
                                                 const certificate& who) const {
    zmqkit::subscriber::options o{{endpoint::connect(address)}};
    o.socket.curve = as_client(who);
    return o;
  }
};

constexpr int handshake_events = ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                                 ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                                 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;

// Watches a socket's handshakes from before it connects.
struct handshake_watch {
  zmq::context_t& ctx;
  std::unique_ptr<zmqkit::socket_monitor> monitor{};
  void attach_to(zmqkit::socket_options& o) {
    o.on_created = [this](zmq::socket_t& s) {
      monitor = std::make_unique<zmqkit::socket_monitor>(ctx, s, handshake_events);
    };
  }
  // The next handshake outcome (an event id), or 0 if none came in time.
  int next(std::chrono::milliseconds timeout = 10s) {
    auto e = monitor->next(timeout);
    return e ? e->id : 0;
  }
};

// Connects a subscriber to address with who's key and returns its first n
// handshake outcomes (event ids; 0 for one that did not come in time).
std::vector<int> handshakes(zmq::context_t& ctx, const keyring& k, const std::string& address,
                            const certificate& who, int n = 1) {
  handshake_watch w{ctx};
  auto o = k.subscriber_options(address, who);
  w.attach_to(o.socket);
  zmqkit::subscriber sub(ctx, o);
  std::vector<int> out;
  for (int i = 0; i < n; ++i) out.push_back(w.next());
  return out;
}

// A subscriber socket of our own, set up as a hostile client would be.
zmq::socket_t raw_sub(zmq::context_t& ctx, const std::string& address, handshake_watch& w,
                      const std::function<void(zmq::socket_t&)>& secure) {
  zmq::socket_t s(ctx, zmq::socket_type::sub);
  s.set(zmq::sockopt::linger, 0);
  s.set(zmq::sockopt::subscribe, "");
  w.monitor = std::make_unique<zmqkit::socket_monitor>(ctx, s, handshake_events);
  secure(s);
  s.connect(address);
  return s;
}

}  // namespace

TEST_CASE("security: SHALL carry pub/sub, push/pull and req/rep over CURVE for an allowed key") {
  keyring k;
  zmq::context_t ctx;
  zmqkit::authenticator auth(ctx, {k.allow});

  SUBCASE("pub/sub") {
    auto po = k.publisher_options();
    zmqkit::publisher pub(ctx, po);
    auto so = k.subscriber_options(pub.endpoints()[0], k.client);
    zmqkit::subscriber sub(ctx, so);
    REQUIRE(pub.wait_for_subscribers(1, 10s));
    pub.publish("user_registered", std::string("ada"));
    const auto m = sub.receive(10s);
    REQUIRE(m);
    CHECK(m->payload_as<std::string>() == "ada");
  }
  SUBCASE("push/pull") {
    zmqkit::puller::options lo{{endpoint::bind("tcp://127.0.0.1:*")}};
    lo.socket.curve = k.server_side();
    zmqkit::puller pull(ctx, lo);
    zmqkit::pusher::options uo{{endpoint::connect(pull.endpoints()[0])}};
    uo.socket.curve = k.as_client(k.client);
    zmqkit::pusher push(ctx, uo);
    REQUIRE(push.push("order_placed", 42));
    const auto m = pull.receive(10s);
    REQUIRE(m);
    CHECK(m->payload_as<int>() == 42);
  }
  SUBCASE("req/rep") {
    zmqkit::replier::options ro{{endpoint::bind("tcp://127.0.0.1:*")}};
    ro.socket.curve = k.server_side();
    zmqkit::replier rep(ctx, ro);
    std::thread server([&] {
      (void)rep.serve_one([](const zmqkit::message& m) { return m.payload_as<int>() * 2; }, 20s);
    });
    zmqkit::requester::options qo{{endpoint::connect(rep.endpoints()[0])}};
    qo.socket.curve = k.as_client(k.client);
    qo.timeout = 10s;
    zmqkit::requester req(ctx, qo);
    const auto reply = req.request("double", 21);
    server.join();
    REQUIRE(reply);
    CHECK(reply->payload_as<int>() == 42);
  }
  CHECK(auth.accepted() >= 1);
  CHECK(auth.refused() == 0);
}

TEST_CASE("security: SHALL let nothing through to an unlisted key, a NULL or a PLAIN client") {
  keyring k;
  zmq::context_t ctx;
  std::vector<std::string> log;
  std::mutex log_mutex;
  zmqkit::authenticator auth(ctx, {k.allow}, [&](const std::string& line) {
    std::lock_guard<std::mutex> lock(log_mutex);
    log.push_back(line);
  });
  auto po = k.publisher_options();
  zmqkit::publisher pub(ctx, po);
  const auto address = pub.endpoints()[0];

  handshake_watch stranger_w{ctx}, null_w{ctx}, plain_w{ctx};
  auto stranger = raw_sub(ctx, address, stranger_w, [&](zmq::socket_t& s) {
    s.set(zmq::sockopt::curve_serverkey, k.server.public_key);
    s.set(zmq::sockopt::curve_publickey, k.stranger.public_key);
    s.set(zmq::sockopt::curve_secretkey, k.stranger.secret_key);
  });
  auto null_client = raw_sub(ctx, address, null_w, [](zmq::socket_t&) {});
  auto plain_client = raw_sub(ctx, address, plain_w, [](zmq::socket_t& s) {
    s.set(zmq::sockopt::plain_username, "admin");
    s.set(zmq::sockopt::plain_password, "admin");
  });
  // Each one's handshake fails: the stranger is refused by the ZAP handler
  // (status 400), the others offer a mechanism the server does not speak.
  CHECK(stranger_w.next() == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
  CHECK(null_w.next() == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL);
  const int plain = plain_w.next();
  CHECK(plain != 0);
  CHECK(plain != ZMQ_EVENT_HANDSHAKE_SUCCEEDED);

  // Meanwhile an allowed client gets every message published.
  auto so = k.subscriber_options(address, k.client);
  zmqkit::subscriber friend_(ctx, so);
  REQUIRE(pub.wait_for_subscribers(1, 10s));
  for (int i = 0; i < 100; ++i) pub.publish("order_placed", i);
  for (int i = 0; i < 100; ++i) REQUIRE(friend_.receive(10s));
  CHECK(pub.subscriptions() == 1);  // the three others never subscribed

  for (auto* s : {&stranger, &null_client, &plain_client}) {
    zmq::message_t m;
    CHECK_FALSE(s->recv(m, zmq::recv_flags::dontwait));
  }
  CHECK(auth.refused() >= 1);
  std::lock_guard<std::mutex> lock(log_mutex);
  REQUIRE_FALSE(log.empty());
  CHECK(log[0].find("key not allowed " + k.stranger.public_key) != std::string::npos);
}

TEST_CASE("security: SHALL refuse every client when no authenticator runs (fail closed)") {
  keyring k;
  zmq::context_t ctx;
  zmqkit::publisher pub(ctx, k.publisher_options());
  // Two attempts, both failed: libzmq's CURVE alone would have let it in.
  for (const int e : handshakes(ctx, k, pub.endpoints()[0], k.client, 2)) {
    CHECK(e != 0);
    CHECK(e != ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
  }
  CHECK(pub.subscriptions() == 0);
}

TEST_CASE("security: SHALL follow the allow-list directory and the address lists") {
  keyring k;
  zmq::context_t ctx;

  SUBCASE("a key added to the directory gets in at its next connection, a removed one does not") {
    zmqkit::authenticator auth(ctx, {k.allow});
    zmqkit::publisher pub(ctx, k.publisher_options());
    // libzmq 4.3 does not retry a connection the server refused with 400:
    // each attempt here is a new subscriber.
    const auto attempt = [&](const certificate& who) {
      return handshakes(ctx, k, pub.endpoints()[0], who).at(0);
    };
    CHECK(attempt(k.stranger) == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    k.stranger.save(k.allow + "/stranger");
    std::filesystem::remove(k.allow + "/stranger.key_secret");
    CHECK(attempt(k.stranger) == ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    CHECK(attempt(k.client) == ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    std::filesystem::remove(k.allow + "/client.key");
    CHECK(attempt(k.client) == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
  }
  SUBCASE("a denied address, or one missing from the allowed addresses, is refused") {
    zmqkit::zap_policy policy{k.allow};
    SUBCASE("denied") { policy.deny_addresses = {"127.0.0.1"}; }
    SUBCASE("not among the allowed") { policy.allow_addresses = {"192.0.2.1"}; }
    zmqkit::authenticator auth(ctx, policy);
    zmqkit::publisher pub(ctx, k.publisher_options());
    CHECK(handshakes(ctx, k, pub.endpoints()[0], k.client).at(0) == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
  }
}

TEST_CASE("security: SHALL refuse bad set-ups with a clear error") {
  keyring k;
  zmq::context_t ctx;
  CHECK_THROWS_WITH_AS(zmqkit::authenticator(ctx, {k.dir / "missing"}),
                       doctest::Contains("cannot read the allow-list directory"), zmqkit::key_error);
  std::ofstream(k.allow + "/broken.key") << "garbage\n";
  CHECK_THROWS_WITH_AS(zmqkit::authenticator(ctx, {k.allow}), doctest::Contains("broken.key"),
                       zmqkit::key_error);
  std::filesystem::remove(k.allow + "/broken.key");
  zmqkit::authenticator first(ctx, {k.allow});
  CHECK_THROWS_WITH_AS(zmqkit::authenticator(ctx, {k.allow}), doctest::Contains("has one already"),
                       zmqkit::error);
  auto public_only = k.server;
  public_only.secret_key.clear();
  CHECK_THROWS_AS(curve_options::from(public_only), zmqkit::key_error);
  zmqkit::subscriber::options so{{endpoint::connect("tcp://127.0.0.1:5999")}};
  so.socket.curve = curve_options::from(k.client);  // no server key
  CHECK_THROWS_WITH_AS(zmqkit::subscriber(ctx, so), doctest::Contains("server's public key"),
                       zmqkit::key_error);
}

TEST_CASE("security: SHALL drop connections that never finish the handshake and serve others") {
  keyring k;
  zmq::context_t ctx;
  zmqkit::authenticator auth(ctx, {k.allow});
  auto po = k.publisher_options();
  po.socket.handshake_timeout = 1000ms;
  zmqkit::publisher pub(ctx, po);
  const auto address = pub.endpoints()[0];

  std::vector<int> half_open;
  for (int i = 0; i < 200; ++i) half_open.push_back(tcp_connect(address));
  // Half of them start a ZMTP greeting and stop.
  const char partial[] = {'\xff', 0, 0, 0, 0, 0, 0, 0, 1, '\x7f', 3};
  for (std::size_t i = 0; i < half_open.size(); i += 2)
    REQUIRE(::write(half_open[i], partial, sizeof partial) == static_cast<ssize_t>(sizeof partial));

  auto so = k.subscriber_options(address, k.client);
  zmqkit::subscriber sub(ctx, so);
  REQUIRE(pub.wait_for_subscribers(1, 10s));
  pub.publish("cart_updated", 10);
  REQUIRE(sub.receive(10s));

  // The handshake timeout closes every one of them; they saw no message.
  for (const int fd : half_open) {
    const auto got = read_until_closed(fd, 20s);
    CHECK(got.size() <= 64);  // at most the server's greeting
    ::close(fd);
  }
}

TEST_CASE("security: SHALL survive random bytes on a secured port and leak nothing") {
  keyring k;
  zmq::context_t ctx;
  zmqkit::authenticator auth(ctx, {k.allow});
  auto po = k.publisher_options();
  po.socket.handshake_timeout = 500ms;  // junk announcing a long frame waits this long
  zmqkit::publisher pub(ctx, po);
  const auto address = pub.endpoints()[0];
  auto so = k.subscriber_options(address, k.client);
  zmqkit::subscriber sub(ctx, so);
  REQUIRE(pub.wait_for_subscribers(1, 10s));

  constexpr int rounds = 30;
  std::mt19937 rng(20261123);
  for (int round = 0; round < rounds; ++round) {
    const int fd = tcp_connect(address);
    std::string junk(1 + rng() % 4096, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    if (round % 2 == 1) {  // a valid greeting first, then junk where HELLO belongs
      const std::string greeting("\xff\0\0\0\0\0\0\0\x01\x7f\x03\x00" "CURVE", 17);
      junk = greeting + std::string(64 - greeting.size(), '\0') + junk;
    }
    (void)::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL);
    pub.publish("secret_topic", std::string("the payload"));
    const auto got = read_until_closed(fd, 20s);
    CHECK(got.size() <= 64);
    CHECK(got.find("the payload") == std::string::npos);
    CHECK(got.find("secret_topic") == std::string::npos);
    ::close(fd);
  }
  // The real subscriber got every one and the server is still serving.
  for (int i = 0; i < rounds; ++i) REQUIRE(sub.receive(10s));
  CHECK(auth.accepted() == 1);
}

TEST_CASE("authenticator: SHALL answer a ZAP request with the client's key as its user id, and a "
          "malformed one with 500") {
  // A ZAP request made by hand, as libzmq's session makes it (RFC 27).
  keyring k;
  zmq::context_t ctx;
  zmqkit::authenticator auth(ctx, {k.allow});
  zmq::socket_t req(ctx, zmq::socket_type::req);
  req.set(zmq::sockopt::rcvtimeo, 5000);
  req.connect("inproc://zeromq.zap.01");
  const auto ask = [&](const std::vector<std::string>& frames) {
    for (std::size_t i = 0; i < frames.size(); ++i)
      (void)req.send(zmq::buffer(frames[i]), i + 1 < frames.size() ? zmq::send_flags::sndmore
                                                                 : zmq::send_flags::none);
    std::vector<std::string> reply;
    zmq::message_t m;
    do {
      REQUIRE(req.recv(m));
      reply.emplace_back(static_cast<const char*>(m.data()), m.size());
    } while (m.more());
    return reply;
  };
  const std::string key = zmqkit::z85_key_bytes(k.client.public_key);
  auto reply = ask({"1.0", "req-7", "zmqkit", "127.0.0.1", "", "CURVE", key});
  REQUIRE(reply.size() == 6);
  CHECK(reply[1] == "req-7");
  CHECK(reply[2] == "200");
  CHECK(reply[4] == k.client.public_key);
  reply = ask({"1.0", "req-8", "zmqkit", "127.0.0.1", "", "CURVE", zmqkit::z85_key_bytes(k.stranger.public_key)});
  CHECK(reply[2] == "400");
  CHECK(reply[4].empty());
  reply = ask({"2.0", "req-9"});
  CHECK(reply[1] == "req-9");
  CHECK(reply[2] == "500");
  CHECK(auth.accepted() == 1);
  CHECK(auth.refused() == 2);
}
