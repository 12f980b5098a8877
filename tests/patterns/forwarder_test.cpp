// zmqkit::forwarder in this process, on a real journal in a temporary
// directory, talked to over tcp by the pattern classes and a raw REQ socket:
// plain publishers in at the frontend, plain subscribers out at live, the
// control socket's commands, and members of one durable subscription
// sharing the work. Crash and disk faults are in the zmq-forwarder tests,
// where the forwarder is a process that can be killed.
#include <zmqkit/forwarder.hpp>

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <future>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <zmq_addon.hpp>

#include <zmqkit/durable_subscriber.hpp>
#include <zmqkit/journal.hpp>
#include <zmqkit/monitor.hpp>
#include <zmqkit/publisher.hpp>
#include <zmqkit/reliable_publisher.hpp>
#include <zmqkit/subscriber.hpp>

#include "support/raw_tcp.hpp"
#include "support/request.hpp"
#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using zmqkit::endpoint;
using zmqkit::forwarder;
using nlohmann::json;
using zmqkit::test::request;

namespace {

const endpoint any_port = endpoint::bind("tcp://127.0.0.1:*");

forwarder::options options_in(const zmqkit::test::temp_dir& d) {
  forwarder::options o;
  o.journal_dir = d / "journal";
  o.intake = {any_port};
  o.frontend = {any_port};
  o.live = {any_port};
  o.replay = {any_port};
  o.control = {any_port};
  return o;
}

json stats(forwarder& f) { return json::parse(request(f.endpoints().control.at(0), "STATS").at(0)); }

std::string text(const zmqkit::message& m) { return m.payload_as<std::string>(); }

}  // namespace

TEST_CASE("forwarder: SHALL store what plain publishers send to the frontend and fan it out live with "
          "its journal position") {
  zmqkit::test::temp_dir d;
  zmq::context_t ctx;
  forwarder fwd(ctx, options_in(d));
  zmqkit::publisher pub(ctx, {{endpoint::connect(fwd.endpoints().frontend.at(0))}});
  REQUIRE(pub.wait_for_subscribers(1, 5s));  // the frontend takes every topic
  zmqkit::subscriber sub(ctx, {{endpoint::connect(fwd.endpoints().live.at(0))}});

  // Plain PUB/SUB has no handshake: probe until the live subscription is in.
  bool joined = false;
  for (int i = 0; i < 500 && !joined; ++i) {
    (void)pub.publish("probe", std::string("probe"));
    joined = sub.receive(10ms).has_value();
  }
  REQUIRE(joined);

  for (int i = 1; i <= 100; ++i) (void)pub.publish("orders", std::to_string(i));
  std::vector<zmqkit::message> got;
  while (got.size() < 100) {
    auto m = sub.receive(5s);
    REQUIRE(m);
    if (m->topic() == "orders") got.push_back(std::move(*m));
  }
  std::uint64_t last_fseq = 0;
  for (int i = 0; i < 100; ++i) {
    CHECK(text(got[i]) == std::to_string(i + 1));
    REQUIRE(got[i].position());
    CHECK(got[i].position()->fseq > last_fseq);  // the order they were stored in
    last_fseq = got[i].position()->fseq;
  }
  const auto s = stats(fwd);
  CHECK(s["journal"]["next_fseq"] == last_fseq + 1);
  CHECK(s["counters"]["live_sent"] == s["counters"]["stored"]);
}

