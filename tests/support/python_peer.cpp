#include "support/python_peer.hpp"

#include <sys/wait.h>

#include <chrono>
#include <map>
#include <mutex>

#include "support/process.hpp"

namespace zmqkit::test {

std::vector<std::string> python_argv(const std::string& script, std::vector<std::string> args) {
  args.insert(args.begin(), {system_python(), script});
  return args;
}

std::string python_unavailable(const std::string& script) {
  static std::mutex mutex;
  static std::map<std::string, std::string> reasons;
  std::lock_guard<std::mutex> lock(mutex);
  const auto known = reasons.find(script);
  if (known != reasons.end()) return known->second;
  const auto name = script.substr(script.rfind('/') + 1);
  std::string reason;
  try {
    process check(python_argv(script, {"check"}));
    const auto status = check.wait(std::chrono::seconds(10));
    if (!status) {
      reason = name + " check did not finish";
    } else if (!(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)) {
      const auto text = check.stderr_text();
      reason = text.empty() ? name + " check failed" : text.substr(0, text.find('\n'));
    }
  } catch (const std::exception& e) {
    reason = std::string("cannot run ") + system_python() + ": " + e.what();
  }
  return reasons.emplace(script, reason).first->second;
}

}  // namespace zmqkit::test
