// zmq-pub --reliable and zmq-sub --replay/--durable, without a forwarder:
// usage errors, the pieces in tools/common, and each tool as a real process
// against a test peer (a real ROUTER socket on tcp://127.0.0.1:* in a thread)
// that speaks docs/protocol.md's intake or replay side. End-to-end tests
// with a real forwarder live with the forwarder's tests.
#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include <zmqkit/envelope.hpp>
#include <zmqkit/msgpack_reader.hpp>

#include "common/output.hpp"
#include "tools/tool_runner.hpp"

using namespace zmqkit::test;
using nlohmann::json;

namespace {

using frames = std::vector<std::string>;

std::string as_string(const zmq::message_t& m) { return {static_cast<const char*>(m.data()), m.size()}; }

std::string pack_uint(std::uint64_t v) {
  msgpack::sbuffer b;
  msgpack::pack(b, v);
  return {b.data(), b.size()};
}

std::uint64_t unpack_uint(const std::string& bytes) {
  zmqkit::msgpack_reader r(bytes);
  return r.read_uint("uint");
}

// A ROUTER on tcp://127.0.0.1:* whose thread hands each message (identity
// first) to handle, which may answer with send(). Stops when destroyed.
class router_peer {
 public:
  using handler = std::function<void(router_peer&, const frames&)>;
  router_peer(zmq::context_t& ctx, handler h) : socket_(ctx, zmq::socket_type::router), handle_(std::move(h)) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind("tcp://127.0.0.1:*");
    address_ = socket_.get(zmq::sockopt::last_endpoint);
    thread_ = std::thread([this] {
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      while (!stop_) {
        if (zmq::poll(&item, 1, std::chrono::milliseconds(20)) == 0) continue;  // checks stop_
        frames f;
        zmq::message_t m;
        do {
          (void)socket_.recv(m);
          f.push_back(as_string(m));
        } while (m.more());
        try {
          handle_(*this, f);
        } catch (const std::exception& e) {
          FAIL_CHECK("test peer: " << std::string(e.what()));
        }
      }
    });
  }
  ~router_peer() {
    stop_ = true;
    thread_.join();
  }
  const std::string& address() const { return address_; }
  void send(const frames& f) {
    for (std::size_t i = 0; i < f.size(); ++i)
      (void)socket_.send(zmq::buffer(f[i]), i + 1 < f.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }

 private:
  zmq::socket_t socket_;
  handler handle_;
  std::string address_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// An intake that acknowledges every PUB under its key, except that it
// NACKs TOO_BIG the message whose envelope seq is reject_seq.
router_peer::handler intake(std::atomic<int>& pubs, std::uint64_t reject_seq = 0) {
  return [&pubs, reject_seq](router_peer& p, const frames& f) {
    if ((f.size() != 4 && f.size() != 5) || f[1] != "PUB")
      throw std::runtime_error("not PUB | topic | envelope [| key]");
    ++pubs;
    auto m = zmqkit::message::decode(zmq::message_t(f[2].data(), f[2].size()),
                                     zmq::message_t(f[3].data(), f[3].size()));
    std::string sender(reinterpret_cast<const char*>(m.producer().data()), 16);
    std::uint64_t seq = m.seq();
    if (f.size() == 5) {
      zmqkit::msgpack_reader r(f[4]);
      r.read_array_header("key");
      sender = std::string(r.read_bin("key.sender"));
      seq = r.read_uint("key.seq");
    }
    if (m.seq() == reject_seq) p.send({f[0], "NACK", "TOO_BIG", sender, pack_uint(seq)});
    else p.send({f[0], "ACK", sender, pack_uint(seq)});
  };
}

}  // namespace

TEST_CASE("zmq-pub: SHALL exit 2 when --reliable meets --wait-subscribers or --drop, or "
          "--ack-timeout comes without --reliable") {
  check_usage_error({"zmq-pub", "--reliable", "--wait-subscribers", "1", "-m", "x"});
  check_usage_error({"zmq-pub", "--reliable", "--drop", "-m", "x"});
  check_usage_error({"zmq-pub", "--ack-timeout", "3", "-m", "x"});
  check_usage_error({"zmq-pub", "--reliable", "--ack-timeout", "0", "-m", "x"});
}

TEST_CASE("zmq-sub: SHALL exit 2 with one stderr line on a bad --replay or --durable value") {
  // -W 2: a tool that wrongly accepted the value still ends, with 3.
  for (const std::string bad : {"bogus", "-5x", "-m", "5m", "2026-13-01T00:00:00Z",
                                "2026-02-30T10:00:00Z", "2026-11-23T10:00:00", "1969-12-31T00:00:00Z",
                                "99999999999999999999999"})
    check_usage_error({"zmq-sub", "--replay", bad, "-W", "2"});
  for (const std::string& bad : std::vector<std::string>{"", "has space", "slash/no", std::string(129, 'n')})
    check_usage_error({"zmq-sub", "--durable", bad, "-W", "2"});
}

TEST_CASE("output: SHALL add the journal position to jsonl, pretty and {{fseq}} only when there is "
          "one") {
  zmqkit::envelope_writer w(zmqkit::producer_id{1});
  auto m = zmqkit::message::decode(zmq::message_t("t", 1), w.encode(1));
  zmqkit::tools::output_options o;
  o.format = "jsonl";
  std::string plain;
  zmqkit::tools::formatter(o).append(m, plain);
  CHECK(plain.find("fseq") == std::string::npos);

  m.set_position({{}, 77});
  std::string line;
  zmqkit::tools::formatter(o).append(m, line);
  CHECK(line == plain.substr(0, plain.find(",\"headers\"")) + ",\"fseq\":77" +
                    plain.substr(plain.find(",\"headers\"")));
  o.format = "pretty";
  std::string pretty;
  zmqkit::tools::formatter(o).append(m, pretty);
  CHECK(pretty.find("\nfseq      77\n") != std::string::npos);
  o.template_text = "[{{fseq}}]";
  std::string templated;
  zmqkit::tools::formatter(o).append(m, templated);
  CHECK(templated == "[77]\n");
}

TEST_CASE("zmq-pub --reliable: SHALL exit 0 once the intake has acknowledged every message") {
  zmq::context_t ctx;
  std::atomic<int> pubs{0};
  router_peer peer(ctx, intake(pubs));
  const auto r = run({"zmq-pub", "--reliable", ">" + peer.address(), "-t", "order_placed", "-m",
                      "a", "-m", "b", "-m", "c", "--stats"});
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 0);
  CHECK(pubs == 3);
  CHECK(r.err == "zmq-pub: stats: sent 3, acked 3, resent 0, nacked 0, rejected 0, "
                 "unacknowledged 0\n");
}