TEST_CASE("forwarder: SHALL answer PAUSE, RESUME, STATISTICS, STATS and TERMINATE on its control socket") {
  zmqkit::test::temp_dir d;
  zmq::context_t ctx;
  forwarder fwd(ctx, options_in(d));
  const std::string control = fwd.endpoints().control.at(0);
  zmqkit::reliable_publisher pub(ctx, {{endpoint::connect(fwd.endpoints().intake.at(0))}});

  CHECK(request(control, "PAUSE") == std::vector<std::string>{"OK"});
  CHECK(stats(fwd)["paused"] == true);
  // Paused: nothing is taken in, so nothing is acknowledged.
  for (int i = 1; i <= 10; ++i) REQUIRE(pub.publish("t", i));
  CHECK_FALSE(pub.flush(300ms));
  CHECK(stats(fwd)["counters"]["stored"] == 0);

  CHECK(request(control, "RESUME") == std::vector<std::string>{"OK"});
  CHECK(pub.flush(5s));
  const auto s = stats(fwd);
  CHECK(s["paused"] == false);
  CHECK(s["counters"]["stored"] == 10);
  CHECK(s["journal"]["fsync"] == "always");
  CHECK(s["journal"]["syncs"].get<std::uint64_t>() >= 1);

  // STATISTICS: eight little-endian uint64 frames, as zmq_proxy_steerable's.
  const auto counters = request(control, "STATISTICS");
  REQUIRE(counters.size() == 8);
  for (const auto& c : counters) CHECK(c.size() == 8);
  CHECK(static_cast<unsigned char>(counters[0][0]) >= 10);  // frontend messages in

  const auto unknown = request(control, "REBOOT");
  REQUIRE(unknown.size() == 1);
  CHECK(unknown[0].rfind("ERROR unknown command", 0) == 0);

  CHECK(request(control, "TERMINATE") == std::vector<std::string>{"OK"});
  CHECK(fwd.wait(5s));
  CHECK_FALSE(fwd.failure());
}

TEST_CASE("forwarder: SHALL store a resent message once and acknowledge it again") {
  zmqkit::test::temp_dir d;
  zmq::context_t ctx;
  forwarder fwd(ctx, options_in(d));
  // A publisher that resends everything every 50 ms, acknowledged or not yet.
  zmqkit::reliable_publisher::options po;
  po.endpoints = {endpoint::connect(fwd.endpoints().intake.at(0))};
  po.resend_interval = 50ms;
  zmqkit::reliable_publisher pub(ctx, po);
  CHECK(request(fwd.endpoints().control.at(0), "PAUSE") == std::vector<std::string>{"OK"});
  for (int i = 1; i <= 50; ++i) REQUIRE(pub.publish("t", i));
  // Sent and resent while paused: the intake's queue holds several copies.
  for (int pass = 0; pass < 5; ++pass) CHECK_FALSE(pub.flush(60ms));
  CHECK(pub.stats().resent > 0);
  CHECK(request(fwd.endpoints().control.at(0), "RESUME") == std::vector<std::string>{"OK"});
  CHECK(pub.flush(5s));
  const auto s = stats(fwd);
  CHECK(s["counters"]["stored"] == 50);
  CHECK(s["counters"]["duplicates"].get<std::uint64_t>() > 0);
  CHECK(s["topics"]["t"]["duplicates"] == s["counters"]["duplicates"]);
  CHECK(s["journal"]["next_fseq"] == 51);
}

