// event_bus: handlers per event type (topic) on a subscriber, a puller or a
// durable subscription (docs/event-bus.md).
//
// Each message is one event. The bus decodes its payload into the type its
// handler was registered with and calls the handler; then, for a durable
// subscription, acknowledges it. Around that:
//
// - Idempotent consumption: a dedup_window of (producer, seq) pairs already
//   handled. An event seen again (redelivered, resent) is counted as a
//   duplicate and settled without calling the handler. With
//   options::dedup_file the window survives restarts; a named durable
//   subscription must have one.
// - Retries: a handler that throws is called again after options::backoff,
//   doubling up to max_backoff, until max_attempts. Meanwhile other events
//   go on being handled (so events of one topic may be handled out of
//   order while one of them waits for a retry). A decode_error or a
//   permanent_error is not retried.
// - Dead letters: after the last attempt the event goes to
//   options::dead_letters under options::dead_letter_topic, with its payload
//   and headers and, added, zmqkit.error, zmqkit.attempts, zmqkit.topic,
//   zmqkit.producer, zmqkit.seq (and zmqkit.fseq). For a durable
//   subscription it is acknowledged only once the sink took it.
// - A handler that throws never stops the loop: whatever it throws is
//   caught, counted and retried or dead-lettered.
//
// Delivery is as the source gives it: at most once for a subscriber or a
// puller (an event waiting for a retry is lost if the process ends), at
// least once and then deduplicated for a durable subscription. Not
// thread-safe, except stop(): one bus per thread.
//
// Example:
//   struct order { std::string id; int total; MSGPACK_DEFINE_MAP(id, total) };
//   zmqkit::event_bus::options o;
//   o.dedup_file = "billing.dedup";
//   zmqkit::event_bus bus(ctx, zmqkit::durable_subscriber::options{
//       {zmqkit::endpoint::connect("tcp://fwd:5561")}, "billing", {"order_"}}, o);
//   bus.on<order>("order_placed", [](const order& o) { charge(o); });
//   bus.run();  // until bus.stop()
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include <zmq.hpp>

#include <zmqkit/dedup_window.hpp>
#include <zmqkit/durable_subscriber.hpp>
#include <zmqkit/envelope.hpp>
#include <zmqkit/metrics.hpp>
#include <zmqkit/puller.hpp>
#include <zmqkit/subscriber.hpp>

namespace zmqkit {

class publisher;
class reliable_publisher;

// Thrown by a handler for an event that can never succeed (bad data): it
// goes to the dead letters at once, without retries.
class permanent_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where event_bus sends a dead letter: publishes topic, the original's payload and hdrs.
// Returns false (or throws) when it could not.
using event_bus_dead_letter_sink =
    std::function<bool(std::string_view topic, const message& original, const headers& hdrs)>;

// event_bus::options (at namespace scope so that it can be a default argument).
struct event_bus_options {
  unsigned max_attempts = 5;  // handler calls per event, at least 1
  std::chrono::milliseconds backoff{100};       // before the second attempt, then doubling
  std::chrono::milliseconds max_backoff{5000};  // keep well under the forwarder's ack wait
  std::size_t dedup_window = 100000;               // (producer, seq) pairs remembered
  std::string dedup_file;  // keeps the window across restarts ("": memory only)
  std::string dead_letter_topic = "dead_letter";
  event_bus_dead_letter_sink dead_letters{};  // unset: dead letters are counted, logged and dropped
  std::size_t max_topics = 256;  // metrics: topics counted apart, the rest as "(other)"
  // One line per notable event (dead letter, sink failure, a cut dedup
  // file), from the bus's thread.
  std::function<void(const std::string&)> on_log{};
};

class event_bus {
 public:
  using dead_letter_sink = event_bus_dead_letter_sink;
  using options = event_bus_options;

  struct statistics {
    std::uint64_t received = 0;       // messages taken from the source
    std::uint64_t handled = 0;        // events a handler finished
    std::uint64_t failures = 0;       // handler calls that threw
    std::uint64_t retries = 0;        // handler calls after the first
    std::uint64_t dead_lettered = 0;  // events given up on (sent to the sink, or dropped without one)
    std::uint64_t sink_failures = 0;  // dead letters the sink did not take
    std::uint64_t duplicates = 0;     // events seen before, not handled again
    std::uint64_t unhandled = 0;      // events of a topic without a handler, settled
  };

