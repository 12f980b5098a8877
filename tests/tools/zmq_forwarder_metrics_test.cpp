// zmq-forwarder --metrics as a real process: /metrics fetched over HTTP
// before and after messages flow through it, its text checked by Prometheus's
// own promtool, and a real Prometheus server scraping it. Skipped, with the
// reason printed, where promtool or prometheus (Debian package prometheus)
// is missing.
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "support/http_get.hpp"
#include "support/raw_tcp.hpp"
#include "support/temp_dir.hpp"
#include "tools/forwarder_runner.hpp"

using namespace zmqkit::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string any_port = "@tcp://127.0.0.1:*";

// Every sample of a Prometheus text exposition: series (name and labels, as
// printed) -> value.
std::map<std::string, double> samples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    REQUIRE_MESSAGE(space != std::string::npos, "not a sample line: " << line);
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

std::string fetch(const std::string& url) {
  const auto r = http_get(url);
  REQUIRE_MESSAGE(r.status == 200, "GET " << url << " answered " << r.status);
  return r.body;
}

// Fetches url until done(samples) or the deadline; the last samples.
template <class Done>
std::map<std::string, double> fetch_until(const std::string& url, Done done,
                                          std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto s = samples(fetch(url));
  while (!done(s) && std::chrono::steady_clock::now() < deadline) s = samples(fetch(url));
  return s;
}

// A port nothing listens on now (the kernel's choice, released at once),
// for a program that cannot report the port it bound.
int free_tcp_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  REQUIRE(ok);
  return ntohs(addr.sin_port);
}

bool executable(const char* path) { return ::access(path, X_OK) == 0; }

// "127.0.0.1:41234" from "http://127.0.0.1:41234/metrics".
std::string host_port(const std::string& url) {
  const auto start = url.find("//") + 2;
  return url.substr(start, url.find('/', start) - start);
}

}  // namespace

