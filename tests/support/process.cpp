#include "support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace zmqkit::test {
namespace {

using tools::open_pidfd;
using tools::signal_pidfd;
using tools::unique_fd;

int remaining_ms(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline -
                                                                 std::chrono::steady_clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

// Every process under pid, stopped (SIGSTOP) as it is found so that none
// forks another meanwhile: each as a pidfd, which names that process even
// after it exits and its pid goes to another (no pid is signalled twice).
// The children of each thread are in /proc/PID/task/TID/children.
void stop_descendants(pid_t pid, std::vector<unique_fd>& pidfds) {
  std::vector<pid_t> children;
  const std::string task = "/proc/" + std::to_string(pid) + "/task";
  std::ifstream threads_of(task + "/" + std::to_string(pid) + "/children");
  for (pid_t c; threads_of >> c;) children.push_back(c);
  for (const pid_t c : children) {
    auto fd = open_pidfd(c);
    if (!fd) continue;  // gone already
    (void)signal_pidfd(fd.get(), SIGSTOP);
    pidfds.push_back(std::move(fd));
    stop_descendants(c, pidfds);
  }
}

}  // namespace

process::process(const std::vector<std::string>& argv) {
  tools::spawn_options o;
  o.argv = argv;
  o.search_path = true;
  try {
    child_ = tools::spawn(o);
  } catch (const std::system_error& e) {
    throw std::runtime_error("spawn " + argv.at(0) + ": " + e.code().message());
  }
  if (!child_.pidfd) throw std::runtime_error(std::string("pidfd_open: ") + std::strerror(errno));
  ::signal(SIGPIPE, SIG_IGN);  // a child that exits early must not kill the test
}

process::~process() {
  if (!exited_) {
    // The child stops first, then everything under it, so that killing the
    // child cannot leave one running: strace killed before its tracee
    // detaches it, and the tracee (a forwarder) would go on alone.
    (void)signal_pidfd(child_.pidfd.get(), SIGSTOP);
    std::vector<unique_fd> under;
    stop_descendants(child_.pid, under);
    for (const auto& fd : under) (void)signal_pidfd(fd.get(), SIGKILL);
    kill(SIGKILL);
    (void)wait(std::chrono::seconds(10));
    // Each ended, and reaped by whoever is its parent now.
    for (const auto& fd : under) (void)tools::wait_exited(fd.get(), std::chrono::seconds(10));
  }
}

void process::write_stdin(const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const auto n = ::write(child_.in.get(), data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("write to child: ") + std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
}

void process::limit_stdin_buffer(int bytes) {
  if (::fcntl(child_.in.get(), F_SETPIPE_SZ, bytes) < 0)
    throw std::runtime_error(std::string("F_SETPIPE_SZ: ") + std::strerror(errno));
}

void process::close_stdin() { child_.in.reset(); }

std::optional<std::string> process::read_line(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto nl = out_buf_.find('\n');
    if (nl != std::string::npos) {
      auto line = out_buf_.substr(0, nl);
      out_buf_.erase(0, nl + 1);
      return line;
    }
    pollfd p{child_.out.get(), POLLIN, 0};
    const int ready = ::poll(&p, 1, remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return std::nullopt;
    char buf[65536];
    const auto n = ::read(child_.out.get(), buf, sizeof buf);
    if (n <= 0) return std::nullopt;  // EOF
    out_buf_.append(buf, static_cast<std::size_t>(n));
  }
}

void process::drain_stderr(int timeout_ms) {
  pollfd p{child_.err.get(), POLLIN, 0};
  while (::poll(&p, 1, timeout_ms) > 0) {
    char buf[4096];
    const auto n = ::read(child_.err.get(), buf, sizeof buf);
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
    pollfd p{child_.err.get(), POLLIN, 0};
    const int ready = ::poll(&p, 1, remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return std::nullopt;
    char buf[4096];
    const auto n = ::read(child_.err.get(), buf, sizeof buf);
    if (n <= 0) return std::nullopt;  // EOF
    err_buf_.append(buf, static_cast<std::size_t>(n));
  }
}

void process::kill(int signal) {
  if (!exited_) ::kill(child_.pid, signal);
}

std::optional<int> process::wait(std::chrono::milliseconds timeout) {
  if (!tools::wait_exited(child_.pidfd.get(), timeout)) return std::nullopt;
  const auto status = tools::reap(child_.pid, &peak_rss_kib_);
  if (status) exited_ = true;
  return status;
}

bool process_ended(pid_t pid, std::chrono::milliseconds timeout) {
  const auto fd = open_pidfd(pid);
  if (!fd) return errno == ESRCH;
  return tools::wait_exited(fd.get(), timeout);
}

}  // namespace zmqkit::test