  // The bus owns its source: one of the three receiving patterns, made from
  // its options. Throws what the source's constructor throws, zmqkit::error
  // for a dedup file that cannot be opened, std::invalid_argument for
  // max_attempts 0, a non-positive backoff, or a named durable subscription
  // without a dedup_file.
  event_bus(zmq::context_t& context, subscriber::options source, options opts = {});
  event_bus(zmq::context_t& context, puller::options source, options opts = {});
  event_bus(zmq::context_t& context, durable_subscriber::options source, options opts = {});
  event_bus(const event_bus&) = delete;
  event_bus& operator=(const event_bus&) = delete;

  // Registers the handler of topic (exact match; a later one replaces it).
  // handler(const T&) or handler(const T&, const message&); the payload is
  // converted with msgpack-c (MSGPACK_DEFINE structs, maps, strings...).
  template <class T, class F>
  event_bus& on(std::string topic, F handler);
  // The raw form: the handler decodes the message itself.
  event_bus& on_message(std::string topic, std::function<void(const message&)> handler);

  // Handles one thing: a retry that is due, or else the next message,
  // waiting up to timeout (forever if negative) for it. False if nothing
  // came. Throws zmqkit::error from the source (EINTR on a signal).
  bool poll(std::chrono::milliseconds timeout);
  // Polls until stop(). Throws as poll(), except for the EINTR of a signal
  // whose handler called stop().
  void run();
  // Makes run() return after the event at hand (at once if it is called
  // before run()); callable from any thread, a handler or a signal handler.
  void stop() noexcept { stop_ = true; }

  // Events waiting for a retry.
  std::size_t retrying() const noexcept { return retries_.size(); }
  // For a durable subscription: messages stored after the last one received
  // (the journal's head minus this subscriber's position); 0 otherwise.
  std::uint64_t backlog() const noexcept { return backlog_; }
  const statistics& stats() const noexcept { return stats_; }
  const event_metrics& metrics() const noexcept { return metrics_; }
  // The source's own counters: gaps and decode errors live there.
  const counters* source_counters() const noexcept;
  const durable_subscriber::statistics* durable_stats() const noexcept;

  // Sinks for options::dead_letters. The publisher must outlive the bus.
  // A reliable_publisher's dead letter counts as taken once the forwarder
  // acknowledged it (flush within timeout), so none is lost.
  static dead_letter_sink to(reliable_publisher& pub,
                             std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  static dead_letter_sink to(publisher& pub);

 private:
  using clock = std::chrono::steady_clock;
  using handler = std::function<void(const message&)>;
  struct key {
    producer_id producer;
    std::uint64_t seq;
    bool operator<(const key& o) const noexcept {
      return seq != o.seq ? seq < o.seq : producer < o.producer;
    }
  };
  struct pending {
    message msg;
    unsigned attempts = 0;
    std::vector<std::uint64_t> also;  // fseqs of copies that came while it waited
  };

  void check_options(bool durable_named);
  std::optional<message> receive(std::chrono::milliseconds timeout);
  void accept(message m);
  void attempt(pending p);
  void failed(pending p, const std::string& error, bool permanent);
  void dead_letter(pending p, const std::string& error);
  void done(pending& p);
  void settle(const pending& p);
  void log(const std::string& line) const {
    if (opts_.on_log) opts_.on_log(line);
  }
  static key key_of(const message& m) { return {m.producer(), m.seq()}; }

  options opts_;
  std::variant<std::monostate, subscriber, puller, durable_subscriber> source_;
  std::map<std::string, handler, std::less<>> handlers_;
  dedup_window seen_;
  std::multimap<clock::time_point, pending> retries_;  // by due time
  std::map<key, std::vector<std::uint64_t>> waiting_;   // events in retries_, with copies' fseqs
  statistics stats_;
  event_metrics metrics_;
  std::uint64_t backlog_ = 0;
  std::atomic<bool> stop_{false};
};

// ----------------------------------------------------------------------------

template <class T, class F>
event_bus& event_bus::on(std::string topic, F handler) {
  static_assert(std::is_invocable_v<F&, const T&> || std::is_invocable_v<F&, const T&, const message&>,
                "the handler takes (const T&) or (const T&, const zmqkit::message&)");
  return on_message(std::move(topic), [h = std::move(handler)](const message& m) mutable {
    const T value = m.payload_as<T>();  // decode_error: not retried
    if constexpr (std::is_invocable_v<F&, const T&, const message&>)
      h(value, m);
    else
      h(value);
  });
}

}  // namespace zmqkit
