// Conventions every zmqkit tool shares (docs/cli.md): endpoints as
// "@addr" (bind) / ">addr" (connect), one-line errors, documented exit codes,
// clean stop on SIGINT/SIGTERM. Beside it: option_values.hpp (times,
// numbers and sizes in options) and socket_reporter.hpp (the readiness
// line and socket events with -v).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <zmq.hpp>

#include <zmqkit/authenticator.hpp>
#include <zmqkit/endpoint.hpp>
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

// Ends the tool from another thread: the main thread's blocking call
// returns (EINTR), its loop stops, and run_tool exits with code after
// printing message. The first failure wins.
void fail_from_thread(exit_code code, const std::string& message);

// text made one readable line: UTF-8 text as it is; control characters and
// bytes that are not UTF-8 as \xNN; past max_bytes, "... (N more bytes)"
// (an error that quotes a bad 16 MiB input line stays a line).
std::string printable_line(std::string_view text, std::size_t max_bytes = 1000);

// Prints "<tool>: <text>" on stderr as one line (printable_line).
void say(const std::string& tool, const std::string& text);

}  // namespace zmqkit::tools
