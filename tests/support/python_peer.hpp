// Python peers for tests: scripts run with the Debian interpreter, which has
// python3-zmq and python3-msgpack. A peer answers "check" with exit 0 when
// its modules import; otherwise the test says SKIPPED with the reason.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace zmqkit::test {

// {system_python(), script, args...}
std::vector<std::string> python_argv(const std::string& script, std::vector<std::string> args);
// Why script cannot run here, or "" if it can. Asked once per script.
std::string python_unavailable(const std::string& script);

// True, after printing "SKIPPED: <reason>", when the peer cannot run.
inline bool python_skipped(const std::string& script) {
  const auto reason = python_unavailable(script);
  if (reason.empty()) return false;
  MESSAGE("SKIPPED: " << reason);
  return true;
}

}  // namespace zmqkit::test
