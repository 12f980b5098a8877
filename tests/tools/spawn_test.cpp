// tools/common/spawn: how zmq-rep --exec and the tests start a child, with
// real programs. What each does with its children is tested with it
// (exec_test.cpp; every test that runs a tool).
#include "common/spawn.hpp"

#include <doctest/doctest.h>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <system_error>

using namespace zmqkit::tools;
using namespace std::chrono_literals;

namespace {

// Everything fd gives until its end, waiting at most 10 s in all.
std::string read_to_end(int fd) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  std::string text;
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const auto n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return text;
    text.append(buf, static_cast<std::size_t>(n));
  }
  FAIL("no end of output within 10 s");
  return text;
}

// The child's signals ignored (SigIgn in /proc/PID/status), as it prints them.
unsigned long ignored_signals(const spawn_options& o) {
  auto c = spawn(o);
  const auto out = read_to_end(c.out.get());
  CHECK(reap(c.pid));
  return std::stoul(out.substr(out.find(':') + 1), nullptr, 16);
}

}  // namespace

TEST_CASE("spawn: SHALL start a program found in PATH with its stdin, stdout and stderr piped, and "
          "reap its status") {
  spawn_options o;
  o.argv = {"sh", "-c", "read x; echo \"$x $ZMQKIT_SPAWN_TEST\"; echo oops >&2; exit 5"};
  o.search_path = true;
  o.env = {"ZMQKIT_SPAWN_TEST=from the environment"};
  auto c = spawn(o);
  REQUIRE(c.pidfd);
  REQUIRE(::write(c.in.get(), "hello\n", 6) == 6);
  c.in.reset();
  CHECK(read_to_end(c.out.get()) == "hello from the environment\n");
  CHECK(read_to_end(c.err.get()) == "oops\n");
  CHECK(wait_exited(c.pidfd.get(), 10s));
  CHECK(has_exited(c.pid));
  long peak_kib = 0;
  const auto status = reap(c.pid, &peak_kib);
  REQUIRE(status);
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 5);
  CHECK(peak_kib > 0);
  CHECK_FALSE(reap(c.pid));  // reaped once
}

TEST_CASE("spawn: SHALL give the child a process group and default signals only when asked") {
  ::signal(SIGPIPE, SIG_IGN);  // as every tool and this test binary do
  spawn_options o;
  o.argv = {"/bin/sh", "-c", "grep SigIgn /proc/$$/status; read x"};
  auto inherits = spawn(o);
  CHECK(::getpgid(inherits.pid) == ::getpgrp());
  o.own_group = true;
  auto leads = spawn(o);
  CHECK(::getpgid(leads.pid) == leads.pid);
  for (auto* c : {&inherits, &leads}) {
    c->in.reset();
    CHECK(reap(c->pid));
  }

  o.argv = {"/bin/sh", "-c", "grep SigIgn /proc/$$/status"};
  const unsigned long sigpipe = 1ul << (SIGPIPE - 1);
  CHECK((ignored_signals(o) & sigpipe) != 0);
  o.default_signals = true;
  CHECK((ignored_signals(o) & sigpipe) == 0);
}

TEST_CASE("spawn: SHALL say which program could not run, and why") {
  spawn_options o;
  o.argv = {"/nonexistent/zmqkit-program"};
  CHECK_THROWS_WITH_AS(spawn(o), "cannot run /nonexistent/zmqkit-program: No such file or directory",
                       std::system_error);
  o.argv = {"zmqkit-no-such-program"};
  o.search_path = true;
  CHECK_THROWS_AS(spawn(o), std::system_error);
}