TEST_CASE("forwarder: SHALL share a durable subscription among its members and give a departed "
          "member's unacknowledged messages to the others") {
  zmqkit::test::temp_dir d;
  zmq::context_t ctx;
  auto o = options_in(d);
  o.member_timeout = 60s;  // departures here are BYEs, not silences
  forwarder fwd(ctx, o);
  const std::string replay = fwd.endpoints().replay.at(0);
  zmqkit::reliable_publisher pub(ctx, {{endpoint::connect(fwd.endpoints().intake.at(0))}});
  for (int i = 1; i <= 1000; ++i) REQUIRE(pub.publish("work", i));
  REQUIRE(pub.flush(10s));

  zmqkit::durable_subscriber::options so;
  so.endpoints = {endpoint::connect(replay)};
  so.name = "workers";
  so.start = zmqkit::replay_start::first();
  so.window = 10;
  zmqkit::durable_subscriber a(ctx, so);
  auto b = std::make_unique<zmqkit::durable_subscriber>(ctx, so);

  // Both take turns; b keeps the first ten it receives without acknowledging
  // them, and stops reading (more may wait for it, unread, in its socket).
  std::map<int, int> times;  // payload -> deliveries
  std::set<int> held_by_b;
  int from_a = 0;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (held_by_b.size() < 10 && std::chrono::steady_clock::now() < deadline) {
    if (auto m = a.receive(5ms)) {
      times[m->payload_as<int>()]++;
      a.ack(*m);
      ++from_a;
    }
    if (auto m = b->receive(5ms)) {
      times[m->payload_as<int>()]++;
      held_by_b.insert(m->payload_as<int>());
    }
  }
  CHECK(from_a > 0);
  REQUIRE(held_by_b.size() == 10);
  b.reset();  // BYE: all that was b's goes back to the group at once

  std::set<int> redelivered;
  while (times.size() < 1000 || redelivered.size() < held_by_b.size()) {
    auto m = a.receive(5s);
    REQUIRE(m);
    const int n = m->payload_as<int>();
    times[n]++;
    a.ack(*m);
    if (held_by_b.count(n)) redelivered.insert(n);
  }
  CHECK(times.size() == 1000);         // every message reached a member
  CHECK(redelivered == held_by_b);     // b's unacknowledged ones went to a
  for (const auto& [n, count] : times) CHECK(count == (held_by_b.count(n) ? 2 : 1));
  CHECK(stats(fwd)["counters"]["redelivered"].get<std::uint64_t>() >= 10);
}

TEST_CASE("forwarder: SHALL report per topic what it stored and what durable subscriptions consumed, "
          "with rates, in STATS and to another thread") {
  zmqkit::test::temp_dir d;
  zmq::context_t ctx;
  auto o = options_in(d);
  o.live.clear();  // every delivery below is to the durable subscription
  forwarder fwd(ctx, o);
  zmqkit::reliable_publisher pub(ctx, {{endpoint::connect(fwd.endpoints().intake.at(0))}});
  for (int i = 1; i <= 30; ++i) REQUIRE(pub.publish("orders", i));
  for (int i = 1; i <= 20; ++i) REQUIRE(pub.publish("audit", i));
  REQUIRE(pub.flush(5s));

  zmqkit::durable_subscriber::options so;
  so.endpoints = {endpoint::connect(fwd.endpoints().replay.at(0))};
  so.name = "billing";
  so.start = zmqkit::replay_start::first();
  so.auto_ack = true;
  zmqkit::durable_subscriber sub(ctx, so);
  for (int i = 0; i < 50; ++i) REQUIRE(sub.receive(5s));

  // The ACKs reach the forwarder after the messages: ask until they are in.
  json s;
  const auto acked = [&] {
    s = stats(fwd);
    return s["subscriptions"].size() == 1 && s["subscriptions"][0]["acked"] == 50;
  };
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!acked() && std::chrono::steady_clock::now() < deadline) (void)sub.receive(10ms);
  INFO("STATS: " << s.dump());
  REQUIRE(s["subscriptions"][0]["acked"] == 50);
  CHECK(s["counters"]["stored"] == 50);  // the fields that were there before stay
  const auto& sub_stats = s["subscriptions"][0];
  CHECK(sub_stats["name"] == "billing");
  CHECK(sub_stats["delivered"] == 50);
  CHECK(sub_stats["backlog"] == 0);
  CHECK(sub_stats["pending"] == 0);
  for (const auto& [topic, n] : {std::pair{"orders", 30}, std::pair{"audit", 20}}) {
    const auto& t = s["topics"][topic];
    CHECK(t["events"] == n);
    CHECK(t["bytes"].get<std::uint64_t>() > static_cast<std::uint64_t>(n) * 20);
    CHECK(t["consumed"] == n);
    CHECK(t["latency_ms"]["queued"]["count"] == n);
    CHECK(t["latency_ms"]["transit"]["count"] == n);
  }
  CHECK(s["journal"]["sync_ms"]["count"].get<std::uint64_t>() >= 1);
  CHECK(s["journal"]["sync_ms"]["count"] == s["journal"]["syncs"]);

  // Rates are refreshed every second or so: keep a message flowing through
  // until a refresh has seen every kind of traffic.
  const auto all_moving = [](const json& st) {
    const auto positive = [](const json& v) { return v.get<double>() > 0; };
    return positive(st["rates"]["stored_per_s"]) && positive(st["rates"]["delivered_per_s"]) &&
           positive(st["rates"]["acked_per_s"]) && positive(st["topics"]["orders"]["events_per_s"]) &&
           positive(st["topics"]["orders"]["consumed_per_s"]) &&
           positive(st["subscriptions"][0]["acked_per_s"]);
  };
  deadline = std::chrono::steady_clock::now() + 10s;
  for (int i = 31; !all_moving(s = stats(fwd)) && std::chrono::steady_clock::now() < deadline; ++i) {
    REQUIRE(pub.publish("orders", i));
    REQUIRE(pub.flush(5s));
    REQUIRE(sub.receive(5s));
  }
  INFO("STATS: " << s.dump());
  CHECK(all_moving(s));

  // metrics(): the same figures, for another thread.
  const auto snap = std::async(std::launch::async, [&] { return fwd.metrics(); }).get();
  REQUIRE(snap);
  CHECK(snap->counts.stored >= 50);
  CHECK(snap->topics.topics().at("audit").events == 20);
  REQUIRE(snap->subscriptions.size() == 1);
  CHECK(snap->subscriptions[0].name == "billing");
  CHECK(snap->fsync == "always");
  fwd.stop();
  const auto last = fwd.metrics();  // the last figures, at once, once stopped
  REQUIRE(last);
  CHECK(last->counts.stored == snap->counts.stored);
}

