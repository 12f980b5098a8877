// Where the sending tools (zmq-pub, zmq-push, zmq-req) get their messages,
// and how each is read: -m / -f / -l / -s, --in-format, -t, -H, templates.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <zmqkit/envelope.hpp>

namespace zmqkit::tools {

// Makes a repeatable option take exactly one word per occurrence.
void one_word_each(CLI::Option& option);

// One message ready to send: topic, headers and the payload as msgpack.
struct outgoing {
  std::string topic;
  zmqkit::headers headers;
  std::string payload;  // exactly one msgpack value
};

struct input_options {
  std::vector<std::string> messages;  // -m, each one message, templates expanded
  std::string file;                   // -f: the whole file is one message
  bool lines = false;                 // -l: one message per stdin line (the default)
  bool slurp = false;                 // -s: all of stdin is one message
  std::string format = "raw";         // raw | json | msgpack | jsonl-envelope
  std::string topic;                  // -t
  std::vector<std::string> headers;   // -H key=value
  std::int64_t count = -1;            // --count
  bool strict = false;                // stop at the first bad input
  // The largest message the tool may send (its --max-size): input longer
  // than this is refused as soon as it is, never read into memory whole.
  std::size_t max_size = zmqkit::default_max_message_size;
  void add_to(CLI::App& app, bool with_topic = true);
};

// Reads messages as input_options says. Bad input (a line that is not JSON,
// a header without '=', a line longer than max_size) is reported through
// the callback with its position, counted in rejected(), and skipped,
// unless strict: then next() throws. Input that cannot go on (a msgpack
// value too large to read, stdin or a file over max_size with -s or -f)
// throws std::runtime_error naming where. A unit cut short by SIGINT or
// SIGTERM (a line without its end, a partial msgpack value, -s or -f not
// read to the end) is not a message: it is reported as not sent, and is
// not counted as rejected. Memory stays within about max_size plus one
// read, whatever the input.
class message_source {
 public:
  using reporter = std::function<void(const std::string&)>;
  message_source(const input_options& opts, reporter report);

  // The next message, or nullopt when the input is used up.
  std::optional<outgoing> next();
  // Refuses the message next() returned last, for reason (e.g. the sender
  // found it too large): reported and counted as bad input is.
  void reject(const std::string& reason);
  std::uint64_t rejected() const noexcept { return rejected_; }
  // The sender stopped on a signal: says which unit read so far is cut
  // short (a line without its end, a partial msgpack value), if one is.
  void stopped();

 private:
  struct unit {
    std::string_view bytes;
    bool too_long = false;  // a line over max_size: its start, the rest is skipped
  };
  // The next piece of input: a view into buffer_, units_ or scratch_,
  // valid until the next call.
  std::optional<unit> next_unit();
  std::string position() const;
  bool read_more();
  std::optional<unit> next_line();
  std::optional<std::string_view> next_msgpack_value();
  // All of fd (stdin, or -f's file) as one unit; throws past max_size;
  // nullopt when a signal stopped the reading before the end.
  std::optional<std::string> read_bounded(int fd, const std::string& name) const;
  // A unit the signal cut short: said on stderr, never sent.
  void cut_short(const std::string& what, std::size_t bytes) const;

  input_options opts_;
  reporter report_;
  enum class mode { messages, whole, lines, msgpack_stream } mode_;
  zmqkit::headers extra_headers_;
  std::vector<std::string> units_;  // -m texts, or the -f / -s content
  std::string buffer_;              // stdin not yet consumed
  std::string chunk_;               // where each read() lands
  std::string scratch_;             // the last expanded -m template
  std::string where_;               // the last unit's position, but for lines
  bool line_where_ = false;         // the last unit was line line_no_
  std::size_t buffer_pos_ = 0;      // where buffer_'s unconsumed bytes start
  std::size_t scan_pos_ = 0;        // no '\n' in buffer_ from buffer_pos_ to here
  std::uint64_t consumed_ = 0;      // stdin bytes dropped from buffer_'s front
  bool skipping_line_ = false;      // inside a line refused as too long
  bool eof_ = false;
  bool stopped_ = false;            // eof_ came from a signal, not the input's end
  std::uint64_t produced_ = 0, line_no_ = 0, rejected_ = 0;
};

// Converts one unit of input (a -m text, a line, a file) read as format
// ("raw", "json", "msgpack", "jsonl-envelope") into a message. Throws
// std::invalid_argument or zmqkit::decode_error with a one-line reason.
outgoing parse_input(std::string_view unit, const std::string& format, const std::string& topic,
                     const zmqkit::headers& headers);
// Raw bytes as a msgpack payload: str if valid UTF-8, else bin.
std::string pack_raw(std::string_view bytes);

// Expands {{seq}}, {{time}}, {{time_ns}}, {{uuid}} and {{random A B}} in a
// -m text; seq is the message's number in this run, from 1. Unknown
// placeholders are left as written.
std::string expand_template(const std::string& text, std::uint64_t seq);

// Paces sends for --rate (messages per second) and --interval (ms).
class pacer {
 public:
  pacer(double rate, double interval_ms);
  void wait();  // sleeps until the next send is due

 private:
  std::chrono::steady_clock::duration step_{};
  std::chrono::steady_clock::time_point next_{};
  bool first_ = true;
};

}  // namespace zmqkit::tools
