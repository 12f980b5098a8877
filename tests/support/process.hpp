// A child process for end-to-end tests: spawn a real program, write its
// stdin, read its stdout line by line with a deadline, kill it, and wait for
// its exit with a deadline (a pidfd, so no polling loop and no sleep).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/spawn.hpp"

namespace zmqkit::test {

class process {
 public:
  // Starts argv[0] (searched in PATH) with stdin and stdout piped to us;
  // stderr is captured too. Throws std::runtime_error if it cannot start.
  explicit process(const std::vector<std::string>& argv);
  // Kills (SIGKILL) a child still running and every process under it (a
  // wrapper's child: strace's tracee, a shell's command), then reaps it.
  ~process();
  process(const process&) = delete;
  process& operator=(const process&) = delete;

  pid_t pid() const noexcept { return child_.pid; }

  void write_stdin(const std::string& data);
  // Shrinks the stdin pipe's kernel buffer to about bytes (at least a
  // page), so that a writer runs at most that far ahead of the child.
  void limit_stdin_buffer(int bytes);
  void close_stdin();

  // The next stdout line (without '\n'), or nullopt at EOF or when timeout passes.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  // All stderr output read so far plus what is ready now.
  std::string stderr_text();
  // The next stderr line (without '\n') this call has not returned yet, or
  // nullopt at EOF or when timeout passes; stderr_text() still has it all.
  std::optional<std::string> read_stderr_line(std::chrono::milliseconds timeout);

  // Signals the child only, not the processes under it.
  void kill(int signal);
  // The exit status as from waitpid (use WIFEXITED etc.), or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // After wait() saw the exit: the child's peak resident set, in KiB.
  long peak_rss_kib() const noexcept { return peak_rss_kib_; }

 private:
  void drain_stderr(int timeout_ms);

  tools::child child_;  // started by tools::spawn, as zmq-rep --exec starts its commands
  std::string out_buf_, err_buf_;
  std::size_t err_line_pos_ = 0;  // where read_stderr_line goes on in err_buf_
  bool exited_ = false;
  long peak_rss_kib_ = 0;
};

// True if process pid (any, not only a child) has ended or ends within
// timeout: it no longer exists, or its pidfd reports it exited (a zombie
// not reaped yet has ended).
bool process_ended(pid_t pid, std::chrono::milliseconds timeout);

// The Debian interpreter that has python3-zmq and python3-msgpack; the
// python3 first on PATH may be another one without them.
inline const char* system_python() { return "/usr/bin/python3"; }

}  // namespace zmqkit::test