TEST_CASE("forwarder: SHALL close a named subscription's journal reader when its last member leaves, "
          "and resume it from its position when one comes back") {
  // Each subscription read holds a segment file open: one per name ever
  // used would grow the descriptors for as long as the forwarder runs.
  // Counted are the descriptors on segment files only: a closed ZeroMQ
  // socket's own go later, on libzmq's threads, under load not always
  // before the check, and a position being saved holds one for a moment.
  zmqkit::test::temp_dir d;
  const std::string journal_dir = d / "journal/";
  const auto journal_fds = [&] {
    std::size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
      std::error_code ec;
      const auto target = std::filesystem::read_symlink(e.path(), ec).string();
      const bool segment = target.size() > 4 && target.compare(target.size() - 4, 4, ".log") == 0;
      if (!ec && segment && target.compare(0, journal_dir.size(), journal_dir) == 0) ++n;
    }
    return n;
  };
  zmq::context_t ctx;
  forwarder fwd(ctx, options_in(d));
  zmqkit::reliable_publisher pub(ctx, {{endpoint::connect(fwd.endpoints().intake.at(0))}});
  for (int i = 1; i <= 3; ++i) REQUIRE(pub.publish("orders", std::to_string(i)));
  REQUIRE(pub.flush(10s));
  // How many visitors are still members, from one STATS.
  const auto members = [&] {
    const auto st = stats(fwd);
    int n = 0;
    for (const auto& s : st["subscriptions"])
      if (s["name"].get<std::string>().rfind("visitor-", 0) == 0) n += s["members"].get<int>();
    return n;
  };
  const auto baseline = journal_fds();
  zmqkit::durable_subscriber::options o;
  o.endpoints = {endpoint::connect(fwd.endpoints().replay.at(0))};
  o.start = zmqkit::replay_start::first();
  for (int visitor = 0; visitor < 20; ++visitor) {
    o.name = "visitor-" + std::to_string(visitor);
    zmqkit::durable_subscriber sub(ctx, o);
    auto m = sub.receive(10s);
    REQUIRE(m);
    sub.ack(*m);  // the first acknowledged, the second received and not
    REQUIRE(sub.receive(10s));
    CHECK(journal_fds() > baseline);  // its reader holds a segment open while it is a member
  }  // each leaves with BYE
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (members() != 0 && std::chrono::steady_clock::now() < deadline) {
  }
  REQUIRE(members() == 0);
  CHECK(journal_fds() == baseline);  // not 20 more: the readers are closed

  // Back again: from the position, so "2", never acknowledged, comes again.
  o.name = "visitor-7";
  zmqkit::durable_subscriber back(ctx, o);
  auto m = back.receive(10s);
  REQUIRE(m);
  CHECK(text(*m) == "2");
}

