// zmq-forwarder --metrics: the forwarder's figures over HTTP in the
// Prometheus text format (docs/metrics.md), written by prometheus-cpp and
// served by http_server. Only the tools link prometheus-cpp; zmqkit::core
// and zmqkit::patterns know nothing of it.
//
// Example:
//   metrics_endpoint http(parse_metrics_address("127.0.0.1:9464"),
//                         [&fwd] { return fwd.metrics(); });
//   say(tool, "metrics at " + http.url());
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <zmqkit/forwarder.hpp>

namespace zmqkit::tools {

// --metrics HOST:PORT: HOST an IPv4 address, [an IPv6 address] or * (every
// IPv4 interface), PORT 0 to 65535 (0: the kernel picks one). Returns it as
// the HTTP server takes it; throws usage_error with a one-line reason.
std::string parse_metrics_address(const std::string& text);

// The Prometheus text exposition of a snapshot: zmqkit_forwarder_* counters,
// gauges and histograms (docs/metrics.md has the list).
std::string forwarder_metrics_text(const forwarder::metrics_snapshot& m);

// Serves GET /metrics at address (from parse_metrics_address) on a thread
// of its own (http_server: idle or slow clients delay no scrape), calling
// source for each scrape; a scrape while source gives nullptr (the
// forwarder never answered) returns no zmqkit metrics, only the exposer_*
// ones. Throws std::runtime_error, one line, when it cannot listen (port in
// use). The destructor stops the server and waits for its thread.
class metrics_endpoint {
 public:
  using source = std::function<std::shared_ptr<const forwarder::metrics_snapshot>()>;

  metrics_endpoint(const std::string& address, source from);
  ~metrics_endpoint();
  metrics_endpoint(const metrics_endpoint&) = delete;
  metrics_endpoint& operator=(const metrics_endpoint&) = delete;

  // "http://127.0.0.1:41234/metrics", with the port actually bound.
  std::string url() const;

 private:
  struct impl;
  std::unique_ptr<impl> p_;
};

}  // namespace zmqkit::tools
