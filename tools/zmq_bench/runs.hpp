// One benchmark run of zmq-bench: a scenario (pub/sub, push/pull, req/rep,
// or through a forwarder) done either with zmqkit's pattern classes or with
// raw libzmq sockets of the same types carrying the same payload bytes
// (no envelope), sender and receiver on two threads of one process, or
// one side per process (run_sender / run_receiver).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include <zmq.hpp>

#include <zmqkit/metrics.hpp>

namespace zmqkit::bench {

enum class scenario { pubsub, pushpull, reqrep, forwarder };
// zmqkit: the pattern classes. raw: libzmq sockets of the same types with
// the payload as the only frame. frames (not for the forwarder): raw
// libzmq sending the very frames zmqkit puts on the wire (topic, then an
// envelope encoded once; REQ with zmqkit's correlate and relaxed options),
// so zmqkit's own cost shows apart from its format's.
enum class impl { zmqkit, raw, frames };

const char* name(scenario s) noexcept;
const char* name(impl i) noexcept;

struct run_spec {
  scenario what = scenario::pushpull;
  impl how = impl::zmqkit;
  std::string transport = "tcp";  // tcp, ipc, inproc
  std::size_t size = 64;          // payload bytes
  std::uint64_t count = 100000;   // messages (req/rep: round trips)
  // 0: throughput, as fast as the pattern goes. Otherwise latency, open
  // loop: message i is due at start + i / rate and its latency is counted
  // from then, so a stall delays every message behind it in the figures
  // too (no coordinated omission). req/rep measures round trips.
  double rate = 0;
  std::string fsync = "always";    // forwarder: its journal's policy
  std::string journal_parent = "/var/tmp";  // forwarder: where its journal goes
  // Set when the run must end (a signal): a paced sender stops waiting for
  // its next message and the run throws. Blocking socket calls do not see
  // it; shut the context down to end those (zmq_ctx_shutdown: ETERM).
  const std::atomic<bool>* stop = nullptr;
};

// The largest payload a run can carry. zmqkit's receivers take messages up
// to default_max_message_size, envelope included, as in any zmqkit program;
// raw libzmq sockets (raw, frames) set no limit, and zmq-bench stops at 64 MiB.
std::size_t max_payload(impl how) noexcept;

struct run_result {
  double per_second = 0;  // messages (round trips) per second
  // With rate > 0, in nanoseconds: 128 buckets per power of two, so a
  // percentile is within 0.8 % of the truth, in fixed memory.
  latency_histogram latency{7};
};

// Sender and receiver on two threads of this process, on a fresh endpoint
// of spec.transport. Throws std::runtime_error when a message is missing,
// out of order or not the bytes sent.
run_result run_in_process(zmq::context_t& context, const run_spec& spec);

// One side per process, as libzmq's local_thr and remote_thr. The receiver
// (PULL, REP) binds endpoint and the sender (PUSH, REQ) connects, except in
// pub/sub, where the publisher binds and the subscriber connects. The
// receiver reports throughput for pub/sub and push/pull; for req/rep the
// requester reports round trips (throughput, or latency with rate).
run_result run_receiver(zmq::context_t& context, const run_spec& spec, const std::string& endpoint);
run_result run_sender(zmq::context_t& context, const run_spec& spec, const std::string& endpoint);

}  // namespace zmqkit::bench
