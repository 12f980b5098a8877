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

extern char** environ;

namespace zmqkit::tools {

command_result run_command(const std::string& command, const std::string& input,
                           const std::vector<std::string>& env, std::chrono::milliseconds timeout) {
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC))
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  std::vector<std::string> env_strings(env);
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid;
  const int rc = ::posix_spawn(&pid, "/bin/sh", &fa, nullptr, const_cast<char**>(argv), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) {
    for (int fd : {in[1], out[0], err[0]}) ::close(fd);
    throw std::runtime_error(std::string("cannot run /bin/sh: ") + std::strerror(rc));
  }

  // Feed stdin and drain stdout/stderr together, so neither side can block
  // the other on a full pipe.
  command_result r;
  std::size_t written = 0;
  int stdin_fd = in[1];
  ::fcntl(stdin_fd, F_SETFL, O_NONBLOCK);  // write only what fits; poll for the rest
  if (input.empty()) {
    ::close(stdin_fd);
    stdin_fd = -1;
  }
  int open_outputs = 2;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (open_outputs > 0) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      r.timed_out = true;
      break;
    }
    pollfd fds[3] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}, {stdin_fd, POLLOUT, 0}};
    const int ready = ::poll(fds, stdin_fd >= 0 ? 3 : 2, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[65536];
      const auto n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        (i == 0 ? out[0] : err[0]) = -1;
        --open_outputs;
      }
    }
    if (stdin_fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      const auto n = ::write(stdin_fd, input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<std::size_t>(n);
      if (n < 0 && errno != EINTR && errno != EAGAIN) written = input.size();  // reader gone
      if (written == input.size()) {
        ::close(stdin_fd);
        stdin_fd = -1;
      }
    }
  }
  for (int fd : {stdin_fd, out[0], err[0]})
    if (fd >= 0) ::close(fd);
  // A command may close its outputs and carry on: the deadline covers its exit too.
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (!r.timed_out && pidfd >= 0) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{pidfd, POLLIN, 0};
    if (::poll(&p, 1, std::max<int>(0, static_cast<int>(left.count()))) <= 0) r.timed_out = true;
  }
  if (pidfd >= 0) ::close(pidfd);
  if (r.timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

}  // namespace zmqkit::tools
