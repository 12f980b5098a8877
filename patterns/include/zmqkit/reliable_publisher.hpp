// reliable_publisher: acknowledged publishing to a durable forwarder.
//
// Owns one DEALER socket connected to a forwarder's intake (docs/protocol.md,
// "Intake"). publish() numbers each message, keeps it in a bounded outbox
// and sends it as "PUB" | topic | envelope. The forwarder answers with a
// cumulative "ACK" once messages are in its journal, and acknowledged
// messages leave the outbox. When acknowledgements make no progress for
// options::resend_interval, everything still outstanding is sent again from
// the oldest (go-back-N: the forwarder drops what it already has and refuses
// what lies beyond a gap), which also covers messages lost with a dropped
// connection; ZeroMQ reconnects by itself. Nothing is dropped silently: a
// message is acknowledged, reported through options::on_rejected (the
// forwarder can never store it), or still counted in outstanding().
//
// Messages are handed to the socket even while no forwarder is connected:
// its queue (up to the send HWM) is kept across reconnects and goes out once
// a connection is up, and the outbox keeps each message until it is
// acknowledged.
// There is no background thread: acknowledgements are read and resends
// made inside publish(), poll() and flush(), so call one of them regularly;
// the destructor does not wait for acknowledgements (flush() first).
// Connect to one forwarder: DEALER spreads messages over all its
// connections. Not thread-safe: one reliable_publisher per thread; share the
// zmq::context_t, not the object.
//
// Example:
//   zmqkit::reliable_publisher pub(ctx, {{zmqkit::endpoint::connect("tcp://fwd:5560")}});
//   if (!pub.publish("order_placed", order)) std::cerr << "forwarder not acknowledging\n";
//   if (!pub.flush(10s)) std::cerr << pub.outstanding() << " unacknowledged\n";
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include <zmqkit/endpoint.hpp>
#include <zmqkit/envelope.hpp>
#include <zmqkit/socket_options.hpp>

namespace zmqkit {

class reliable_publisher {
 public:
  // A message the forwarder will never store.
  struct rejection {
    std::string reason;     // "TOO_BIG" or "BAD_FRAME", as the forwarder's NACK said
    std::uint64_t seq = 0;  // the envelope's seq; 0 if refused before it was numbered
    std::string topic;
  };

  struct statistics {
    std::uint64_t sent = 0;           // messages handed to ZeroMQ the first time
    std::uint64_t acked = 0;          // messages acknowledged (left the outbox)
    std::uint64_t resent = 0;         // messages handed to ZeroMQ again
    std::uint64_t nacked = 0;         // NACKs received, any reason (FULL included)
    std::uint64_t rejected = 0;       // messages that can never be stored (see rejection)
    std::uint64_t timeouts = 0;       // publish() calls that gave up on a full outbox
    std::uint64_t decode_errors = 0;  // malformed replies from the forwarder, dropped
  };

  struct options {
    std::vector<endpoint> endpoints;  // one forwarder intake, usually connect
    // socket.max_message_size also bounds what publish() accepts: the
    // forwarder refuses larger envelopes (its default limit is the same).
    socket_options socket{};
    std::size_t max_outstanding = 10000;  // outbox size, in messages
    // How long publish() waits for room in a full outbox; forever if negative.
    std::chrono::milliseconds send_timeout{5000};
    // Without ACK progress for this long, resend everything outstanding.
    std::chrono::milliseconds resend_interval{1000};
    // After a NACK FULL, sending pauses 100 ms, doubling on each further
    // FULL up to this, and then starts again from the oldest message.
    std::chrono::milliseconds max_backoff{5000};
    // Called with each rejected message, from the calling thread, inside
    // publish(), poll() or flush().
    std::function<void(const rejection&)> on_rejected{};
  };

  // Creates the socket and attaches it. Throws zmqkit::error, or
  // std::invalid_argument for a zero max_outstanding or resend_interval.
  reliable_publisher(zmq::context_t& context, options opts);
  // Closes within the socket's linger; at once if the forwarder was never
  // heard from (what the socket holds then waits for a connection that did
  // not come, and is counted in outstanding()). Never throws.
  ~reliable_publisher();
  reliable_publisher(reliable_publisher&&) = default;
  reliable_publisher& operator=(reliable_publisher&&) = default;

  // Encodes payload under topic and puts it in the outbox, sending it as
  // soon as a connection takes it. If the outbox is full, reads
  // acknowledgements for up to send_timeout to make room. False if it is
  // still full (counted in timeouts; no seq used) or if the message is larger
  // than the forwarder accepts (reported to on_rejected). Throws zmqkit::error.
  template <class T>
  [[nodiscard]] bool publish(std::string_view topic, const T& payload, const headers& hdrs = {}) {
    return enqueue(topic, writer_.encode(payload, hdrs));
  }

  // Reads whatever ACK/NACK has arrived, resends what is due, sends what the
  // socket takes; never blocks. Returns how many messages were acknowledged.
  std::size_t poll();

  // Blocks until every message is acknowledged (true) or timeout passes
  // (false; forever if negative). Rejected messages do not count as
  // outstanding. Throws zmqkit::error (EINTR when a signal interrupts it).
  [[nodiscard]] bool flush(std::chrono::milliseconds timeout);

  // Messages published and neither acknowledged nor rejected.
  std::size_t outstanding() const noexcept { return outbox_.size(); }

  const std::vector<std::string>& endpoints() const noexcept { return endpoints_; }
  const statistics& stats() const noexcept { return stats_; }
  const producer_id& producer() const noexcept { return writer_.producer(); }
  zmq::socket_t& socket() noexcept { return socket_; }

 private:
  using clock = std::chrono::steady_clock;
  struct entry {
    std::string topic;
    zmq::message_t body;
    std::uint64_t seq;       // the envelope's
    producer_id sender;      // the key the forwarder files it under (see the .cpp)
    std::uint64_t key_seq;
    bool sent_before = false;
  };

  bool enqueue(std::string_view topic, zmq::message_t body);
  void wait_until(clock::time_point until);
  std::size_t read_replies();
  std::size_t on_ack(std::string_view sender, std::uint64_t seq);
  void on_nack(std::string_view reason, std::string_view sender, std::uint64_t seq);
  void reject(std::size_t index, const std::string& reason);
  void hold(clock::time_point now);
  void run_timers(clock::time_point now);
  bool may_send(const entry& e) const;
  bool can_send(clock::time_point now) const;
  void pump();
  bool send_entry(entry& e);
  void progress(clock::time_point now);

  options opts_;
  zmq::socket_t socket_;
  std::vector<std::string> endpoints_;
  envelope_writer writer_;
  statistics stats_;
  std::deque<entry> outbox_;  // oldest first
  std::size_t next_ = 0;      // outbox_[next_] is the next to hand to ZeroMQ
  producer_id key_sender_;    // the key stream new messages join
  std::uint64_t key_seq_ = 0;
  std::vector<producer_id> confirmed_;  // key streams the forwarder has acknowledged
  clock::time_point last_progress_{};
  clock::time_point hold_until_{};
  std::chrono::milliseconds backoff_;
  std::optional<std::string> unattributed_;  // a TOO_BIG/BAD_FRAME NACK without a key
  unsigned since_read_ = 0;
  clock::time_point last_read_{};
  std::vector<zmq::message_t> frames_;
  bool heard_ = false;  // anything ever came from the forwarder
};

}  // namespace zmqkit
