// Each scenario is built as a "link": a send(i) that hands message i to the
// sending socket, a receive(i) that takes message i from the receiving one
// and checks it, and for the forwarder a way to read acknowledgements while
// the sender waits. One driver then times any link the same way, so zmqkit
// and raw libzmq differ only in what the link does per message.
#include "bench/runs.hpp"

#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <thread>

#include <zmqkit/durable_subscriber.hpp>
#include <zmqkit/envelope.hpp>
#include <zmqkit/forwarder.hpp>
#include <zmqkit/publisher.hpp>
#include <zmqkit/puller.hpp>
#include <zmqkit/pusher.hpp>
#include <zmqkit/reliable_publisher.hpp>
#include <zmqkit/replier.hpp>
#include <zmqkit/requester.hpp>
#include <zmqkit/subscriber.hpp>

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

void histogram::record(std::int64_t ns) {
  // Values below 128 ns each have a bucket. Above, a value whose highest
  // set bit is `top` falls in block top - 6, at the 7 bits below that bit.
  const auto v = static_cast<std::uint64_t>(std::max<std::int64_t>(ns, 0));
  std::size_t index = v;
  if (v >= (1u << sub_bits)) {
    const int top = 63 - __builtin_clzll(v);
    const int shift = top - sub_bits;
    index = (static_cast<std::size_t>(shift + 1) << sub_bits) + ((v >> shift) & ((1u << sub_bits) - 1));
  }
  ++buckets_[std::min(index, buckets_.size() - 1)];
  ++count_;
  max_ = std::max(max_, ns);
}

double histogram::percentile_us(double p) const {
  if (count_ == 0) return 0;
  const auto wanted = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= std::max<std::uint64_t>(wanted, 1)) {
      // The bucket's upper edge: block 0 holds one value per bucket, block
      // k >= 1 the values from (128 + offset) << (k - 1) to the next.
      const std::size_t per = 1u << sub_bits;
      const std::size_t block = i / per, offset = i % per;
      const double upper = block == 0 ? static_cast<double>(offset + 1)
                                      : std::ldexp(static_cast<double>(per + offset + 1),
                                                   static_cast<int>(block) - 1);
      return std::min(upper, static_cast<double>(max_)) / 1000.0;
    }
  }
  return max_us();
}

namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;
constexpr auto deadline = 30s;  // a run with a message this late is broken

// Payload bytes: a pattern, so a message cut short or shifted shows.
std::string pattern(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 131 + 7) & 0xff);
  return s;
}

// Checks the size and the first and last 16 bytes: enough to catch a wrong
// or truncated message without making the check cost more than the send.
void check(std::string_view got, const std::string& want, std::uint64_t i) {
  const std::size_t edge = std::min<std::size_t>(16, want.size());
  if (got.size() != want.size() || std::memcmp(got.data(), want.data(), edge) != 0 ||
      std::memcmp(got.data() + got.size() - edge, want.data() + want.size() - edge, edge) != 0)
    throw std::runtime_error("message " + std::to_string(i) + ": not the " +
                             std::to_string(want.size()) + " bytes sent (got " +
                             std::to_string(got.size()) + ")");
}

std::string_view view(const zmq::message_t& m) { return {static_cast<const char*>(m.data()), m.size()}; }

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

// The two ends of one scenario. receive throws when a message is missing.
struct link {
  std::function<void(std::uint64_t)> send;
  std::function<void(std::uint64_t)> receive;
  // Waits until t; a sender that must read replies meanwhile does so here.
  // Unset: make_link gives it a sleep that a stop ends.
  std::function<void(clock_type::time_point)> wait_until;
  std::function<void()> finish_sending = [] {};
  std::function<void()> cleanup = [] {};
  bool round_trip = false;  // req/rep: send then receive on one thread
};

zmq::message_t receive_raw(zmq::socket_t& s, std::uint64_t i) {
  zmq::message_t m;
  if (!s.recv(m)) throw std::runtime_error("message " + std::to_string(i) + ": none within the deadline");
  return m;
}

