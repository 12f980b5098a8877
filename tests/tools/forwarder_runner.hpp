// zmq-forwarder as a real process for end-to-end tests: start it on
// kernel-chosen ports and read them from its -v readiness line, feed it with
// zmq-pub --reliable, drain it with zmq-sub --durable/--replay, ask its
// control socket, count its journal with zmq-journal.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/request.hpp"
#include "tools/tool_runner.hpp"

namespace zmqkit::test {

// A running forwarder and the endpoints its readiness line gave. The
// frontend, live and control roles are off unless args name them.
struct forwarder_proc {
  std::unique_ptr<process> p;
  std::map<std::string, std::string> at;  // role -> tcp://127.0.0.1:port

  // wrapper runs in front of the tool (strace ...), argv-style.
  forwarder_proc(const std::string& dir, std::vector<std::string> args,
                 std::vector<std::string> wrapper = {}) {
    std::vector<std::string> argv = wrapper;
    argv.insert(argv.end(), {tool_path("zmq-forwarder"), "-d", dir, "-v"});
    for (const char* role : {"--frontend", "--live", "--control"})
      if (std::find(args.begin(), args.end(), role) == args.end()) argv.insert(argv.end(), {role, "none"});
    argv.insert(argv.end(), args.begin(), args.end());
    p = std::make_unique<process>(argv);
    const std::string line = wait_for_stderr(*p, ": ready:");
    std::size_t pos = line.find("ready:") + 6;
    while (pos < line.size()) {
      const auto end = std::min(line.find(' ', pos + 1), line.size());
      const std::string word = line.substr(pos + 1, end - pos - 1);
      const auto eq = word.find('=');
      if (eq != std::string::npos && eq + 1 < word.size() && (word[eq + 1] == '@' || word[eq + 1] == '>'))
        at[word.substr(0, eq)] = word.substr(eq + 2);
      pos = end;
    }
  }
};

// "from\n" ... "to\n", each number after prefix.
inline std::string numbered_lines(int from, int to, const std::string& prefix = "") {
  std::string s;
  for (int i = from; i <= to; ++i) s += prefix + std::to_string(i) + "\n";
  return s;
}

// Numbered lines of about 1 KiB ("17 xxx...x"): a subscriber whose stdout
// is not read fills its pipe after a few dozen and then holds the rest
// unacknowledged; a few thousand fill a small disk.
inline std::string wide_lines(int from, int to) {
  std::string s;
  for (int i = from; i <= to; ++i) s += std::to_string(i) + " " + std::string(1000, 'x') + "\n";
  return s;
}

// Every message a subscription delivers, as JSON, until count arrived; name
// "" is an unnamed one.
inline std::vector<nlohmann::json> drain(const std::string& replay, const std::string& name, int count,
                                         const std::string& start = "") {
  std::vector<std::string> argv{"zmq-sub", ">" + replay, "-C", std::to_string(count),
                                "-W", "30", "--out-format", "jsonl"};
  if (!name.empty()) argv.insert(argv.end(), {"--durable", name});
  if (!start.empty()) argv.insert(argv.end(), {"--replay", start});
  process sub(tool(argv));
  std::vector<nlohmann::json> out;
  for (const auto& l : read_lines(sub, 60s)) out.push_back(nlohmann::json::parse(l));
  CHECK(exit_code(sub, 30s) == 0);
  return out;
}

// Payloads as numbers, in the order given, e.g. from drain().
inline std::vector<int> payload_numbers(const std::vector<nlohmann::json>& messages) {
  std::vector<int> out;
  for (const auto& m : messages) out.push_back(std::stoi(m["payload"].get<std::string>()));
  return out;
}

inline std::uint64_t journal_records(const std::string& dir) {
  const auto r = run({"zmq-journal", "stat", dir, "--format", "json"});
  REQUIRE(r.exit_code == 0);
  std::string text;
  for (const auto& l : r.lines) text += l;
  return nlohmann::json::parse(text)["records"].get<std::uint64_t>();
}

inline nlohmann::json forwarder_stats(const std::string& control) {
  return nlohmann::json::parse(request(control, "STATS").at(0));
}

// Reads numbered lines from several processes until every number in
// [1, count] has been seen (seen: those printed elsewhere already) or timeout
// passes; what each printed.
inline std::vector<std::vector<int>> collect_numbers(const std::vector<process*>& from, int count,
                                                     std::chrono::milliseconds timeout,
                                                     std::set<int> seen = {}) {
  std::vector<std::vector<int>> got(from.size());
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (static_cast<int>(seen.size()) < count && std::chrono::steady_clock::now() < deadline) {
    for (std::size_t i = 0; i < from.size(); ++i) {
      while (auto line = from[i]->read_line(from.size() == 1 ? 100ms : 10ms)) {
        const int n = std::stoi(*line);
        got[i].push_back(n);
        seen.insert(n);
      }
    }
  }
  return got;
}

}  // namespace zmqkit::test
