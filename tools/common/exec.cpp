// The command is the leader of a new process group, so the tool can kill
// everything it started with one kill(-pgid). The leader is reaped only
// after the group is killed: while it is a zombie its pid, and so the
// group id, cannot be reused by an unrelated process.
#include "common/exec.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "common/cli.hpp"
#include "common/spawn.hpp"

namespace zmqkit::tools {
namespace {

using clock_type = std::chrono::steady_clock;
// Longest poll: how soon a stop signal that landed on another thread, or
// the command's exit without a pidfd, is seen.
constexpr std::chrono::milliseconds slice{200};

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

}  // namespace

command_result run_command(const std::string& command, const std::string& input,
                           const std::vector<std::string>& env, std::chrono::milliseconds timeout,
                           std::size_t max_output) {
  spawn_options o;
  o.argv = {"/bin/sh", "-c", command};
  o.env = env;
  o.own_group = true;
  o.default_signals = true;  // not the tool's dispositions (it ignores SIGPIPE)
  auto c = spawn(o);
  const auto deadline = clock_type::now() + timeout;
  // c.pidfd wakes the poll the moment the command exits (Linux 5.3+);
  // without it the exit is seen within a slice.
  ::fcntl(c.in.get(), F_SETFL, O_NONBLOCK);  // write only what fits; poll for the rest
  if (input.empty()) c.in.reset();

  // Feed stdin and drain stdout and stderr together, so neither side can
  // block the other on a full pipe, until the command has exited and both
  // outputs have ended.
  command_result r;
  std::size_t written = 0;
  bool exited = false, cut = false;
  char buf[65536];
  while (!cut && (!exited || c.out || c.err)) {
    if (!exited && has_exited(c.pid)) {
      exited = true;
      c.pidfd.reset();
      c.in.reset();
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
    pollfd fds[4] = {
        {c.out.get(), POLLIN, 0}, {c.err.get(), POLLIN, 0}, {c.in.get(), POLLOUT, 0}, {c.pidfd.get(), POLLIN, 0}};
    if (::poll(fds, 4, static_cast<int>(std::min(left, slice).count())) < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      const auto n = ::read(c.out.get(), buf, sizeof buf);
      if (n > 0 && r.out.size() + static_cast<std::size_t>(n) > max_output) {
        r.how = command_result::ending::too_big;
        cut = true;
      } else if (n > 0) {
        append_bounded(r.out, buf, static_cast<std::size_t>(n), max_output);
      } else if (n == 0 || errno != EINTR) {
        c.out.reset();
      }
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      const auto n = ::read(c.err.get(), buf, sizeof buf);
      if (n > 0) {
        const auto keep = std::min(static_cast<std::size_t>(n), max_error - r.err.size());
        r.err.append(buf, keep);
      } else if (n == 0 || errno != EINTR) {
        c.err.reset();
      }
    }
    if (c.in && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      const auto n = ::write(c.in.get(), input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<std::size_t>(n);
      if (n < 0 && errno != EINTR && errno != EAGAIN) written = input.size();  // reader gone
      if (written == input.size()) c.in.reset();
    }
  }
  if (r.how != command_result::ending::exited) kill_group(c.pid);
  for (auto* fd : {&c.in, &c.out, &c.err, &c.pidfd}) fd->reset();
  const int status = reap(c.pid).value_or(0);
  r.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

}  // namespace zmqkit::tools