TEST_CASE("zmq-pub --reliable: SHALL report a message the forwarder rejected and exit 1") {
  zmq::context_t ctx;
  std::atomic<int> pubs{0};
  router_peer peer(ctx, intake(pubs, 2));
  const auto r = run({"zmq-pub", "--reliable", ">" + peer.address(), "-t", "order_placed", "-m",
                      "m{{seq}}", "-n", "4"});
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("zmq-pub: message seq 2 on topic 'order_placed' rejected by the forwarder: "
                   "TOO_BIG\n") != std::string::npos);
  CHECK(r.err.find("zmq-pub: 1 message(s) rejected, 3 acknowledged\n") != std::string::npos);
}

TEST_CASE("zmq-pub --reliable: SHALL exit 4 and say how many are unacknowledged when no forwarder "
          "answers") {
  const auto r = run({"zmq-pub", "--reliable", ">" + absent_endpoint("intake"), "-m", "a", "-m", "b",
                      "-m", "c", "--ack-timeout", "0.3"});
  CHECK(r.exit_code == 4);
  CHECK(r.err == "zmq-pub: 3 of 3 messages not acknowledged within 0.3 s (--ack-timeout)\n");
}

TEST_CASE("zmq-pub --reliable: SHALL say it was stopped by a signal, not that --ack-timeout "
          "passed, when SIGINT comes with messages unacknowledged") {
  zmq::context_t ctx;
  std::atomic<int> pubs{0};
  router_peer silent(ctx, [&pubs](router_peer&, const frames&) { ++pubs; });  // never ACKs
  process pub(tool({"zmq-pub", "--reliable", ">" + silent.address(), "-m", "a", "-n", "3"}));
  const auto deadline = std::chrono::steady_clock::now() + line_deadline;
  while (pubs < 3) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    (void)pub.read_line(10ms);  // waits on its stdout, which stays empty
  }
  pub.kill(SIGINT);
  CHECK(exit_code(pub) == 4);
  CHECK(pub.stderr_text() == "zmq-pub: 3 of 3 messages not acknowledged when stopped by a signal\n");
}

