// tools/common/exec: zmq-rep --exec's command runner, with real shells:
// its output bounded, its process group killed whole when it ends, times
// out or writes too much. zmq-rep's side (the error replies, its memory)
// is in zmq_req_rep_test.cpp.
#include "common/exec.hpp"

#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <string>

#include "support/process.hpp"

using zmqkit::tools::command_result;
using zmqkit::test::process_ended;
using zmqkit::tools::run_command;
using ending = command_result::ending;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t mib = std::size_t{1} << 20;

pid_t first_pid(const std::string& out) { return static_cast<pid_t>(std::stol(out)); }

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST_CASE("run_command: SHALL give the command's stdout, exit status and stderr, with its stdin fed") {
  const auto r = run_command("tr a-z A-Z; echo oops >&2; exit 3", "hello", {}, 10s, mib);
  CHECK(r.how == ending::exited);
  CHECK(r.exit_status == 3);
  CHECK(r.out == "HELLO");
  CHECK(r.err == "oops\n");
  const auto env = run_command("printf %s \"$ZMQ_TOPIC\"", "", {"ZMQ_TOPIC=orders"}, 10s, mib);
  CHECK(env.out == "orders");
}

TEST_CASE("run_command: SHALL stop a command whose stdout passes max_output, keeping no more than that") {
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_command("yes", "", {}, 60s, mib);
  CHECK(r.how == ending::too_big);
  CHECK(r.out.size() <= mib);
  CHECK(r.out.capacity() <= mib + 64);
  CHECK(seconds_since(start) < 30);

  SUBCASE("and take output of exactly max_output") {
    const auto exact = run_command("head -c 1048576 /dev/zero", "", {}, 60s, mib);
    CHECK(exact.how == ending::exited);
    CHECK(exact.exit_status == 0);
    CHECK(exact.out.size() == mib);
  }
}

TEST_CASE("run_command: SHALL keep the first max_error bytes of stderr and read the rest away") {
  // 8 MiB of stderr: far more than a pipe holds, so a runner that stopped
  // reading would never see the command end.
  const auto r = run_command("head -c 8388608 /dev/zero | tr '\\0' e >&2; echo done", "", {}, 60s, mib);
  CHECK(r.how == ending::exited);
  CHECK(r.exit_status == 0);
  CHECK(r.out == "done\n");
  CHECK(r.err.size() == zmqkit::tools::max_error);
}

TEST_CASE("run_command: SHALL kill what the command left running in the background when it exits") {
  // The background sleep holds stdout open: without the group kill, the
  // result would wait for the 60 s deadline.
  const auto start = std::chrono::steady_clock::now();
  // allow-sleep: the background child the runner must kill, not a wait
  const auto r = run_command("sleep 100 & echo $!", "", {}, 60s, mib);
  CHECK(r.how == ending::exited);
  CHECK(r.exit_status == 0);
  CHECK(seconds_since(start) < 30);
  REQUIRE(!r.out.empty());
  CHECK(process_ended(first_pid(r.out), 5s));
}

TEST_CASE("run_command: SHALL kill the command's whole process group at the deadline") {
  const auto start = std::chrono::steady_clock::now();
  // allow-sleep: the background child the runner must kill, not a wait
  const auto r = run_command("sleep 100 & echo $!; wait", "", {}, 2s, mib);
  CHECK(r.how == ending::timed_out);
  CHECK(seconds_since(start) < 30);
  REQUIRE(!r.out.empty());
  CHECK(process_ended(first_pid(r.out), 5s));

  SUBCASE("and the same when stdout overflows") {
    // allow-sleep: the background child the runner must kill, not a wait
    const auto big = run_command("sleep 100 & echo $!; yes", "", {}, 60s, mib);
    CHECK(big.how == ending::too_big);
    CHECK(process_ended(first_pid(big.out), 5s));
  }
}

TEST_CASE("run_command: SHALL end at the deadline when a process that left the group holds stdout") {
  // setsid puts the sleep out of reach of the group kill; the runner still
  // returns at the deadline, and the test kills the sleep itself.
  const auto start = std::chrono::steady_clock::now();
  // The command waits (on a FIFO) until the sleep has left its group.
  const auto r = run_command("f=$(mktemp -u); mkfifo \"$f\"; "
                             // allow-sleep: the process that holds stdout, not a wait
                             "setsid sh -c 'echo $$; echo > \"$1\"; exec sleep 100' sh \"$f\" & "
                             "read x < \"$f\"; rm \"$f\"",
                             "", {}, 2s, mib);
  CHECK(r.how == ending::timed_out);
  CHECK(seconds_since(start) < 30);
  REQUIRE(!r.out.empty());
  const auto escaped = first_pid(r.out);
  CHECK(::kill(escaped, SIGKILL) == 0);
  CHECK(process_ended(escaped, 5s));
}
