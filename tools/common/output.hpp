// How the receiving tools (zmq-sub, zmq-pull, zmq-rep, zmq-req replies)
// print messages: --out-format jsonl|raw|msgpack|pretty, or an -F template.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <zmqkit/envelope.hpp>
#include <zmqkit/metrics.hpp>

namespace zmqkit::tools {

struct output_options {
  std::string format;       // jsonl | raw | msgpack | pretty
  std::string template_text;  // -F
  void add_to(CLI::App& app, const std::string& default_format);
};

// Turns a message into the bytes to print. -F placeholders: {{topic}},
// {{payload}} (JSON), {{raw}}, {{hex}}, {{seq}}, {{producer}}, {{time}}
// (ISO 8601 UTC), {{time_ns}}, {{latency}} (ms since it was sent),
// {{headers}} (JSON), {{header:KEY}}, {{fseq}} (the journal position of a
// message from a forwarder, else empty); \n and \t are escapes; a newline
// ends each message. jsonl and pretty add the fseq only when there is one.
class formatter {
 public:
  explicit formatter(const output_options& opts);
  void append(const zmqkit::message& m, std::string& out) const;

 private:
  enum class kind { jsonl, raw, msgpack, pretty, templated } kind_;
  struct part {
    std::string literal;  // text before the placeholder
    std::string field;    // placeholder name, empty for trailing text
  };
  std::vector<part> parts_;
};

// The payload as JSON text (bin as {"$base64": ...}).
// The headers as a JSON object, keys and values as JSON strings.
void append_headers_json(const zmqkit::message& m, std::string& out);
void append_payload_json(const zmqkit::message& m, std::string& out);
// The payload's bytes if it is bin or str, else its JSON text.
void append_payload_raw(const zmqkit::message& m, std::string& out);
std::string iso8601(std::int64_t time_ns);

// stdout with a large buffer, flushed when full or when the caller is about
// to block waiting, so a pipe sees messages promptly and a flood is cheap.
class stdout_writer {
 public:
  std::string& buffer() noexcept { return buf_; }
  void maybe_flush() { if (buf_.size() >= (1u << 16)) flush(); }
  // Returns false once stdout is closed (EPIPE): the reader has gone.
  bool flush();
  bool closed() const noexcept { return closed_; }

 private:
  std::string buf_;
  bool closed_ = false;
};

// --stats, printed to stderr on exit: received, rate, gaps, duplicates,
// decode errors and end-to-end latency percentiles on one line; then one
// line per topic with its events, rate and latency split (queued before a
// forwarder stored it, transit after; docs/metrics.md); and, for a durable
// subscription, the backlog the forwarder reported last.
class receive_stats {
 public:
  void record(const zmqkit::message& m);
  std::string summary(std::uint64_t received, std::uint64_t gaps, std::uint64_t duplicates,
                      std::uint64_t decode_errors) const;

 private:
  std::chrono::steady_clock::time_point first_{}, last_{};
  bool any_ = false;
  zmqkit::latency_histogram latency_;
  zmqkit::event_metrics topics_;
  std::optional<std::uint64_t> backlog_;
};

}  // namespace zmqkit::tools
