// Running zmqkit's command-line tools as real processes in end-to-end tests:
// start one, read the endpoint from its -v readiness line, feed its stdin
// from a thread while reading another tool's stdout, collect output and exit
// codes. Every wait has a deadline on a real event (a line, an exit); no
// test sleeps.
//
// Ports are never fixed: the binding tool binds tcp://127.0.0.1:* with -v
// and ready_endpoint() reads "zmq-sub: ready: @tcp://127.0.0.1:41234".
#pragma once

#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/process.hpp"

namespace zmqkit::test {

using namespace std::chrono_literals;

// How long any single wait (a line, a readiness line) may take.
constexpr std::chrono::milliseconds line_deadline = 5s;
// How long a tool may take to exit once it should.
constexpr std::chrono::milliseconds exit_deadline = 10s;

// argv with argv[0] ("zmq-sub") replaced by the built tool's path.
inline std::vector<std::string> tool(std::vector<std::string> argv) {
  argv.at(0) = std::string(ZMQKIT_TOOLS_DIR) + "/" + argv.at(0);
  return argv;
}

inline std::string tool_path(const std::string& name) {
  return std::string(ZMQKIT_TOOLS_DIR) + "/" + name;
}

// Reads p's stderr lines until one contains text and returns that line.
// Fails the test, showing all stderr, if none comes within timeout.
inline std::string wait_for_stderr(process& p, const std::string& text,
                                   std::chrono::milliseconds timeout = line_deadline) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    const auto line = p.read_stderr_line(left.count() > 0 ? left : 0ms);
    REQUIRE_MESSAGE(line, "no stderr line containing '" << text << "' within " << timeout.count()
                                                         << " ms; stderr:\n"
                                                         << p.stderr_text());
    if (line->find(text) != std::string::npos) return *line;
  }
}

// Waits until p handles sig (SigCgt in its /proc status), so that a signal
// sent then is one the tool handles, not one that kills it before it has
// set up. Polls /proc, the only place that tells; fails past the timeout.
inline void wait_for_handler(process& p, int sig, std::chrono::milliseconds timeout = line_deadline) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::uint64_t bit = std::uint64_t{1} << (sig - 1);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream status("/proc/" + std::to_string(p.pid()) + "/status");
    std::string line;
    while (std::getline(status, line))
      if (line.rfind("SigCgt:", 0) == 0 && (std::stoull(line.substr(7), nullptr, 16) & bit)) return;
    // allow-sleep: polls /proc, which has no event for a handler being installed
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  FAIL("the tool did not install a handler for signal " << sig << " within " << timeout.count() << " ms");
}

// The first endpoint of a tool's -v readiness line, without its '@' or '>':
// "zmq-sub: ready: @tcp://127.0.0.1:41234" gives "tcp://127.0.0.1:41234".
inline std::string ready_endpoint(process& p) {
  const std::string marker = ": ready: ";
  const auto line = wait_for_stderr(p, marker);
  auto endpoint = line.substr(line.find(marker) + marker.size());
  endpoint = endpoint.substr(0, endpoint.find(' '));
  REQUIRE_MESSAGE((endpoint.size() > 1 && (endpoint[0] == '@' || endpoint[0] == '>')),
                  "unexpected readiness line: " << line);
  return endpoint.substr(1);
}

// The exit code of p, which must exit within timeout (128 + N if killed by
// signal N, as a shell reports it).
inline int exit_code(process& p, std::chrono::milliseconds timeout = exit_deadline) {
  const auto status = p.wait(timeout);
  REQUIRE_MESSAGE(status, "the tool did not exit within " << timeout.count() << " ms; stderr:\n"
                                                          << p.stderr_text());
  if (WIFEXITED(*status)) return WEXITSTATUS(*status);
  return 128 + WTERMSIG(*status);
}

// The next stdout line, which must come within the deadline.
inline std::string next_line(process& p, std::chrono::milliseconds timeout = line_deadline) {
  const auto line = p.read_line(timeout);
  REQUIRE_MESSAGE(line, "no stdout line within " << timeout.count() << " ms; stderr:\n"
                                                  << p.stderr_text());
  return *line;
}

// Every stdout line until EOF (each must come within timeout of the last).
inline std::vector<std::string> read_lines(process& p,
                                           std::chrono::milliseconds timeout = line_deadline) {
  std::vector<std::string> lines;
  while (auto line = p.read_line(timeout)) lines.push_back(std::move(*line));
  return lines;
}

// All of stdout until EOF as bytes, for output that ends with '\n' (raw,
// jsonl, templates): the lines joined back with their newlines.
inline std::string read_all(process& p, std::chrono::milliseconds timeout = line_deadline) {
  std::string out;
  for (const auto& line : read_lines(p, timeout)) out += line + "\n";
  return out;
}

