// Runs a shell command for zmq-rep --exec: input on its stdin, its stdout
// captured up to a size limit, bounded in time. The command runs in a
// process group of its own, which is killed (SIGKILL) whole when the
// command ends, times out, writes too much or the tool is stopped, so
// nothing it started in the background outlives it.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace zmqkit::tools {

struct command_result {
  enum class ending {
    exited,     // the command exited (or died of a signal) and its stdout ended
    timed_out,  // the deadline passed first
    too_big,    // its stdout went past max_output
    stopped,    // SIGINT/SIGTERM for the tool (stop_requested())
  };
  ending how = ending::exited;
  int exit_status = -1;  // when exited: the exit code, or 128 + signal number
  std::string out;       // stdout, at most max_output bytes
  std::string err;       // the first max_error bytes of stderr; the rest is read and dropped
};

// How much of a command's stderr is kept: enough for the line an error reply quotes.
inline constexpr std::size_t max_error = 4096;

// Runs "/bin/sh -c command" with extra environment variables (NAME=value)
// and waits until it has exited and its stdout has ended, at most timeout.
// When the command exits, the rest of its process group is killed: a
// background child still holding stdout cannot keep the reply waiting
// (one that left the group with setsid can, until the deadline). Returns
// early, group killed, on too_big or a stop signal (checked every 200 ms).
// Memory: at most max_output + max_error bytes kept, whatever the command writes.
// Throws std::runtime_error if it cannot be started.
command_result run_command(const std::string& command, const std::string& input,
                           const std::vector<std::string>& env, std::chrono::milliseconds timeout,
                           std::size_t max_output);

}  // namespace zmqkit::tools
