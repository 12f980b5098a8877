// durable_subscriber: reads a forwarder's journal through a durable
// subscription, with acknowledgements (docs/protocol.md, "Replay").
//
// Owns one DEALER socket connected to a forwarder's replay endpoint. It
// joins the subscription options::name with "SUB", grants a window of
// credit, and receive() returns each "MSG" as a message whose position()
// is set. Every message must be settled with ack() (done with it) or nack()
// (send it again, possibly to another member); one not acknowledged within
// the forwarder's ack wait (30 s by default) comes again. A named
// subscription resumes where its acknowledgements stopped, across restarts
// of either side: delivery is at-least-once, so a message may come twice
// (deduplicate by producer and seq where it matters).
//
// There is no background thread: credit top-ups, PINGs (every
// options::ping_interval while nothing else is sent) and re-subscribing
// after the forwarder forgot this member ("ERR UNKNOWN": it restarted, or
// heard nothing for its member timeout, 10 s by default) happen inside
// receive(), so call it at least that often. Malformed frames from the
// forwarder are counted in decode_errors, passed to options::on_error and
// dropped. Not thread-safe: one durable_subscriber per thread; share the
// zmq::context_t, not the object.
//
// Example:
//   zmqkit::durable_subscriber sub(ctx, {{zmqkit::endpoint::connect("tcp://fwd:5561")},
//                                        "billing", {"order_"}});
//   while (auto m = sub.receive(1s)) {
//     handle(*m);
//     sub.ack(*m);
//   }
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include <zmqkit/endpoint.hpp>
#include <zmqkit/envelope.hpp>
#include <zmqkit/inbox.hpp>
#include <zmqkit/sequence_tracker.hpp>
#include <zmqkit/socket_options.hpp>

namespace zmqkit {

namespace protocol {
class outgoing;  // a command to send (forwarder_protocol.hpp, internal)
}  // namespace protocol

// Where a subscription starts reading when the forwarder has no stored
// position for its name (an unnamed subscription never has one).
struct replay_start {
  enum class kind {
    first,     // the oldest message in the journal
    only_new,  // only messages stored from now on ("new" on the wire)
    resume,    // the stored position; first if there is none
    fseq,      // this journal position
    time,      // the first message stored at or after this time
  };
  kind what = kind::resume;
  std::uint64_t fseq = 0;                        // for kind::fseq
  std::chrono::system_clock::time_point time{};  // for kind::time

  static replay_start first() { return {kind::first}; }
  static replay_start only_new() { return {kind::only_new}; }
  static replay_start resume() { return {kind::resume}; }
  static replay_start at(std::uint64_t fseq) { return {kind::fseq, fseq}; }
  static replay_start at(std::chrono::system_clock::time_point t) { return {kind::time, 0, t}; }

  // The SUB frame: "first", "new", "resume", "fseq:N" or "time:NS"
  // (docs/protocol.md). Throws std::invalid_argument for a time before 1970.
  std::string to_wire() const;
};

class durable_subscriber {
 public:
  struct statistics {
    std::uint64_t received = 0;       // messages returned by receive()
    std::uint64_t acked = 0;          // ACKs sent
    std::uint64_t nacked = 0;         // NACKs sent
    std::uint64_t decode_errors = 0;  // malformed frames from the forwarder, dropped
    std::uint64_t duplicates = 0;     // messages at or below their producer's last seq
    std::uint64_t gaps = 0;           // seqs missing per producer (only while taking every topic)
    std::uint64_t resubscribes = 0;   // SUBs sent again after ERR UNKNOWN
  };

  struct options {
    std::vector<endpoint> endpoints;    // the forwarder's replay endpoint, usually connect
    std::string name;                   // 1-128 of A-Z a-z 0-9 . _ -; "" for an ephemeral one
    std::vector<std::string> prefixes;  // topic prefixes; empty: every topic
    replay_start start{};               // used only when the name has no stored position
    // Credit: how many messages the forwarder may send ahead of receive().
    std::uint32_t window = 1000;
    bool auto_ack = false;              // ack each message as receive() returns it
    std::chrono::milliseconds ping_interval{1000};
    socket_options socket{};
    error_hook on_error{};  // called with each malformed frame's error
  };

  // Creates the socket, attaches it and queues the SUB and the first
  // credit, which go out once the connection is up. Throws zmqkit::error,
  // or std::invalid_argument for a bad name, start, window or ping_interval.
  durable_subscriber(zmq::context_t& context, options opts);
  // Sends "BYE" (the forwarder hands what was not acknowledged to other
  // members at once) and closes, within the socket's linger; at once if
  // the forwarder was never heard from. Never throws.
  ~durable_subscriber();
  durable_subscriber(const durable_subscriber&) = delete;
  durable_subscriber& operator=(const durable_subscriber&) = delete;

  // Waits up to timeout (forever if negative, not at all if zero) for the
  // next message; nullopt on timeout. Throws zmqkit::error when the
  // forwarder refuses the subscription (ERR BAD_NAME, BAD_START...: code
  // EPROTO, what() names the reason) or the socket fails (EINTR on a signal).
  [[nodiscard]] std::optional<message> receive(std::chrono::milliseconds timeout = forever);

  // Settles a message: it will not come again (but see the file comment on
  // restarts). Never blocks; throws zmqkit::error, or std::invalid_argument
  // for a message without a journal position.
  void ack(const message& m);
  void ack(std::uint64_t fseq);
  // Gives a message back to be delivered again now, to any member.
  void nack(const message& m);
  void nack(std::uint64_t fseq);

  // Whether name is acceptable as options::name ("" included): 1 to 128 of
  // A-Z a-z 0-9 . _ -, not starting with '.' nor ending in .tmp or .corrupt.
  static bool valid_name(std::string_view name) noexcept;

  const std::vector<std::string>& endpoints() const noexcept { return endpoints_; }
  const statistics& stats() const noexcept { return stats_; }
  zmq::socket_t& socket() noexcept { return socket_; }

 private:
  using clock = std::chrono::steady_clock;

  void subscribe(replay_start start);
  void send_command(protocol::outgoing c);
  void flush_pending();
  void ping_if_idle(clock::time_point now);
  std::optional<message> handle_frames();
  std::optional<message> take_message();
  void malformed(const decode_error& e);

  options opts_;
  zmq::socket_t socket_;
  std::vector<std::string> endpoints_;
  // Commands the socket did not take (its queue was full), in order.
  std::deque<std::unique_ptr<protocol::outgoing>> pending_;
  std::uint64_t credit_ = 0;  // MSGs the forwarder may still send
  bool heard_ = false;        // anything ever came from the forwarder
  clock::time_point last_send_{};
  clock::time_point last_sub_{};
  sequence_tracker tracker_;
  statistics stats_;
  std::vector<zmq::message_t> frames_;
};

}  // namespace zmqkit