void send_raw(zmq::socket_t& s, const std::string& payload, std::uint64_t i) {
  if (!s.send(zmq::buffer(payload), zmq::send_flags::none))
    throw std::runtime_error("message " + std::to_string(i) + ": not taken within the deadline");
}

// impl::frames: zmqkit's two frames, the envelope encoded once up front.
void send_frames(zmq::socket_t& s, const std::string& envelope, std::uint64_t i) {
  if (!s.send(zmq::str_buffer("bench"), zmq::send_flags::sndmore) ||
      !s.send(zmq::buffer(envelope), zmq::send_flags::none))
    throw std::runtime_error("message " + std::to_string(i) + ": not taken within the deadline");
}

void receive_frames(zmq::socket_t& s, const std::string& envelope, std::uint64_t i) {
  if (view(receive_raw(s, i)) != "bench") throw std::runtime_error("message " + std::to_string(i) + ": wrong topic");
  check(view(receive_raw(s, i)), envelope, i);
}

zmq::socket_t raw_socket(zmq::context_t& ctx, zmq::socket_type type) {
  zmq::socket_t s(ctx, type);
  s.set(zmq::sockopt::rcvtimeo, static_cast<int>(std::chrono::milliseconds(deadline).count()));
  s.set(zmq::sockopt::sndtimeo, static_cast<int>(std::chrono::milliseconds(deadline).count()));
  // A sender in its own process exits right after its last send: what is
  // still queued must go out first. A receiver has nothing to deliver but
  // its subscriptions, which must not hold it once the sender is gone.
  const bool sends = type == zmq::socket_type::push || type == zmq::socket_type::xpub ||
                     type == zmq::socket_type::req;
  s.set(zmq::sockopt::linger, sends ? static_cast<int>(std::chrono::milliseconds(deadline).count()) : 0);
  return s;
}

template <class M>
M got(std::optional<M> m, std::uint64_t i) {
  if (!m) throw std::runtime_error("message " + std::to_string(i) + ": none within the deadline");
  return std::move(*m);
}

// Everything a link's lambdas refer to lives here, one per run. It goes
// when the run ends, also when the link failed half made (a stop shuts
// the context down under it): last made first, then the ipc endpoints'
// files.
struct resources {
  std::string payload;
  std::string envelope;  // impl::frames
  std::vector<std::shared_ptr<void>> held;  // sockets, patterns, threads' state
  std::vector<std::string> bound;  // addresses bound here (ipc: a file each)
  template <class T, class... A>
  T& make(A&&... a) {
    auto p = std::make_shared<T>(std::forward<A>(a)...);
    held.push_back(p);
    return *p;
  }
  resources() = default;
  resources(const resources&) = delete;
  resources& operator=(const resources&) = delete;
  ~resources() {
    while (!held.empty()) held.pop_back();
    for (const auto& a : bound) remove_ipc(a);
  }
};

// A forwarder run's journal directory, removed with everything in it.
struct journal_dir {
  std::string path;
  explicit journal_dir(const std::string& parent) : path(parent + "/zmq-bench-journal-XXXXXX") {
    if (::mkdtemp(path.data()) == nullptr)
      throw std::runtime_error(parent + ": cannot make a journal directory there");
  }
  ~journal_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  journal_dir(const journal_dir&) = delete;
  journal_dir& operator=(const journal_dir&) = delete;
};

// zmq_proxy_steerable on a thread, ended by TERMINATE, or by ETERM when
// the context is shut down; joined however the run ends.
class proxy_thread {
 public:
  proxy_thread(zmq::context_t& ctx, zmq::socket_t& front, zmq::socket_t& back, const std::string& control_at)
      : control_(ctx, zmq::socket_type::pair) {
    control_.bind(control_at);
    thread_ = std::thread([&ctx, &front, &back, control_at] {
      try {
        zmq::socket_t steer(ctx, zmq::socket_type::pair);
        steer.connect(control_at);
        zmq::proxy_steerable(front, back, zmq::socket_ref(), steer);
      } catch (const zmq::error_t&) {
        // ETERM: the context was shut down (a stop); the run is over
      }
    });
  }
  ~proxy_thread() { stop(); }
  proxy_thread(const proxy_thread&) = delete;
  proxy_thread& operator=(const proxy_thread&) = delete;