namespace {
std::atomic<int> usr1_taken{0};
void on_usr1(int) { usr1_taken++; }
}  // namespace

// Found by tests/fuzz: libFuzzer's timer (SIGALRM) landed on the actor's
// thread, its poll returned EINTR and the forwarder stopped, failed. A
// process's signal may land on any thread that does not block it, e.g.
// zmq-forwarder's own SIGTERM handler when the main thread has one pending.
TEST_CASE("forwarder: SHALL go on serving when a signal interrupts its poll") {
  struct sigaction sa {}, previous {};
  sa.sa_handler = on_usr1;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART, as the tools' handlers
  REQUIRE(sigaction(SIGUSR1, &sa, &previous) == 0);
  zmqkit::test::temp_dir d;
  zmq::context_t ctx;
  forwarder fwd(ctx, options_in(d));
  const std::string control = fwd.endpoints().control.at(0);
  REQUIRE(request(control, "STATS").size() == 1);  // its thread is up, and waits in its poll

  // Only the actor's thread takes SIGUSR1: it was made before this block,
  // and libzmq's threads block every signal.
  sigset_t usr1, before;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  REQUIRE(pthread_sigmask(SIG_BLOCK, &usr1, &before) == 0);
  REQUIRE(kill(getpid(), SIGUSR1) == 0);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (usr1_taken == 0 && std::chrono::steady_clock::now() < deadline) {
  }
  CHECK(usr1_taken == 1);

  zmqkit::reliable_publisher pub(ctx, {{endpoint::connect(fwd.endpoints().intake.at(0))}});
  REQUIRE(pub.publish("orders", std::string("after the signal")));
  CHECK(pub.flush(10s));
  CHECK(stats(fwd)["counters"]["stored"] == 1);
  CHECK_FALSE(fwd.failure());
  fwd.stop();
  CHECK_FALSE(fwd.failure());
  pthread_sigmask(SIG_SETMASK, &before, nullptr);
  sigaction(SIGUSR1, &previous, nullptr);
}

// Found by tests/fuzz (forwarder_intake): a name of 125 to 128 characters
// passed the SUB check, but its position's cursor, "sub." + name, was too
// long for the cursor store, whose refusal stopped the forwarder.
TEST_CASE("forwarder: SHALL keep the position of a subscription whose name has 128 characters") {
  zmqkit::test::temp_dir d;
  zmq::context_t ctx;
  const std::string name(128, 'n');
  zmqkit::durable_subscriber::options o;
  o.name = name;
  o.start = zmqkit::replay_start::first();
  {
    forwarder fwd(ctx, options_in(d));
    zmqkit::reliable_publisher pub(ctx, {{endpoint::connect(fwd.endpoints().intake.at(0))}});
    REQUIRE(pub.publish("orders", std::string("1")));
    REQUIRE(pub.publish("orders", std::string("2")));
    REQUIRE(pub.flush(10s));
    o.endpoints = {endpoint::connect(fwd.endpoints().replay.at(0))};
    zmqkit::durable_subscriber sub(ctx, o);
    auto m = sub.receive(10s);
    REQUIRE(m);
    CHECK(text(*m) == "1");
    sub.ack(*m);
    const auto acked = [&] {
      const auto st = stats(fwd);
      for (const auto& s : st["subscriptions"])
        if (s["name"] == name) return s["acked"].get<int>();
      return -1;
    };
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (acked() != 1 && std::chrono::steady_clock::now() < deadline) {
    }
    REQUIRE(acked() == 1);
    fwd.stop();  // saves the position
    CHECK_FALSE(fwd.failure());
  }
  CHECK(std::filesystem::exists(d / ("journal/cursors/sub." + name)));
  forwarder fwd(ctx, options_in(d));
  o.endpoints = {endpoint::connect(fwd.endpoints().replay.at(0))};
  zmqkit::durable_subscriber again(ctx, o);
  auto m = again.receive(10s);
  REQUIRE(m);
  CHECK(text(*m) == "2");  // resumed from the saved position
}

