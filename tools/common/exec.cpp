// The command is the leader of a new process group, so the tool can kill
// everything it started with one kill(-pgid). The leader is reaped only
// after the group is killed: while it is a zombie its pid, and so the
// group id, cannot be reused by an unrelated process.
#include "common/exec.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "common/cli.hpp"

extern char** environ;

namespace zmqkit::tools {

namespace {

using clock_type = std::chrono::steady_clock;
// Longest poll: how soon a stop signal that landed on another thread, or
// the command's exit without a pidfd, is seen.
constexpr std::chrono::milliseconds slice{200};

// True once pid has exited (or cannot be waited for), without reaping it.
bool has_exited(pid_t pid) {
  siginfo_t info{};
  while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) < 0)
    if (errno != EINTR) return true;
  return info.si_pid == pid;
}

// The command and whatever is left of its process group.
void kill_group(pid_t pid) {
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);  // in case it left its group
}

// Appends n bytes (s.size() + n <= cap), doubling the capacity but never
// past cap. A fresh string takes the new capacity exactly; reserve() on s
// itself may round it up to twice the old one, past cap.
void append_bounded(std::string& s, const char* data, std::size_t n, std::size_t cap) {
  if (s.size() + n > s.capacity()) {
    std::string grown;
    grown.reserve(std::min(cap, std::max(s.size() + n, 2 * s.capacity())));
    grown.append(s);
    s.swap(grown);
  }
  s.append(data, n);
}

struct spawned {
  pid_t pid = -1;
  int in = -1, out = -1, err = -1;  // our ends: its stdin, stdout, stderr
};

spawned spawn_shell(const std::string& command, const std::vector<std::string>& env) {
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC))
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  // A group of its own; default signal dispositions and an empty mask, not
  // the tool's (which ignores SIGPIPE).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t defaults, none;
  sigemptyset(&defaults);
  for (int s : {SIGPIPE, SIGINT, SIGTERM}) sigaddset(&defaults, s);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &none);
  std::vector<std::string> env_strings(env);
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  spawned s;
  const int rc = ::posix_spawn(&s.pid, "/bin/sh", &fa, &attr, const_cast<char**>(argv), envp.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) {
    for (int fd : {in[1], out[0], err[0]}) ::close(fd);
    throw std::runtime_error(std::string("cannot run /bin/sh: ") + std::strerror(rc));
  }
  s.in = in[1];
  s.out = out[0];
  s.err = err[0];
  return s;
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

command_result run_command(const std::string& command, const std::string& input,
                           const std::vector<std::string>& env, std::chrono::milliseconds timeout,
                           std::size_t max_output) {
  auto c = spawn_shell(command, env);
  const auto deadline = clock_type::now() + timeout;
  // Wakes the poll the moment the command exits (Linux 5.3+); without it
  // the exit is seen within a slice.
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, c.pid, 0));
  ::fcntl(c.in, F_SETFL, O_NONBLOCK);  // write only what fits; poll for the rest
  if (input.empty()) close_fd(c.in);

  // Feed stdin and drain stdout and stderr together, so neither side can
  // block the other on a full pipe, until the command has exited and both
  // outputs have ended.
  command_result r;
  std::size_t written = 0;
  bool exited = false, cut = false;
  char buf[65536];
  while (!cut && (!exited || c.out >= 0 || c.err >= 0)) {
    if (!exited && has_exited(c.pid)) {
      exited = true;
      close_fd(pidfd);
      close_fd(c.in);
      kill_group(c.pid);  // its background children: they would hold its outputs open
      continue;
    }
    if (stop_requested()) {
      r.how = command_result::ending::stopped;
      break;
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock_type::now());
    if (left.count() <= 0) {
      r.how = command_result::ending::timed_out;
      break;
    }
    pollfd fds[4] = {{c.out, POLLIN, 0}, {c.err, POLLIN, 0}, {c.in, POLLOUT, 0}, {pidfd, POLLIN, 0}};
    if (::poll(fds, 4, static_cast<int>(std::min(left, slice).count())) < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      const auto n = ::read(c.out, buf, sizeof buf);
      if (n > 0 && r.out.size() + static_cast<std::size_t>(n) > max_output) {
        r.how = command_result::ending::too_big;
        cut = true;
      } else if (n > 0) {
        append_bounded(r.out, buf, static_cast<std::size_t>(n), max_output);
      } else if (n == 0 || errno != EINTR) {
        close_fd(c.out);
      }
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      const auto n = ::read(c.err, buf, sizeof buf);
      if (n > 0) {
        const auto keep = std::min(static_cast<std::size_t>(n), max_error - r.err.size());
        r.err.append(buf, keep);
      } else if (n == 0 || errno != EINTR) {
        close_fd(c.err);
      }
    }
    if (c.in >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      const auto n = ::write(c.in, input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<std::size_t>(n);
      if (n < 0 && errno != EINTR && errno != EAGAIN) written = input.size();  // reader gone
      if (written == input.size()) close_fd(c.in);
    }
  }
  if (r.how != command_result::ending::exited) kill_group(c.pid);
  for (int* fd : {&c.in, &c.out, &c.err, &pidfd}) close_fd(*fd);
  int status = 0;
  while (::waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

}  // namespace zmqkit::tools
