// zmqkit links: the pattern classes, envelope and all; for the forwarder,
// a reliable publisher into zmqkit's forwarder, its journal on disk, and a
// durable subscriber out of it.
#include <stdlib.h>

#include <filesystem>
#include <optional>
#include <stdexcept>

#include <zmqkit/durable_subscriber.hpp>
#include <zmqkit/forwarder.hpp>
#include <zmqkit/publisher.hpp>
#include <zmqkit/puller.hpp>
#include <zmqkit/pusher.hpp>
#include <zmqkit/reliable_publisher.hpp>
#include <zmqkit/replier.hpp>
#include <zmqkit/requester.hpp>
#include <zmqkit/subscriber.hpp>

#include "zmq_bench/links.hpp"

namespace zmqkit::bench::detail {
namespace {

using namespace std::chrono_literals;

template <class M>
M got(std::optional<M> m, std::uint64_t i) {
  if (!m) throw std::runtime_error("message " + std::to_string(i) + ": none within the deadline");
  return std::move(*m);
}

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

}  // namespace

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

}  // namespace zmqkit::bench::detail