TEST_CASE("zmq-forwarder --metrics: SHALL serve Prometheus text over HTTP whose counters and per-topic "
          "values move as messages are stored and consumed") {
  temp_dir d;
  forwarder_proc fwd(d / "j", {"--intake", any_port, "--replay", any_port, "--control", any_port, "--metrics",
                               "127.0.0.1:0"});
  const std::string url = fwd.at.at("metrics");
  CHECK(url.rfind("http://127.0.0.1:", 0) == 0);
  CHECK(url.size() > std::string("http://127.0.0.1:/metrics").size());

  const auto before = samples(fetch(url));
  CHECK(before.at("zmqkit_forwarder_stored_total") == 0);
  CHECK(before.at("zmqkit_forwarder_journal_next_fseq") == 1);
  CHECK(before.count("zmqkit_forwarder_topic_events_total{topic=\"orders\"}") == 0);

  REQUIRE(run({"zmq-pub", "--reliable", ">" + fwd.at.at("intake"), "-l", "-t", "orders"}, numbered_lines(1, 100))
              .exit_code == 0);
  REQUIRE(run({"zmq-pub", "--reliable", ">" + fwd.at.at("intake"), "-l", "-t", "audit"}, numbered_lines(1, 50))
              .exit_code == 0);
  REQUIRE(drain(fwd.at.at("replay"), "billing", 150, "first").size() == 150);

  // Acknowledgements may still be on their way when zmq-sub exits.
  const std::string acked = "zmqkit_forwarder_subscription_acked_total{subscription=\"billing\"}";
  const auto after = fetch_until(url, [&](const auto& s) { return s.count(acked) && s.at(acked) == 150; });
  std::string shown;
  for (const auto& [series, v] : after) shown += series + " " + std::to_string(v) + "\n";
  INFO("after:\n" << shown);
  CHECK(after.at(acked) == 150);
  CHECK(after.at("zmqkit_forwarder_stored_total") == 150);
  CHECK(after.at("zmqkit_forwarder_replay_acked_total") == 150);
  CHECK(after.at("zmqkit_forwarder_journal_next_fseq") == 151);
  CHECK(after.at("zmqkit_forwarder_journal_bytes") > before.at("zmqkit_forwarder_journal_bytes"));
  CHECK(after.at("zmqkit_forwarder_fsync_seconds_count") >= 1);
  CHECK(after.at("zmqkit_forwarder_subscription_backlog{subscription=\"billing\"}") == 0);
  for (const auto& [topic, n] : {std::pair{"orders", 100}, std::pair{"audit", 50}}) {
    const std::string t = std::string("{topic=\"") + topic + "\"";
    CHECK(after.at("zmqkit_forwarder_topic_events_total" + t + "}") == n);
    CHECK(after.at("zmqkit_forwarder_topic_consumed_total" + t + "}") == n);
    CHECK(after.at("zmqkit_forwarder_topic_bytes_total" + t + "}") > n * 20);
    CHECK(after.at("zmqkit_forwarder_topic_queued_seconds_count" + t + "}") == n);
    CHECK(after.at("zmqkit_forwarder_topic_queued_seconds_bucket" + t + ",le=\"+Inf\"}") == n);
    CHECK(after.at("zmqkit_forwarder_topic_transit_seconds_count" + t + "}") == n);
    CHECK(after.at("zmqkit_forwarder_topic_transit_seconds_bucket" + t + ",le=\"60\"}") == n);
  }

  // STATS on the control socket tells the same story.
  const json stats = forwarder_stats(fwd.at.at("control"));
  CHECK(stats["topics"]["orders"]["events"] == 100);
  CHECK(stats["topics"]["audit"]["consumed"] == 50);
  CHECK(stats["subscriptions"][0]["acked"] == 150);
  CHECK(stats["rates"].contains("stored_per_s"));

  if (!executable("/usr/bin/promtool")) {
    MESSAGE("SKIPPED: promtool check metrics: /usr/bin/promtool is missing (Debian package prometheus)");
    return;
  }
  process promtool({"/usr/bin/promtool", "check", "metrics"});
  {
    stdin_feeder feed(promtool, fetch(url));
    (void)read_lines(promtool);
  }
  INFO("promtool: " << promtool.stderr_text());
  CHECK(exit_code(promtool) == 0);
}

TEST_CASE("zmq-forwarder --metrics: SHALL be scraped by a real Prometheus server") {
  const char* prometheus = "/usr/bin/prometheus";
  if (!executable(prometheus)) {
    MESSAGE("SKIPPED: needs a Prometheus server at /usr/bin/prometheus (Debian package prometheus)");
    return;
  }
  temp_dir d;
  forwarder_proc fwd(d / "j", {"--intake", any_port, "--replay", "none", "--metrics", "127.0.0.1:0"});
  const std::string config = d / "prometheus.yml";
  std::ofstream(config) << "global:\n"
                           "  scrape_interval: 1s\n"
                           "  evaluation_interval: 1s\n"
                           "scrape_configs:\n"
                           "  - job_name: zmqkit_forwarder\n"
                           "    static_configs:\n"
                           "      - targets: ['"
                        << host_port(fwd.at.at("metrics")) << "']\n";
  const std::string api = "http://127.0.0.1:" + std::to_string(free_tcp_port()) + "/api/v1/query?query=";
  process server({prometheus, "--config.file=" + config, "--storage.tsdb.path=" + d / "data",
                  "--web.listen-address=" + host_port(api)});
  wait_for_stderr(server, "Server is ready to receive web requests", 60s);

  REQUIRE(run({"zmq-pub", "--reliable", ">" + fwd.at.at("intake"), "-l", "-t", "orders"}, numbered_lines(1, 10))
              .exit_code == 0);

  // The value of a query's first series, once Prometheus has one.
  const auto query = [&](const std::string& q) -> std::optional<double> {
    const auto r = http_get(api + q);
    if (r.status != 200) return std::nullopt;
    const auto result = json::parse(r.body)["data"]["result"];
    if (result.empty()) return std::nullopt;
    return std::stod(result[0]["value"][1].get<std::string>());
  };
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  std::optional<double> stored;
  while (!(stored && *stored >= 10) && std::chrono::steady_clock::now() < deadline)
    stored = query("zmqkit_forwarder_stored_total");
  INFO("prometheus stderr:\n" << server.stderr_text());
  REQUIRE(stored);
  CHECK(*stored == 10);
  CHECK(query("zmqkit_forwarder_topic_events_total%7Btopic%3D%22orders%22%7D") == 10.0);
  CHECK(query("up%7Bjob%3D%22zmqkit_forwarder%22%7D") == 1.0);
  server.kill(SIGTERM);
  CHECK(exit_code(server, 30s) == 0);
}