TEST_CASE("forwarder: SHALL set a damaged duplicate table aside, say so, count it, and rebuild the "
          "table from the journal") {
  zmqkit::test::temp_dir d;
  zmq::context_t ctx;
  {
    forwarder fwd(ctx, options_in(d));
    zmqkit::reliable_publisher pub(ctx, {{endpoint::connect(fwd.endpoints().intake.at(0))}});
    for (int i = 1; i <= 10; ++i) REQUIRE(pub.publish("t", i));
    REQUIRE(pub.flush(5s));
  }  // stopping saves the table
  const std::string file = d / "journal/cursors/producers";
  { std::ofstream(file, std::ios::binary | std::ios::trunc) << "garbage"; }

  std::vector<std::string> lines;
  auto o = options_in(d);
  o.on_log = [&lines](const std::string& l) { lines.push_back(l); };  // at start: this thread
  forwarder fwd(ctx, o);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == file + ": damaged cursor file (not a cursor file (size 7)), set aside as " + file +
                        ".corrupt; rebuilding the duplicate table from the whole journal");
  const auto m = fwd.metrics();
  REQUIRE(m);
  CHECK(m->counts.damaged_cursors == 1);
  REQUIRE(m->damaged_cursors.size() == 1);
  CHECK(m->damaged_cursors[0].file == file);
  CHECK(m->damaged_cursors[0].moved_to == file + ".corrupt");
  CHECK(std::filesystem::exists(file + ".corrupt"));
  CHECK(stats(fwd)["counters"]["damaged_cursors"] == 1);

  // Rebuilt from the journal: a stored message sent again is a duplicate.
  std::string topic, envelope;
  {
    auto j = zmqkit::journal::open_read_only(d / "journal");
    auto r = j.read_from(5);
    const auto rec = r.next();
    REQUIRE(rec);
    topic = rec->topic;
    envelope = rec->envelope;
  }
  zmq::socket_t raw(ctx, zmq::socket_type::dealer);
  raw.set(zmq::sockopt::linger, 0);
  raw.connect(fwd.endpoints().intake.at(0));
  raw.send(zmq::str_buffer("PUB"), zmq::send_flags::sndmore);
  raw.send(zmq::buffer(topic), zmq::send_flags::sndmore);
  raw.send(zmq::buffer(envelope), zmq::send_flags::none);
  raw.set(zmq::sockopt::rcvtimeo, 5000);
  zmq::message_t reply;
  REQUIRE(raw.recv(reply));
  CHECK(reply.to_string() == "ACK");
  const auto s = stats(fwd);
  CHECK(s["counters"]["duplicates"] == 1);
  CHECK(s["counters"]["stored"] == 0);
}

TEST_CASE("forwarder: SHALL refuse bad options with std::invalid_argument") {
  zmqkit::test::temp_dir d;
  zmq::context_t ctx;
  auto o = options_in(d);
  o.journal_dir.clear();
  CHECK_THROWS_AS(forwarder(ctx, o), std::invalid_argument);
  o = options_in(d);
  o.intake.clear();
  o.frontend.clear();
  CHECK_THROWS_AS(forwarder(ctx, o), std::invalid_argument);
  for (const auto beat : {-1ms, std::chrono::milliseconds(3601s)}) {
    o = options_in(d);
    o.link_heartbeat = beat;
    CHECK_THROWS_AS(forwarder(ctx, o), std::invalid_argument);
  }
}

