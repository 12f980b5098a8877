// Raw libzmq links: the same socket types as zmqkit's patterns, the
// payload as the only frame (impl::raw), or zmqkit's own frames encoded
// once up front (impl::frames); for the forwarder, zmq_proxy between a
// PULL and a PUSH, without a journal.
#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>

#include <zmqkit/envelope.hpp>

#include "zmq_bench/links.hpp"

namespace zmqkit::bench::detail {
namespace {

std::string_view view(const zmq::message_t& m) { return {static_cast<const char*>(m.data()), m.size()}; }

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

}  // namespace

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

}  // namespace zmqkit::bench::detail
