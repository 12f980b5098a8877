// forwarder: the durable store-and-forward device (docs/protocol.md, "The
// durable forwarder"). It stores every message it accepts in a journal on
// disk and hands it on: to plain subscribers (live), to durable
// subscriptions with acknowledgements and redelivery (replay), and to the
// intake of another forwarder (forward-to).
//
// An actor: the constructor opens the journal, binds and connects every
// socket (throwing zmqkit::error if any fails) and starts one thread that
// owns them; the destructor stops it (flush, sync, save positions) and joins.
// The object itself is steered from the thread that made it; only
// metrics() may be called from any thread.
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
#include <zmqkit/metrics.hpp>
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
    std::chrono::milliseconds ack_wait{30000};        // replay: redeliver after this
    std::chrono::milliseconds member_timeout{10000};  // replay: silent member is gone
    std::chrono::milliseconds link_resend{5000};      // forward-to: go back after this
    std::size_t link_window = 10000;   // forward-to: unacknowledged messages in flight
    // Forward-to: a ZMTP PING this often; a next hop silent for three of
    // them (no PONG, or data unacknowledged by its TCP stack: TCP_MAXRT) is
    // dropped and reconnected, so a cut link is noticed within about four
    // intervals. Safe here, unlike on plain sockets, since the link resends
    // whatever is not acknowledged (docs/design-notes.md). 0: the socket
    // options' heartbeat, and no TCP_MAXRT.
    std::chrono::milliseconds link_heartbeat{1000};
    std::size_t max_batch = 4096;      // messages taken per group commit
    // With fsync always, group commits start at most this often: a message
    // that finds the disk idle is committed at once, one that comes while
    // a sync runs or just ran waits for the next commit, at most this long.
    // Fewer, larger fdatasyncs cost the disk less; 0 commits every pass.
    std::chrono::microseconds commit_interval{1000};
    std::chrono::seconds retention_check{10};
    // Notable events and problems (torn tail dropped, segment quarantined,
    // disk full, link up), one line each, called from the actor's thread.
    std::function<void(const std::string&)> on_log;
  };

  struct bound_endpoints {  // what each bind resolved to (ports for "*")
    std::vector<std::string> intake, frontend, live, replay, control, forward_to;
  };

  // What the actor counts from its start (STATS "counters"; libzmq's proxy
  // statistics are the front_* and back_* ones).
  struct counters {
    std::uint64_t stored = 0, duplicates = 0, refused = 0, nacked_full = 0, too_big = 0,
                  bad_frames = 0;
    std::uint64_t live_sent = 0, replay_sent = 0, redelivered = 0, replay_acked = 0;
    std::uint64_t link_sent = 0, link_acked = 0, link_rewinds = 0, link_dropped = 0;
    std::uint64_t front_in = 0, front_in_bytes = 0, front_out = 0, front_out_bytes = 0;
    std::uint64_t back_in = 0, back_in_bytes = 0, back_out = 0, back_out_bytes = 0;
    std::uint64_t damaged_cursors = 0;  // cursor files that failed their checks, set aside
  };

  // The actor's figures at one moment (docs/metrics.md): what STATS
  // reports and a metrics endpoint exports. Rates are over the last second
  // or so.
  struct metrics_snapshot {
    std::string journal_dir;
    std::string fsync;  // the durability policy, as given
    journal::statistics journal_stats;
    latency_histogram sync_latency;  // each fdatasync of the journal
    bool paused = false, full = false;
    counters counts;
    double stored_per_s = 0, delivered_per_s = 0, acked_per_s = 0;
    // Per topic: events and bytes stored, duplicates dropped, consumed
    // (acknowledged by a durable subscription), queued latency (envelope
    // time to stored) and transit latency (stored to sent out).
    event_metrics topics;
    struct subscription {
      std::string name;  // "" for an unnamed one
      std::size_t members = 0;
      std::uint64_t position = 0;  // its ack floor: the first fseq not acknowledged
      std::uint64_t pending = 0;   // sent, not acknowledged yet
      std::uint64_t backlog = 0;   // journal head minus position
      std::uint64_t delivered = 0, acked = 0;  // since the forwarder started
      double acked_per_s = 0;
    };
    std::vector<subscription> subscriptions;
    struct link {
      std::uint64_t position = 0;  // first fseq not acknowledged by the next hop
      std::uint64_t unacknowledged = 0, backlog = 0, acked_seq = 0;
    };
    std::optional<link> forward_to;
    // Cursor files found damaged since start (the first 64; the counter
    // counts them all): what was wrong, and where the file was set aside.
    struct damaged_cursor {
      std::string file;      // DIR/cursors/sub.NAME
      std::string moved_to;  // DIR/cursors/sub.NAME.corrupt; "" when it could not be moved
      std::string problem;   // "not a cursor file (size 7)"
    };
    std::vector<damaged_cursor> damaged_cursors;
  };

  // Opens the journal, binds and connects, and starts the actor. Throws
  // std::invalid_argument for bad options (no journal directory, neither
  // intake nor frontend, link_heartbeat outside 0 to 3600 s), zmqkit::error
  // when a socket or the journal cannot be opened (another forwarder holds
  // it), decode_error when its journal id or forward-to position is
  // unreadable (a damaged subscription position or duplicate table is set
  // aside and reported instead, docs/journal.md).
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
  // The STATS document (JSON), made from a fresh metrics() snapshot: waits
  // for the actor's answer (within about 100 ms); "" once it stopped.
  std::string stats_json();
  // Thread-safe: asks the actor for a fresh snapshot and waits for it (the
  // actor answers between two passes of its loop, within about 100 ms) up to
  // timeout. Gives the latest one it has when the actor is slower or has
  // stopped (its last figures), nullptr if there was never one.
  std::shared_ptr<const metrics_snapshot> metrics(std::chrono::milliseconds timeout =
                                                      std::chrono::milliseconds(1000)) const;

 private:
  struct impl;
  std::unique_ptr<impl> p_;
};

}  // namespace zmqkit