// A next hop that completes the handshake and then goes silent, as one
// behind a cut link does: raw TCP, so nothing answers the PINGs.
TEST_CASE("forwarder: SHALL drop and reconnect a forward-to link whose next hop answers no PING") {
  zmqkit::test::temp_dir d;
  zmq::context_t ctx;
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(listener >= 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  REQUIRE(::listen(listener, 4) == 0);
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
  const std::string next_hop = "tcp://127.0.0.1:" + std::to_string(ntohs(sa.sin_port));

  auto o = options_in(d);
  o.forward_to = {endpoint::connect(next_hop)};
  o.link_heartbeat = 100ms;
  std::unique_ptr<zmqkit::socket_monitor> link_events;
  o.socket.on_created = [&](zmq::socket_t& s) {
    if (s.get(zmq::sockopt::type) == ZMQ_DEALER)
      link_events = std::make_unique<zmqkit::socket_monitor>(ctx, s, ZMQ_EVENT_DISCONNECTED);
  };
  forwarder fwd(ctx, o);
  REQUIRE(link_events);

  const auto accept_one = [&] {
    pollfd p{listener, POLLIN, 0};
    REQUIRE(::poll(&p, 1, 5000) == 1);
    const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    REQUIRE(fd >= 0);
    const auto hello = zmqkit::test::zmtp_null_handshake("ROUTER");
    REQUIRE(::write(fd, hello.data(), hello.size()) == static_cast<ssize_t>(hello.size()));
    return fd;
  };
  const int first = accept_one();
  // Its PINGs arrive and go unanswered; after 3 intervals it hangs up...
  const auto got = zmqkit::test::read_until_closed(first, 5s);
  CHECK(got.find("\x04PING") != std::string::npos);
  const auto e = link_events->next(5s);
  REQUIRE(e);
  CHECK(e->id == ZMQ_EVENT_DISCONNECTED);
  CHECK(e->endpoint == next_hop);
  // ...and connects again.
  const int second = accept_one();
  ::close(second);
  ::close(first);
  ::close(listener);
  fwd.stop();
  CHECK_FALSE(fwd.failure());
}

TEST_CASE("forwarder: SHALL stop at once when its forward-to link has a next hop that is down, "
          "whatever the linger") {
  // What the link sent waits in the journal until the next hop acknowledges
  // it, so its socket's queue is not worth the linger at close.
  zmqkit::test::temp_dir d;
  zmq::context_t ctx;
  auto o = options_in(d);
  o.forward_to = {endpoint::connect("tcp://127.0.0.1:1")};
  o.socket.linger = 20s;
  std::optional<forwarder> fwd(std::in_place, ctx, o);
  zmqkit::reliable_publisher pub(ctx, {{endpoint::connect(fwd->endpoints().intake.at(0))}});
  for (int i = 0; i < 5; ++i) REQUIRE(pub.publish("t", i));
  REQUIRE(pub.flush(10s));  // stored, and handed to the link, which cannot deliver it
  auto stopping = std::async(std::launch::async, [&] { fwd.reset(); });
  CHECK(stopping.wait_for(10s) == std::future_status::ready);
}

TEST_CASE("forwarder: SHALL get every message of its forward-to link stored by a next hop that lost "
          "them in flight, whichever reaches it first after its restart") {
  // The next hop is killed -9 with the link's messages received and none
  // stored. After its restart the first of them to reach it may be one sent
  // later (queued in the link's socket across the reconnection). It must not
  // start the link's count there: that would acknowledge the earlier ones,
  // and the link would drop them, never stored.
  zmqkit::test::temp_dir d;
  zmq::context_t ctx;
  std::optional<zmq::socket_t> dying(std::in_place, ctx, zmq::socket_type::router);
  dying->set(zmq::sockopt::linger, 0);
  dying->bind("tcp://127.0.0.1:*");
  const std::string next_hop = dying->get(zmq::sockopt::last_endpoint);

  auto o = options_in(d);
  o.forward_to = {endpoint::connect(next_hop)};
  o.link_resend = 200ms;
  forwarder a(ctx, o);
  zmqkit::reliable_publisher pub(ctx, {{endpoint::connect(a.endpoints().intake.at(0))}});
  constexpr int count = 20;
  for (int i = 1; i <= count; ++i) REQUIRE(pub.publish("t", i));
  REQUIRE(pub.flush(10s));

  // The next hop's first life receives them and acknowledges none.
  std::vector<std::vector<std::string>> sent;  // PUB | topic | envelope | key
  dying->set(zmq::sockopt::rcvtimeo, 10000);
  while (sent.size() < count) {
    std::vector<zmq::message_t> frames;
    REQUIRE(zmq::recv_multipart(*dying, std::back_inserter(frames)));
    REQUIRE(frames.size() == 5);
    sent.emplace_back();
    for (std::size_t i = 1; i < frames.size(); ++i) sent.back().push_back(frames[i].to_string());
  }
  dying.reset();

  // Its second life, with an empty journal, first gets the second half, as
  // the link sent them, then a message of another sender: once that one is
  // acknowledged, the intake has answered the ten before it.
  zmqkit::test::temp_dir d2;
  auto o2 = options_in(d2);
  std::optional<forwarder> b(std::in_place, ctx, o2);
  zmq::socket_t queued(ctx, zmq::socket_type::dealer);
  queued.set(zmq::sockopt::linger, 0);
  queued.set(zmq::sockopt::rcvtimeo, 10000);
  queued.connect(b->endpoints().intake.at(0));
  const auto send = [&](const std::vector<std::string>& frames) {
    std::vector<zmq::message_t> m;
    for (const auto& f : frames) m.emplace_back(f.data(), f.size());
    REQUIRE(zmq::send_multipart(queued, m));
  };
  for (int i = count / 2; i < count; ++i) send(sent[i]);
  const std::string other(16, 'o');
  send({"PUB", "marker", sent[0][2], "\x93\xc4\x10" + other + "\x01\x01"});
  std::vector<zmq::message_t> reply;
  REQUIRE(zmq::recv_multipart(queued, std::back_inserter(reply)));
  REQUIRE(reply.size() == 3);
  CHECK(reply[0].to_string() == "ACK");
  CHECK(reply[1].to_string() == other);  // and none for the link's: nothing of it is stored
  const auto first_life = b->metrics();
  REQUIRE(first_life);
  CHECK(first_life->counts.stored == 1);
  CHECK(first_life->counts.refused == count / 2);
  b.reset();

  // Then it listens where the link connects: all of them come, from the
  // first, once each and in order.
  o2.intake = {endpoint::bind(next_hop)};
  b.emplace(ctx, o2);
  zmqkit::durable_subscriber::options so;
  so.endpoints = {endpoint::connect(b->endpoints().replay.at(0))};
  so.name = "check";
  so.prefixes = {"t"};
  so.start = zmqkit::replay_start::first();
  zmqkit::durable_subscriber sub(ctx, so);
  std::vector<int> got;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (got.size() < count && std::chrono::steady_clock::now() < deadline)
    if (auto m = sub.receive(100ms)) {
      got.push_back(m->payload_as<int>());
      sub.ack(*m);
    }
  std::vector<int> wanted(count);
  std::iota(wanted.begin(), wanted.end(), 1);
  CHECK(got == wanted);
  const auto second_life = b->metrics();
  REQUIRE(second_life);
  CHECK(second_life->counts.stored == count);
}
