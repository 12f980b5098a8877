// zmq-sub --stats: the per-topic lines with the latency split, and the
// backlog of a durable subscription, behind a real zmq-forwarder.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "support/temp_dir.hpp"
#include "tools/forwarder_runner.hpp"
#include "tools/tool_runner.hpp"

using namespace zmqkit::test;

namespace {

std::vector<std::string> stderr_lines(const std::string& err) {
  std::vector<std::string> out;
  for (std::size_t at = 0; at < err.size();) {
    const auto end = std::min(err.find('\n', at), err.size());
    out.push_back(err.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

bool has_line_starting(const std::vector<std::string>& lines, const std::string& start,
                       const std::vector<std::string>& containing = {}) {
  for (const auto& l : lines) {
    if (l.rfind(start, 0) != 0) continue;
    bool all = true;
    for (const auto& c : containing) all = all && l.find(c) != std::string::npos;
    if (all) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("zmq-sub --stats: SHALL print each topic's events and latency split, and a durable "
          "subscription's backlog") {
  temp_dir d;
  forwarder_proc fwd(d / "j", {"--intake", "@tcp://127.0.0.1:*", "--replay", "@tcp://127.0.0.1:*"});
  const std::string intake = fwd.at.at("intake"), replay = fwd.at.at("replay");
  REQUIRE(run({"zmq-pub", "--reliable", ">" + intake, "-l", "-t", "order_placed"}, numbered_lines(1, 30)).exit_code == 0);
  REQUIRE(run({"zmq-pub", "--reliable", ">" + intake, "-l", "-t", "user_registered"}, numbered_lines(1, 20)).exit_code == 0);

  // 40 of the 50 stored: the last one received leaves 10 behind it.
  const auto r = run({"zmq-sub", ">" + replay, "--durable", "audit", "--replay", "first", "-C", "40",
                      "-W", "30", "--stats"});
  REQUIRE(r.exit_code == 0);
  INFO("stderr: " << r.err);
  const auto lines = stderr_lines(r.err);
  CHECK(has_line_starting(lines, "zmq-sub: stats: received 40 "));
  CHECK(has_line_starting(lines, "zmq-sub: topic \"order_placed\": 30 events (",
                          {"/s)", ", queued p50 ", ", transit p50 ", " ms"}));
  CHECK(has_line_starting(lines, "zmq-sub: topic \"user_registered\": 10 events (", {", queued p50 "}));
  CHECK(has_line_starting(lines, "zmq-sub: backlog 10 "));

  // Straight from a publisher: no forwarder, so no queued part and no backlog.
  process sub(tool({"zmq-sub", "@tcp://127.0.0.1:*", "-v", "-C", "3", "--stats"}));
  const auto at = ready_endpoint(sub);
  REQUIRE(run({"zmq-pub", ">" + at, "-t", "cart_updated", "--wait-subscribers", "1", "-l"}, "1\n2\n3\n").exit_code == 0);
  CHECK(exit_code(sub) == 0);
  const auto plain = stderr_lines(sub.stderr_text());
  INFO("stderr: " << sub.stderr_text());
  CHECK(has_line_starting(plain, "zmq-sub: topic \"cart_updated\": 3 events (", {", transit p50 "}));
  CHECK_FALSE(has_line_starting(plain, "zmq-sub: topic \"cart_updated\"", {"queued"}));
  CHECK_FALSE(has_line_starting(plain, "zmq-sub: backlog"));
}

TEST_CASE("zmq-sub --stats: SHALL print a UTF-8 topic as it is, not byte by byte") {
  process sub(tool({"zmq-sub", "@tcp://127.0.0.1:*", "-v", "-C", "1", "--stats"}));
  const auto at = ready_endpoint(sub);
  REQUIRE(run({"zmq-pub", ">" + at, "-t", "gr\xc3\xbcn", "--wait-subscribers", "1", "-m", "x"}).exit_code == 0);
  CHECK(exit_code(sub) == 0);
  INFO("stderr: " << sub.stderr_text());
  CHECK(has_line_starting(stderr_lines(sub.stderr_text()), "zmq-sub: topic \"gr\xc3\xbcn\": 1 events"));
}