// Only the stderr lines (a tool's errors are one line each).
inline std::vector<std::string> stderr_lines(process& p) {
  std::vector<std::string> lines;
  const auto text = p.stderr_text();
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto nl = text.find('\n', pos);
    lines.push_back(text.substr(pos, nl == std::string::npos ? nl : nl - pos));
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return lines;
}

// Writes data to p's stdin on a thread of its own, then closes it, so the
// test can meanwhile read another tool's stdout without both blocking on
// full pipes. If the write has not finished when the feeder goes (the test
// failed early), p is killed first so the join cannot hang.
class stdin_feeder {
 public:
  // Writes data, times times over, so a large input need not be held whole.
  stdin_feeder(process& p, std::string data, std::size_t times = 1) : p_(p) {
    thread_ = std::thread([this, data = std::move(data), times] {
      try {
        for (std::size_t i = 0; i < times; ++i) p_.write_stdin(data);
      } catch (const std::exception&) {
        // The tool stopped reading (exited early); its exit code tells why.
      }
      p_.close_stdin();
      done_ = true;
    });
  }
  ~stdin_feeder() {
    if (!done_) p_.kill(SIGKILL);
    thread_.join();
  }
  stdin_feeder(const stdin_feeder&) = delete;
  stdin_feeder& operator=(const stdin_feeder&) = delete;

 private:
  process& p_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// What a tool run to completion left behind.
struct run_result {
  int exit_code = -1;
  std::vector<std::string> lines;  // stdout
  std::string err;                 // stderr
};

// Runs a tool (argv[0] is its name) with input on stdin until it exits.
inline run_result run(const std::vector<std::string>& argv, const std::string& input = "") {
  process p(tool(argv));
  run_result r;
  {
    stdin_feeder feed(p, input);
    r.lines = read_lines(p);
    r.exit_code = exit_code(p);
  }
  r.err = p.stderr_text();
  return r;
}

// Runs any program (argv[0] a path) to completion; its exit code.
inline int run_command(const std::vector<std::string>& argv) {
  process p(argv);
  p.close_stdin();
  (void)read_lines(p);
  return exit_code(p);
}

// A tool's usage error: exit 2 and exactly one stderr line "zmq-xxx: ...".
inline void check_usage_error(const std::vector<std::string>& argv) {
  const auto r = run(argv);
  std::string command;
  for (const auto& a : argv) command += (command.empty() ? "" : " ") + a;
  INFO("command: " << command);
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.rfind(argv.at(0) + ": ", 0) == 0);
  CHECK(r.err.find('\n') == r.err.size() - 1);  // exactly one line
  CHECK(r.lines.empty());
}

// A file that is removed when the test ends, in the test build directory.
struct temp_file {
  std::string path;
  temp_file(const std::string& name, const std::string& content)
      : path(std::string(ZMQKIT_TEST_BINARY_DIR) + "/" + name + "-" + std::to_string(::getpid())) {
    std::ofstream(path, std::ios::binary) << content;
  }
  ~temp_file() { std::remove(path.c_str()); }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
};

// A path nothing listens on, for a peer that is not there (no fixed port).
inline std::string absent_endpoint(const std::string& name) {
  return "ipc://" + std::string(ZMQKIT_TEST_BINARY_DIR) + "/absent-" + name + "-" +
         std::to_string(::getpid());
}

inline std::string hex(const std::string& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 0xf]);
  }
  return out;
}

inline std::string base64(const std::string& bytes) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const auto n = std::uint32_t(std::uint8_t(bytes[i])) << 16 |
                   std::uint32_t(std::uint8_t(bytes[i + 1])) << 8 | std::uint8_t(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0}) out.push_back(alphabet[(n >> shift) & 63]);
  }
  if (i + 1 == bytes.size()) {
    const auto n = std::uint32_t(std::uint8_t(bytes[i])) << 16;
    out += {alphabet[(n >> 18) & 63], alphabet[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == bytes.size()) {
    const auto n = std::uint32_t(std::uint8_t(bytes[i])) << 16 |
                   std::uint32_t(std::uint8_t(bytes[i + 1])) << 8;
    out += {alphabet[(n >> 18) & 63], alphabet[(n >> 12) & 63], alphabet[(n >> 6) & 63], '='};
  }
  return out;
}

// True if time_ns is within a minute of now (the clocks are the same here).
inline bool plausible_time(std::int64_t time_ns) {
  const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const auto diff = now - time_ns;
  return diff < 60'000'000'000LL && diff > -60'000'000'000LL;
}

}  // namespace zmqkit::test
