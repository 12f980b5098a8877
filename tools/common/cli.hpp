// Conventions every zmqkit tool shares (docs/cli.md): endpoints as
// "@addr" (bind) / ">addr" (connect), one-line errors, documented exit codes,
// a readiness line and socket events on stderr with -v, clean stop on
// SIGINT/SIGTERM.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <zmq.hpp>

#include <zmqkit/authenticator.hpp>
#include <zmqkit/durable_subscriber.hpp>
#include <zmqkit/endpoint.hpp>
#include <zmqkit/monitor.hpp>
#include <zmqkit/socket_options.hpp>

namespace zmqkit::tools {

enum exit_code : int {
  exit_ok = 0,           // done: EOF, count reached, stopped by a signal
  exit_failure = 1,      // anything else (rejected input, an error reply...)
  exit_usage = 2,        // bad arguments
  exit_timeout = 3,      // idle timeout before the count was reached
  exit_unavailable = 4,  // peer unavailable or refused us: wait deadline, retries, handshake
};

// Thrown for bad arguments found after parsing: exit 2 with the message.
struct usage_error : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};
// Thrown when the peer is not there in time: exit 4 with the message.
struct unavailable_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The text after the option list in --help: `notes` (by default the socket
// tools' endpoint syntax and exit codes; zmq-keygen and zmq-journal, which have
// no endpoints, give their own), the examples, and where the manual is.
extern const char* const socket_tool_notes;
std::string help_footer(const std::string& examples, const std::string& notes = socket_tool_notes,
                        const std::string& more = "docs/cli.md");

// Endpoint options: positional "@addr"/">addr" arguments plus --bind and
// --connect (each repeatable, or comma-separated).
struct endpoint_options {
  std::vector<std::string> positional, binds, connects;
  void add_to(CLI::App& app);
  // The endpoints given, or fallback when none was. Throws usage_error.
  std::vector<zmqkit::endpoint> resolve(endpoint_mode bare_mode,
                                        const std::string& fallback) const;
};

// Socket options every tool offers: --hwm, --linger, and CURVE:
// --curve-secret FILE (ours), --curve-allow DIR (binding: the client keys
// let in), --curve-server KEY|FILE (connecting: the server's public key).
struct socket_cli_options {
  int hwm = 1000;
  int linger_ms = 1000;
  // --max-size: the largest message frame, both ways: received (libzmq's
  // MAXMSGSIZE, a larger one drops the sender's connection) and sent (a
  // larger one is refused before it goes, as a receiver would refuse it).
  std::uint64_t max_size = zmqkit::default_max_message_size;
  std::string curve_secret, curve_allow, curve_server;
  std::vector<std::string> allow_ips, deny_ips;
  void add_to(CLI::App& app);
  // Sets the options, reading the key files (a bad one throws key_error).
  void apply(zmqkit::socket_options& o) const;
  // Checks the CURVE options against where the sockets go (usage_error
  // when they do not fit) and, when a tcp endpoint is bound with CURVE,
  // starts the authenticator, which reports refusals to log. Keep what it
  // returns until the sockets are closed; it must go before the context.
  std::unique_ptr<zmqkit::authenticator> secure(zmq::context_t& context,
                                                const std::vector<zmqkit::endpoint>& endpoints,
                                                std::function<void(const std::string&)> log) const;
};

// Makes sure descriptors 0, 1 and 2 are open (on /dev/null, opened so
// that using them fails as a closed one would) before any socket exists.
// Otherwise libzmq's first socket takes a closed 1 for its eventfd, the
// tool's output goes into libzmq's mailbox and libzmq aborts.
void keep_standard_fds_open() noexcept;

// Parses argv and runs body, turning every failure into one stderr line
// ("zmq-pub: ...") and its exit code. --help and --version exit 0. Calls
// keep_standard_fds_open() first.
int run_tool(CLI::App& app, int argc, char** argv, const std::function<int()>& body);

// Set by SIGINT/SIGTERM. The handlers do not restart system calls, so a
// blocking receive returns (EINTR) and the loop checks this flag.
void install_stop_signals();
bool stop_requested() noexcept;
// True if e is the EINTR a stop signal causes.
bool interrupted(const std::exception& e) noexcept;

// Watches the sockets a pattern creates. With -v it prints
// "<tool>: ready: @tcp://127.0.0.1:5556 ..." once the pattern is attached,
// then each socket event ("<tool>: connected tcp://..."). Always, it ends
// the tool with exit 4 when a connection's handshake fails for good: the
// server refused our key, one side speaks CURVE and the other does not, or
// (three times running) a CURVE server that cannot read our hello, which is
// what a wrong --curve-server key looks like. libzmq would not retry the
// first two, so waiting on would only hang.
// Use: construct it before the pattern, watch(opts.socket), build the
// pattern, ready(...). Monitors attach before the socket connects, so no
// event is missed; sockets may close before the reporter goes.
class socket_reporter {
 public:
  socket_reporter(bool verbose, std::string tool, zmq::context_t& context);
  ~socket_reporter();
  // Makes opts attach a monitor to every socket made from them.
  void watch(zmqkit::socket_options& opts);
  // Attaches a monitor to socket now, taking over from the one it had
  // (libzmq keeps one per socket): for a pattern that monitors its socket
  // itself until then. Call on the socket's thread.
  void watch(zmq::socket_t& socket);
  // Reports an event that a pattern read from its own monitor, as if from
  // one of ours: printed with -v; a failed handshake ends the tool.
  void report(const zmqkit::socket_event& e);
  // sock.secure() for these endpoints (refusals printed with -v). Keep the
  // result until the pattern is gone.
  std::unique_ptr<zmqkit::authenticator> authenticate(const socket_cli_options& sock,
                                                      const std::vector<zmqkit::endpoint>& endpoints);
  // authenticate(), then watch(opts): what every tool does before it builds
  // its pattern.
  std::unique_ptr<zmqkit::authenticator> secure(const socket_cli_options& sock,
                                                zmqkit::socket_options& opts,
                                                const std::vector<zmqkit::endpoint>& endpoints);
  // Prints the readiness line (with -v) and starts watching. given and
  // resolved name the endpoints in the same order.
  void ready(const std::vector<zmqkit::endpoint>& given, const std::vector<std::string>& resolved);
  // Starts watching without a readiness line, for a tool that prints its own.
  void start(const std::vector<zmqkit::endpoint>& given, const std::vector<std::string>& resolved);
  socket_reporter(const socket_reporter&) = delete;
  socket_reporter& operator=(const socket_reporter&) = delete;

 private:
  void on_event(const zmqkit::socket_event& e);

  bool verbose_;
  std::string tool_;
  zmq::context_t& context_;
  std::mutex mutex_;  // monitors_ grows from the pattern's thread
  std::vector<std::unique_ptr<zmqkit::socket_monitor>> monitors_;
  std::mutex event_mutex_;  // on_event runs on our thread and, through report(), the pattern's
  std::vector<std::string> connects_;      // resolved connect addresses
  std::map<std::string, int> unreadable_;  // connect address -> failures in a row
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// Ends the tool from another thread: the main thread's blocking call
// returns (EINTR), its loop stops, and run_tool exits with code after
// printing message. The first failure wins.
void fail_from_thread(exit_code code, const std::string& message);

// zmq-sub --replay: "first", "new", "resume", a journal position ("1234"),
// an ISO 8601 UTC or offset time ("2026-11-23T10:00:00Z",
// "2026-11-23T11:00:00.5+01:00") or an age before now ("-30s", "-5m", "-2h",
// "-1d"). Throws usage_error with a one-line reason.
zmqkit::replay_start parse_replay_start(const std::string& text,
                                        std::chrono::system_clock::time_point now);

// A number of seconds as people write it: "0.3", "10".
std::string seconds_text(double seconds);

// An option's check: a finite number from min to max, in unit ("seconds",
// "milliseconds", "messages a second"). CLI11's PositiveNumber and Range
// let nan through, and 1e300 seconds overflows every duration; this says
// "--ack-wait: 1e300 is not a number of seconds from 0.001 to 1000000".
CLI::Validator number_in(double min, double max, const std::string& unit);
// The range most durations take: 1 ms to a million seconds (11.5 days).
inline CLI::Validator seconds_in_range() { return number_in(0.001, 1e6, "seconds"); }
// An option's transform (not check: it rewrites the text): a whole number of bytes from min to
// max, written plain or with a binary unit ("16777216", "64k", "16m",
// "1g"; "KiB" and "MiB" too). The text becomes the number of bytes.
CLI::Validator bytes_in(std::uint64_t min, std::uint64_t max);
// A whole number from min to max. CLI11 reads "-1" into an unsigned option
// as 2^64-1; this refuses it: "--count: -1 is not a whole number from 0 to ...".
CLI::Validator whole_number_in(std::uint64_t min, std::uint64_t max);
// A byte count as the options take it: "16m", "64k", or bytes.
std::string bytes_text(std::uint64_t n);

// text made one readable line: UTF-8 text as it is; control characters and
// bytes that are not UTF-8 as \xNN; past max_bytes, "... (N more bytes)"
// (an error that quotes a bad 16 MiB input line stays a line).
std::string printable_line(std::string_view text, std::size_t max_bytes = 1000);

// Prints "<tool>: <text>" on stderr as one line (printable_line).
void say(const std::string& tool, const std::string& text);

}  // namespace zmqkit::tools