TEST_CASE("zmq-forwarder --metrics: SHALL answer a scrape within a second while ten clients hold half a "
          "request and ten send nothing") {
  temp_dir d;
  forwarder_proc fwd(d / "j", {"--intake", any_port, "--replay", "none", "--metrics", "127.0.0.1:0"});
  const std::string url = fwd.at.at("metrics");
  std::vector<int> idle;
  for (int i = 0; i < 20; ++i) {
    idle.push_back(tcp_connect(host_port(url)));
    if (i % 2 == 0) {
      const std::string half = "GET /metrics HTTP/1.1\r\nHost: " + host_port(url) + "\r\n";
      CHECK(::send(idle.back(), half.data(), half.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(half.size()));
    }
  }
  const auto start = std::chrono::steady_clock::now();
  const auto r = http_get(url);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  for (const int fd : idle) ::close(fd);
  CHECK(r.status == 200);
  CHECK(r.body.find("zmqkit_forwarder_stored_total 0\n") != std::string::npos);
  CHECK(took.count() < 2.0);  // 30 s behind civetweb's two threads, 0.1 s when the machine is idle
  // The first scrape begins as prometheus-cpp's Exposer began it.
  CHECK(r.body.rfind("# HELP exposer_transferred_bytes_total Transferred bytes to metrics services\n"
                     "# TYPE exposer_transferred_bytes_total counter\n"
                     "exposer_transferred_bytes_total 0\n"
                     "# HELP exposer_scrapes_total Number of times metrics were scraped\n"
                     "# TYPE exposer_scrapes_total counter\n"
                     "exposer_scrapes_total 0\n"
                     "# HELP exposer_request_latencies Latencies of serving scrape requests, in microseconds\n"
                     "# TYPE exposer_request_latencies summary\n"
                     "exposer_request_latencies_count 0\n"
                     "exposer_request_latencies_sum 0\n"
                     "exposer_request_latencies{quantile=\"0.5\"} Nan\n"
                     "exposer_request_latencies{quantile=\"0.9\"} Nan\n"
                     "exposer_request_latencies{quantile=\"0.99\"} Nan\n"
                     "# HELP zmqkit_forwarder_stored_total Messages stored in the journal\n",
                     0) == 0);
}

TEST_CASE("zmq-forwarder --metrics: SHALL exit 2 on a bad address and 1, in one line, on a port in use") {
  check_usage_error({"zmq-forwarder", "-d", "j", "--metrics", "localhost:9464"});
  check_usage_error({"zmq-forwarder", "-d", "j", "--metrics", "127.0.0.1"});
  check_usage_error({"zmq-forwarder", "-d", "j", "--metrics", "127.0.0.1:65536"});
  check_usage_error({"zmq-forwarder", "-d", "j", "--metrics", "127.0.0.1:http"});

  temp_dir d;
  forwarder_proc first(d / "a", {"--intake", any_port, "--replay", "none", "--metrics", "127.0.0.1:0"});
  const auto r = run({"zmq-forwarder", "-d", d / "b", "--intake", any_port, "--replay", "none", "--live", "none",
                      "--frontend", "none", "--control", "none", "--metrics", host_port(first.at.at("metrics"))});
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.rfind("zmq-forwarder: --metrics ", 0) == 0);
  CHECK(r.err.find("in use") != std::string::npos);
  CHECK(r.err.find('\n') == r.err.size() - 1);
}