TEST_CASE("zmq-sub --durable: SHALL subscribe with its name and -t prefixes, print jsonl with fseq "
          "and ack each message once printed") {
  zmq::context_t ctx;
  std::mutex mutex;
  std::condition_variable arrived;
  std::vector<frames> commands;  // without identities
  zmqkit::envelope_writer w;
  const auto journal = zmqkit::make_producer_id();
  router_peer peer(ctx, [&](router_peer& p, const frames& f) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      commands.emplace_back(f.begin() + 1, f.end());
    }
    arrived.notify_all();
    if (f.at(1) != "CREDIT") return;
    for (std::uint64_t fseq = 11; fseq <= 13; ++fseq) {
      auto body = w.encode(std::string("order ") + std::to_string(fseq));
      w.commit();
      p.send({f[0], "MSG", "order_placed", as_string(body), zmqkit::encode_position({journal, fseq})});
    }
  });
  process sub(tool({"zmq-sub", ">" + peer.address(), "--durable", "billing", "-t", "order_", "-t",
                    "user_", "--out-format", "jsonl", "-C", "3"}));
  const auto lines = read_lines(sub);
  CHECK(exit_code(sub) == 0);
  REQUIRE(lines.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto j = json::parse(lines[i]);
    CHECK(j["fseq"] == 11 + i);
    CHECK(j["payload"] == "order " + std::to_string(11 + i));
  }

  // Everything up to BYE, which the subscriber sends as it closes.
  std::vector<frames> seen;
  {
    std::unique_lock<std::mutex> lock(mutex);
    const bool bye = arrived.wait_for(lock, line_deadline, [&] {
      return !commands.empty() && commands.back() == frames{"BYE"};
    });
    REQUIRE_MESSAGE(bye, "no BYE; stderr: " << sub.stderr_text());
    seen = commands;
  }
  REQUIRE(seen.size() >= 6);
  REQUIRE(seen[0].size() == 4);
  CHECK(seen[0][0] == "SUB");
  CHECK(seen[0][1] == "billing");
  CHECK(seen[0][3] == "resume");
  CHECK(seen[1] == frames{"CREDIT", pack_uint(3)});  // no more than -C takes
  std::vector<std::uint64_t> acked;
  for (const auto& c : seen)
    if (c.at(0) == "ACK") acked.push_back(unpack_uint(c.at(1)));
  CHECK(acked == std::vector<std::uint64_t>{11, 12, 13});
}

TEST_CASE("zmq-sub --replay: SHALL send the start it was given, with an unnamed subscription") {
  zmq::context_t ctx;
  std::mutex mutex;
  std::condition_variable arrived;
  std::vector<frames> subs;
  router_peer peer(ctx, [&](router_peer&, const frames& f) {
    if (f.at(1) != "SUB") return;
    {
      std::lock_guard<std::mutex> lock(mutex);
      subs.emplace_back(f.begin() + 1, f.end());
    }
    arrived.notify_all();
  });
  const auto r = run({"zmq-sub", ">" + peer.address(), "--replay", "42", "-W", "0.5"});
  CHECK(r.exit_code == 3);
  std::unique_lock<std::mutex> lock(mutex);
  REQUIRE(arrived.wait_for(lock, line_deadline, [&] { return !subs.empty(); }));
  CHECK(subs[0] == frames{"SUB", "", std::string("\x90", 1), "fseq:42"});
}
