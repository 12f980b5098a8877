// The sockets' events for a tool: a readiness line and each connection
// event on stderr with -v, and the end of the tool (exit 4) when a
// handshake fails for good (docs/cli.md, docs/security.md).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include <zmqkit/authenticator.hpp>
#include <zmqkit/endpoint.hpp>
#include <zmqkit/monitor.hpp>
#include <zmqkit/socket_options.hpp>

#include "common/cli.hpp"

namespace zmqkit::tools {

// Watches the sockets a pattern creates. With -v it prints
// "<tool>: ready: @tcp://127.0.0.1:5556 ..." once the pattern is attached,
// then each socket event ("<tool>: connected tcp://..."). Always, it ends
// the tool with exit 4 when a connection's handshake fails for good: the
// server refused our key, one side speaks CURVE and the other does not, or
// (three times running) a CURVE server that cannot read our hello, which is
// what a wrong --curve-server key looks like. libzmq would not retry the
// first two, so waiting on would only hang.
// Use: construct it before the pattern, watch(opts.socket), build the
// pattern, ready(...). Monitors attach before the socket connects, so no
// event is missed; sockets may close before the reporter goes.
class socket_reporter {
 public:
  socket_reporter(bool verbose, std::string tool, zmq::context_t& context);
  ~socket_reporter();
  // Makes opts attach a monitor to every socket made from them.
  void watch(zmqkit::socket_options& opts);
  // Attaches a monitor to socket now, taking over from the one it had
  // (libzmq keeps one per socket): for a pattern that monitors its socket
  // itself until then. Call on the socket's thread.
  void watch(zmq::socket_t& socket);
  // Reports an event that a pattern read from its own monitor, as if from
  // one of ours: printed with -v; a failed handshake ends the tool.
  void report(const zmqkit::socket_event& e);
  // sock.secure() for these endpoints (refusals printed with -v). Keep the
  // result until the pattern is gone.
  std::unique_ptr<zmqkit::authenticator> authenticate(const socket_cli_options& sock,
                                                      const std::vector<zmqkit::endpoint>& endpoints);
  // authenticate(), then watch(opts): what every tool does before it builds
  // its pattern.
  std::unique_ptr<zmqkit::authenticator> secure(const socket_cli_options& sock,
                                                zmqkit::socket_options& opts,
                                                const std::vector<zmqkit::endpoint>& endpoints);
  // Prints the readiness line (with -v) and starts watching. given and
  // resolved name the endpoints in the same order.
  void ready(const std::vector<zmqkit::endpoint>& given, const std::vector<std::string>& resolved);
  // Starts watching without a readiness line, for a tool that prints its own.
  void start(const std::vector<zmqkit::endpoint>& given, const std::vector<std::string>& resolved);
  socket_reporter(const socket_reporter&) = delete;
  socket_reporter& operator=(const socket_reporter&) = delete;

 private:
  void on_event(const zmqkit::socket_event& e);

  bool verbose_;
  std::string tool_;
  zmq::context_t& context_;
  std::mutex mutex_;  // monitors_ grows from the pattern's thread
  std::vector<std::unique_ptr<zmqkit::socket_monitor>> monitors_;
  std::mutex event_mutex_;  // on_event runs on our thread and, through report(), the pattern's
  std::vector<std::string> connects_;      // resolved connect addresses
  std::map<std::string, int> unreadable_;  // connect address -> failures in a row
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace zmqkit::tools
