// Runs a shell command for zmq-rep --exec: input on its stdin, its stdout
// captured, bounded in time (killed with SIGKILL at the deadline).
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace zmqkit::tools {

struct command_result {
  bool timed_out = false;
  int exit_status = -1;  // the exit code, or 128 + signal number
  std::string out, err;
};

// Runs "/bin/sh -c command" with extra environment variables (NAME=value).
// Throws std::runtime_error if it cannot be started.
command_result run_command(const std::string& command, const std::string& input,
                           const std::vector<std::string>& env, std::chrono::milliseconds timeout);

}  // namespace zmqkit::tools
