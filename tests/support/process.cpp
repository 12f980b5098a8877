#include "support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace zmqkit::test {
namespace {

void check(int rc, const char* what) {
  if (rc != 0) throw std::runtime_error(std::string(what) + ": " + std::strerror(rc));
}

int remaining_ms(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline -
                                                                 std::chrono::steady_clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// Every process under pid, stopped (SIGSTOP) as it is found so that none
// forks another meanwhile: each as a pidfd, which names that process even
// after it exits and its pid goes to another (no pid is signalled twice).
// The children of each thread are in /proc/PID/task/TID/children.
void stop_descendants(pid_t pid, std::vector<int>& pidfds) {
  std::vector<pid_t> children;
  const std::string task = "/proc/" + std::to_string(pid) + "/task";
  std::ifstream threads_of(task + "/" + std::to_string(pid) + "/children");
  for (pid_t c; threads_of >> c;) children.push_back(c);
  for (const pid_t c : children) {
    const int fd = pidfd_open(c);
    if (fd < 0) continue;  // gone already
    (void)::syscall(SYS_pidfd_send_signal, fd, SIGSTOP, nullptr, 0);
    pidfds.push_back(fd);
    stop_descendants(c, pidfds);
  }
}

}  // namespace

process::process(const std::vector<std::string>& argv) {
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int rc = ::posix_spawnp(&pid_, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  stdin_fd_ = in[1];
  stdout_fd_ = out[0];
  stderr_fd_ = err[0];
  check(rc, ("spawn " + argv.at(0)).c_str());
  pidfd_ = pidfd_open(pid_);
  if (pidfd_ < 0) throw std::runtime_error(std::string("pidfd_open: ") + std::strerror(errno));
  ::signal(SIGPIPE, SIG_IGN);  // a child that exits early must not kill the test
}

process::~process() {
  if (!exited_) {
    // The child stops first, then everything under it, so that killing the
    // child cannot leave one running: strace killed before its tracee
    // detaches it, and the tracee (a forwarder) would go on alone.
    (void)::syscall(SYS_pidfd_send_signal, pidfd_, SIGSTOP, nullptr, 0);
    std::vector<int> under;
    stop_descendants(pid_, under);
    for (const int fd : under) (void)::syscall(SYS_pidfd_send_signal, fd, SIGKILL, nullptr, 0);
    kill(SIGKILL);
    (void)wait(std::chrono::seconds(10));
    for (const int fd : under) {
      pollfd p{fd, POLLIN, 0};
      (void)::poll(&p, 1, 10000);  // ended, and reaped by whoever is its parent now
      ::close(fd);
    }
  }
  for (int fd : {stdin_fd_, stdout_fd_, stderr_fd_, pidfd_})
    if (fd >= 0) ::close(fd);
}

void process::write_stdin(const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const auto n = ::write(stdin_fd_, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("write to child: ") + std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
}

void process::limit_stdin_buffer(int bytes) {
  if (::fcntl(stdin_fd_, F_SETPIPE_SZ, bytes) < 0)
    throw std::runtime_error(std::string("F_SETPIPE_SZ: ") + std::strerror(errno));
}

void process::close_stdin() {
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
  stdin_fd_ = -1;
}

std::optional<std::string> process::read_line(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto nl = out_buf_.find('\n');
    if (nl != std::string::npos) {
      auto line = out_buf_.substr(0, nl);
      out_buf_.erase(0, nl + 1);
      return line;
    }
    pollfd p{stdout_fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return std::nullopt;
    char buf[65536];
    const auto n = ::read(stdout_fd_, buf, sizeof buf);
    if (n <= 0) return std::nullopt;  // EOF
    out_buf_.append(buf, static_cast<std::size_t>(n));
  }
}

void process::drain_stderr(int timeout_ms) {
  pollfd p{stderr_fd_, POLLIN, 0};
  while (::poll(&p, 1, timeout_ms) > 0) {
    char buf[4096];
    const auto n = ::read(stderr_fd_, buf, sizeof buf);
    if (n <= 0) break;
    err_buf_.append(buf, static_cast<std::size_t>(n));
    timeout_ms = 0;
  }
}

std::string process::stderr_text() {
  drain_stderr(0);
  return err_buf_;
}

std::optional<std::string> process::read_stderr_line(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto nl = err_buf_.find('\n', err_line_pos_);
    if (nl != std::string::npos) {
      auto line = err_buf_.substr(err_line_pos_, nl - err_line_pos_);
      err_line_pos_ = nl + 1;
      return line;
    }
    pollfd p{stderr_fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return std::nullopt;
    char buf[4096];
    const auto n = ::read(stderr_fd_, buf, sizeof buf);
    if (n <= 0) return std::nullopt;  // EOF
    err_buf_.append(buf, static_cast<std::size_t>(n));
  }
}

void process::kill(int signal) {
  if (!exited_) ::kill(pid_, signal);
}

std::optional<int> process::wait(std::chrono::milliseconds timeout) {
  pollfd p{pidfd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
  int status = 0;
  rusage usage{};
  if (::wait4(pid_, &status, 0, &usage) != pid_) return std::nullopt;
  exited_ = true;
  peak_rss_kib_ = usage.ru_maxrss;
  return status;
}

bool process_ended(pid_t pid, std::chrono::milliseconds timeout) {
  const int fd = pidfd_open(pid);
  if (fd < 0) return errno == ESRCH;
  pollfd p{fd, POLLIN, 0};
  const bool exited = ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
  ::close(fd);
  return exited;
}

}  // namespace zmqkit::test
