// How zmqkit starts a child process, with its stdin, stdout and stderr piped
// to us: zmq-rep --exec (exec.hpp) and the tests' child processes
// (tests/support/process.hpp) both start theirs here, and wait for, reap and
// kill them with the calls below. What each does with the pipes (bounded
// reads of a command's output; a test's lines with deadlines) and how it
// kills what the child started (its process group; a test's tree of
// descendants) stays with it. Linux: pidfds (5.3+) where they exist.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace zmqkit::tools {

// A file descriptor, closed when this goes.
class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  ~unique_fd() { reset(); }
  unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;

  int get() const noexcept { return fd_; }  // -1 when closed
  explicit operator bool() const noexcept { return fd_ >= 0; }
  void reset() noexcept;

 private:
  int fd_ = -1;
};

struct spawn_options {
  // argv[0] is a path, or with search_path a name looked up in PATH.
  std::vector<std::string> argv;
  bool search_path = false;
  // NAME=value, ahead of this process's own environment, which the child gets too.
  std::vector<std::string> env;
  // The child leads a process group of its own, so that kill_group() ends
  // whatever it starts (unless that leaves the group with setsid).
  bool own_group = false;
  // SIGPIPE, SIGINT and SIGTERM at their defaults and no signal blocked in
  // the child, whatever this process ignores or blocks (a tool ignores SIGPIPE).
  bool default_signals = false;
};

// A child just started: our ends of its three pipes and a pidfd, all closed
// when this goes. Neither killed nor reaped here: that is the owner's
// policy, and until the owner reaps it, its pid (and process group) cannot
// go to another process.
struct child {
  pid_t pid = -1;
  unique_fd in, out, err;  // its stdin (we write), stdout and stderr (we read); close-on-exec
  unique_fd pidfd;         // readable once it exits; closed on kernels without pidfd_open
};

// Starts o.argv. Throws std::runtime_error when the pipes cannot be made,
// and std::system_error ("cannot run ARGV0: <reason>") when the program
// cannot be run.
child spawn(const spawn_options& o);

// A pidfd for pid (any process, not only a child): a handle that names that
// process even once its pid is reused; closed if pid is gone already or
// the kernel has no pidfd_open.
unique_fd open_pidfd(pid_t pid);
// Sends sig to the process pidfd names; false if it cannot (gone, reaped).
bool signal_pidfd(int pidfd, int sig);
// True if the process pidfd names has exited (a zombie not reaped yet has)
// or exits within timeout.
bool wait_exited(int pidfd, std::chrono::milliseconds timeout);

// True once child pid has exited (or cannot be waited for), without reaping it.
bool has_exited(pid_t pid);
// Reaps child pid, waiting for its exit if it has not exited yet: its
// status as waitpid gives it, and its peak resident set in KiB when
// peak_rss_kib is given; nullopt if pid is no child of ours to reap.
std::optional<int> reap(pid_t pid, long* peak_rss_kib = nullptr);

// SIGKILL to the process group pid leads (spawn_options::own_group), and
// to pid itself in case it left the group.
void kill_group(pid_t pid);

}  // namespace zmqkit::tools
