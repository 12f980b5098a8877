// posix_spawn, not fork: nothing runs in the child between the two but the
// file actions, so a child started from a threaded process (a tool with
// libzmq's threads, a test with its peers) cannot deadlock on a lock one
// of those threads held.
#include "common/spawn.hpp"

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
#include <stdexcept>
#include <system_error>

extern char** environ;

namespace zmqkit::tools {

void unique_fd::reset() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

namespace {

// Our end and the child's end of one pipe, both close-on-exec (the child
// gets its end as 0, 1 or 2 through dup2, which clears the flag).
struct pipe_ends {
  unique_fd read, write;
};

pipe_ends make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  return {unique_fd(fds[0]), unique_fd(fds[1])};
}

// posix_spawn's attribute and file-action objects, destroyed however spawn ends.
struct spawn_setup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  spawn_setup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~spawn_setup() {
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
  }
  spawn_setup(const spawn_setup&) = delete;
  spawn_setup& operator=(const spawn_setup&) = delete;
};

}  // namespace

child spawn(const spawn_options& o) {
  if (o.argv.empty()) throw std::invalid_argument("spawn: no program");
  auto in = make_pipe(), out = make_pipe(), err = make_pipe();
  spawn_setup s;
  posix_spawn_file_actions_adddup2(&s.actions, in.read.get(), 0);
  posix_spawn_file_actions_adddup2(&s.actions, out.write.get(), 1);
  posix_spawn_file_actions_adddup2(&s.actions, err.write.get(), 2);
  short flags = 0;
  if (o.own_group) {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&s.attr, 0);
  }
  sigset_t defaults, none;
  if (o.default_signals) {
    flags |= POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
    sigemptyset(&defaults);
    for (int sig : {SIGPIPE, SIGINT, SIGTERM}) sigaddset(&defaults, sig);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&s.attr, &defaults);
    posix_spawnattr_setsigmask(&s.attr, &none);
  }
  posix_spawnattr_setflags(&s.attr, flags);

  std::vector<std::string> env_strings;
  std::vector<char*> envp;
  if (!o.env.empty()) {
    env_strings = o.env;
    for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
  }
  std::vector<char*> args;
  for (const auto& a : o.argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  child c;
  const int rc = (o.search_path ? ::posix_spawnp : ::posix_spawn)(
      &c.pid, args[0], &s.actions, &s.attr, args.data(), o.env.empty() ? environ : envp.data());
  if (rc != 0) throw std::system_error(rc, std::generic_category(), "cannot run " + o.argv[0]);
  c.in = std::move(in.write);
  c.out = std::move(out.read);
  c.err = std::move(err.read);
  c.pidfd = open_pidfd(c.pid);
  return c;
}

unique_fd open_pidfd(pid_t pid) { return unique_fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))); }

bool signal_pidfd(int pidfd, int sig) { return ::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) == 0; }

bool wait_exited(int pidfd, std::chrono::milliseconds timeout) {
  pollfd p{pidfd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
}

bool has_exited(pid_t pid) {
  siginfo_t info{};
  while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) < 0)
    if (errno != EINTR) return true;
  return info.si_pid == pid;
}

std::optional<int> reap(pid_t pid, long* peak_rss_kib) {
  int status = 0;
  rusage usage{};
  pid_t got;
  while ((got = ::wait4(pid, &status, 0, &usage)) < 0 && errno == EINTR) {
  }
  if (got != pid) return std::nullopt;
  if (peak_rss_kib != nullptr) *peak_rss_kib = usage.ru_maxrss;
  return status;
}

void kill_group(pid_t pid) {
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);  // in case it left its group
}

}  // namespace zmqkit::tools