  void stop() {
    if (!thread_.joinable()) return;
    try {
      control_.send(zmq::str_buffer("TERMINATE"), zmq::send_flags::none);
    } catch (const zmq::error_t&) {
      // ETERM: the proxy ends by itself
    }
    thread_.join();
  }

 private:
  zmq::socket_t control_;
  std::thread thread_;
};

// Raw libzmq: same socket types, payload as the only frame.
// The receiving side binds, as libzmq's local_thr does, except in pub/sub
// where the publisher binds, as publishers usually do. In one process the
// binding side is made first and the other connects to what it resolved;
// with one side per process, both use address.
link raw_link(zmq::context_t& ctx, const run_spec& spec, resources& r, const std::string& bind_at,
              const std::string* connect_to, bool sender_side, bool receiver_side) {
  link l;
  const auto& payload = r.payload;
  const bool frames = spec.how == impl::frames;
  if (frames && spec.what == scenario::forwarder)
    throw std::invalid_argument("--impl frames: not for the forwarder");
  if (frames) {
    envelope_writer w;
    const auto m = w.encode(binary{payload});
    r.envelope.assign(static_cast<const char*>(m.data()), m.size());
  }
  const auto& envelope = r.envelope;
  // What the receiver takes and the sender hands over, by impl.
  const auto taker = [frames, &payload, &envelope](zmq::socket_t& rx) -> std::function<void(std::uint64_t)> {
    if (frames) return [&rx, &envelope](std::uint64_t i) { receive_frames(rx, envelope, i); };
    return [&rx, &payload](std::uint64_t i) { check(view(receive_raw(rx, i)), payload, i); };
  };
  const auto giver = [frames, &payload, &envelope](zmq::socket_t& tx) -> std::function<void(std::uint64_t)> {
    if (frames) return [&tx, &envelope](std::uint64_t i) { send_frames(tx, envelope, i); };
    return [&tx, &payload](std::uint64_t i) { send_raw(tx, payload, i); };
  };
  switch (spec.what) {
    case scenario::pushpull: {
      std::string address;
      if (receiver_side) {
        auto& rx = r.make<zmq::socket_t>(raw_socket(ctx, zmq::socket_type::pull));
        rx.bind(bind_at);
        address = rx.get(zmq::sockopt::last_endpoint);
        l.receive = taker(rx);
      }
      if (sender_side) {
        auto& tx = r.make<zmq::socket_t>(raw_socket(ctx, zmq::socket_type::push));
        tx.connect(connect_to ? *connect_to : address);
        l.send = giver(tx);
      }
      return l;
    }
    case scenario::pubsub: {
      std::string address;
      zmq::socket_t* tx = nullptr;
      if (sender_side) {
        tx = &r.make<zmq::socket_t>(raw_socket(ctx, zmq::socket_type::xpub));
        tx->set(zmq::sockopt::xpub_nodrop, 1);  // as zmqkit's publisher here: nothing dropped
        tx->bind(connect_to ? *connect_to : bind_at);
        address = tx->get(zmq::sockopt::last_endpoint);
        l.send = giver(*tx);
      }
      if (receiver_side) {
        auto& rx = r.make<zmq::socket_t>(raw_socket(ctx, zmq::socket_type::sub));
        rx.set(zmq::sockopt::subscribe, "");
        rx.connect(sender_side ? address : bind_at);
        l.receive = taker(rx);
      }
      if (tx != nullptr) (void)receive_raw(*tx, 0);  // the subscription: the slow joiner is in
      return l;
    }
    case scenario::reqrep: {
      // frames: zmqkit's requester options too (REQ_CORRELATE adds a
      // request-id frame, REQ_RELAXED), and both frames each way.
      std::string address;
      if (receiver_side) {
        auto& rep = r.make<zmq::socket_t>(raw_socket(ctx, zmq::socket_type::rep));
        rep.bind(bind_at);
        address = rep.get(zmq::sockopt::last_endpoint);
        l.receive = [&rep, &payload, &envelope, frames](std::uint64_t i) {  // the replier: echo
          auto m = receive_raw(rep, i);
          if (frames) {
            if (view(m) != "bench") throw std::runtime_error("request " + std::to_string(i) + ": wrong topic");
            auto body = receive_raw(rep, i);
            check(view(body), envelope, i);
            rep.send(m, zmq::send_flags::sndmore);
            rep.send(body, zmq::send_flags::none);
            return;
          }
          check(view(m), payload, i);
          rep.send(m, zmq::send_flags::none);
        };
      }
      if (sender_side) {
        auto& req = r.make<zmq::socket_t>(raw_socket(ctx, zmq::socket_type::req));
        if (frames) {
          req.set(zmq::sockopt::req_correlate, 1);
          req.set(zmq::sockopt::req_relaxed, 1);
        }
        req.connect(connect_to ? *connect_to : address);
        l.send = [&req, &payload, &envelope, frames](std::uint64_t i) {
          if (frames) {
            send_frames(req, envelope, i);
            receive_frames(req, envelope, i);
            return;
          }
          req.send(zmq::buffer(payload), zmq::send_flags::none);
          check(view(receive_raw(req, i)), payload, i);
        };
      }
      l.round_trip = true;
      return l;
    }
    case scenario::forwarder: {
      // A device without a journal: PUSH -> zmq_proxy(PULL, PUSH) -> PULL.
      auto& front = r.make<zmq::socket_t>(raw_socket(ctx, zmq::socket_type::pull));
      auto& back = r.make<zmq::socket_t>(raw_socket(ctx, zmq::socket_type::push));
      front.set(zmq::sockopt::rcvtimeo, -1);
      back.set(zmq::sockopt::sndtimeo, -1);
      front.bind(bind_at);
      back.bind(fresh_address(spec.transport));
      // Read before the proxy's thread owns the two sockets.
      const auto front_at = front.get(zmq::sockopt::last_endpoint);
      const auto back_at = back.get(zmq::sockopt::last_endpoint);
      r.bound.insert(r.bound.end(), {front_at, back_at});
      auto& proxy = r.make<proxy_thread>(ctx, front, back, fresh_address("inproc"));
      auto& rx = r.make<zmq::socket_t>(raw_socket(ctx, zmq::socket_type::pull));
      rx.connect(back_at);
      auto& tx = r.make<zmq::socket_t>(raw_socket(ctx, zmq::socket_type::push));
      tx.connect(front_at);
      l.receive = [&rx, &payload](std::uint64_t i) { check(view(receive_raw(rx, i)), payload, i); };
      l.send = [&tx, &payload](std::uint64_t i) { send_raw(tx, payload, i); };
      l.cleanup = [&proxy] { proxy.stop(); };
      return l;
    }
  }
  return l;
}

