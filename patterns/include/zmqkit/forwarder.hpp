// forwarder: the durable store-and-forward device (docs/protocol.md, "The
// durable forwarder"). It stores every message it accepts in a journal on
// disk and hands it on: to plain subscribers (live), to durable
// subscriptions with acknowledgements and redelivery (replay), and to the
// intake of another forwarder (forward-to).
//
// An actor: the constructor opens the journal, binds and connects every
// socket (throwing zmqkit::error if any fails) and starts one thread that
// owns them; the destructor stops it (flush, sync, save positions) and joins.
// The object itself is steered from the thread that made it.
//
// Example:
//   zmqkit::forwarder::options o;
//   o.journal_dir = "/var/lib/zmqkit";
//   o.intake = {zmqkit::endpoint::bind("tcp://*:5560")};
//   o.replay = {zmqkit::endpoint::bind("tcp://*:5561")};
//   zmqkit::forwarder fwd(ctx, o);
//   fwd.wait(zmqkit::forever);  // until TERMINATE or a fatal error
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include <zmqkit/endpoint.hpp>
#include <zmqkit/journal.hpp>
#include <zmqkit/socket_options.hpp>

namespace zmqkit {

class forwarder {
 public:
  struct options {
    std::string journal_dir;  // created if missing; one forwarder per directory
    journal::options journal_options{};
    // Each list may be empty; at least one of intake and frontend is needed.
    std::vector<endpoint> intake;      // ROUTER: reliable publishers, acknowledged
    std::vector<endpoint> frontend;    // XSUB: plain publishers
    std::vector<endpoint> live;        // XPUB: plain subscribers
    std::vector<endpoint> replay;      // ROUTER: durable subscriptions
    std::vector<endpoint> control;     // REP: PAUSE, RESUME, TERMINATE, STATISTICS, STATS
    std::vector<endpoint> forward_to;  // DEALER: the next forwarder's intake
    socket_options socket{};
    std::chrono::milliseconds ack_wait = 30000ms;        // replay: redeliver after this
    std::chrono::milliseconds member_timeout = 10000ms;  // replay: silent member is gone
    std::chrono::milliseconds link_resend = 5000ms;      // forward-to: go back after this
    std::size_t link_window = 10000;   // forward-to: unacknowledged messages in flight
    std::size_t max_batch = 4096;      // messages taken per group commit
    // With fsync always, group commits start at most this often: a message
    // that finds the disk idle is committed at once, one that comes while
    // a sync runs or just ran waits for the next commit, at most this long.
    // Fewer, larger fdatasyncs cost the disk less; 0 commits every pass.
    std::chrono::microseconds commit_interval = 1000us;
    std::chrono::seconds retention_check = 10s;
    // Notable events and problems (torn tail dropped, segment quarantined,
    // disk full, link up), one line each, called from the actor's thread.
    std::function<void(const std::string&)> on_log;
  };

  struct bound_endpoints {  // what each bind resolved to (ports for "*")
    std::vector<std::string> intake, frontend, live, replay, control, forward_to;
  };

  forwarder(zmq::context_t& context, options opts);
  ~forwarder();
  forwarder(const forwarder&) = delete;
  forwarder& operator=(const forwarder&) = delete;

  const bound_endpoints& endpoints() const noexcept;
  // What opening the journal found and repaired.
  const journal::open_report& recovery() const noexcept;

  // Blocks until the actor has stopped (TERMINATE on the control socket, or a
  // fatal error) or timeout passes; true if it has stopped.
  bool wait(std::chrono::milliseconds timeout);
  // Asks the actor to stop and waits for it: stops intake, commits and syncs
  // what it has, saves every position. Idempotent.
  void stop() noexcept;
  // After the actor stopped: why, if it failed (a failed fdatasync above all).
  std::optional<std::string> failure() const;
  // The STATS document (JSON), fetched from the actor; "" once it stopped.
  std::string stats_json();

  struct impl;

 private:
  std::unique_ptr<impl> p_;
};

}  // namespace zmqkit