// zmqkit: the pattern classes, envelope and all.
link zmqkit_link(zmq::context_t& ctx, const run_spec& spec, resources& r, const std::string& bind_at,
                 const std::string* connect_to, bool sender_side, bool receiver_side) {
  link l;
  const auto& payload = r.payload;
  const binary body{payload};
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline);
  switch (spec.what) {
    case scenario::pushpull: {
      std::string address;
      if (receiver_side) {
        auto& rx = r.make<puller>(ctx, puller::options{{endpoint::bind(bind_at)}});
        address = rx.endpoints()[0];
        l.receive = [&rx, &payload, ms](std::uint64_t i) {
          check(got(rx.receive(ms), i).payload_bytes().value_or(""), payload, i);
        };
      }
      if (sender_side) {
        pusher::options o{{endpoint::connect(connect_to ? *connect_to : address)}};
        o.send_timeout = ms;
        o.socket.linger = ms;  // as raw_socket: the queue drains before a sender process exits
        auto& tx = r.make<pusher>(ctx, o);
        l.send = [&tx, body](std::uint64_t i) {
          if (!tx.push("bench", body)) throw std::runtime_error("message " + std::to_string(i) + ": not taken within the deadline");
        };
      }
      return l;
    }
    case scenario::pubsub: {
      std::string address;
      publisher* tx = nullptr;
      if (sender_side) {
        publisher::options o{{endpoint::bind(connect_to ? *connect_to : bind_at)}};
        o.drop_when_full = false;  // as the raw XPUB_NODROP: every message arrives
        o.send_timeout = ms;
        o.socket.linger = ms;
        tx = &r.make<publisher>(ctx, o);
        address = tx->endpoints()[0];
        l.send = [tx, body](std::uint64_t i) {
          if (!tx->publish("bench", body)) throw std::runtime_error("message " + std::to_string(i) + ": not taken within the deadline");
        };
      }
      if (receiver_side) {
        auto& rx = r.make<subscriber>(ctx, subscriber::options{{endpoint::connect(sender_side ? address : bind_at)}});
        l.receive = [&rx, &payload, ms](std::uint64_t i) {
          check(got(rx.receive(ms), i).payload_bytes().value_or(""), payload, i);
        };
      }
      if (tx != nullptr && !tx->wait_for_subscribers(1, ms))
        throw std::runtime_error("no subscriber within the deadline");
      return l;
    }
    case scenario::reqrep: {
      std::string address;
      if (receiver_side) {
        auto& rep = r.make<replier>(ctx, replier::options{{endpoint::bind(bind_at)}});
        address = rep.endpoints()[0];
        l.receive = [&rep, &payload, ms](std::uint64_t i) {
          const auto m = got(rep.receive(ms), i);
          check(m.payload_bytes().value_or(""), payload, i);
          rep.reply(m.topic(), binary{*m.payload_bytes()});
        };
      }
      if (sender_side) {
        requester::options o{{endpoint::connect(connect_to ? *connect_to : address)}};
        o.timeout = ms;
        o.retries = 0;
        auto& req = r.make<requester>(ctx, o);
        l.send = [&req, body, &payload](std::uint64_t i) {
          check(got(req.request("bench", body), i).payload_bytes().value_or(""), payload, i);
        };
      }
      l.round_trip = true;
      return l;
    }
    case scenario::forwarder: {
      const auto& dir = r.make<journal_dir>(spec.journal_parent);  // made first, removed last
      forwarder::options fo;
      fo.journal_dir = dir.path;
      fo.journal_options.sync = durability::parse(spec.fsync);
      fo.intake = {endpoint::bind(bind_at)};
      fo.replay = {endpoint::bind(fresh_address(spec.transport))};
      auto& fwd = r.make<forwarder>(ctx, fo);
      r.bound.push_back(fwd.endpoints().replay[0]);
      durable_subscriber::options so;
      so.endpoints = {endpoint::connect(fwd.endpoints().replay[0])};
      so.start = replay_start::first();
      so.auto_ack = true;
      auto& rx = r.make<durable_subscriber>(ctx, so);
      reliable_publisher::options po{{endpoint::connect(fwd.endpoints().intake[0])}};
      po.send_timeout = ms;
      auto& tx = r.make<reliable_publisher>(ctx, po);
      l.receive = [&rx, &payload, ms](std::uint64_t i) {
        check(got(rx.receive(ms), i).payload_bytes().value_or(""), payload, i);
      };
      l.send = [&tx, body](std::uint64_t i) {
        if (!tx.publish("bench", body)) throw std::runtime_error("message " + std::to_string(i) + ": outbox full past the deadline");
      };
      // Between scheduled sends, read acknowledgements so the outbox drains.
      l.wait_until = [&tx](clock_type::time_point t) {
        while (clock_type::now() < t) {
          zmq::pollitem_t item{tx.socket().handle(), 0, ZMQ_POLLIN, 0};
          const auto left = std::chrono::ceil<std::chrono::milliseconds>(t - clock_type::now());
          if (!(tx.socket().get(zmq::sockopt::events) & ZMQ_POLLIN)) zmq::poll(&item, 1, std::min(left, 1ms));
          (void)tx.poll();
        }
      };
      l.finish_sending = [&tx, ms] {
        if (!tx.flush(ms)) throw std::runtime_error("the forwarder did not acknowledge everything");
      };
      l.cleanup = [&fwd] { fwd.stop(); };
      return l;
    }
  }
  return l;
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
