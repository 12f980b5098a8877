#include "common/socket_reporter.hpp"

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>

namespace zmqkit::tools {

socket_reporter::socket_reporter(bool verbose, std::string tool, zmq::context_t& context)
    : verbose_(verbose), tool_(std::move(tool)), context_(context) {}

namespace {
// The events the reporter prints or acts on.
constexpr int reported_events =
    ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED |
    ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
    ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
}  // namespace

void socket_reporter::watch(zmqkit::socket_options& opts) {
  auto chained = opts.on_created;
  opts.on_created = [this, chained](zmq::socket_t& socket) {
    if (chained) chained(socket);
    watch(socket);
  };
}

void socket_reporter::watch(zmq::socket_t& socket) {
  auto m = std::make_unique<zmqkit::socket_monitor>(context_, socket,
                                                    reported_events | ZMQ_EVENT_MONITOR_STOPPED);
  std::lock_guard<std::mutex> lock(mutex_);
  monitors_.push_back(std::move(m));
}

void socket_reporter::report(const zmqkit::socket_event& e) {
  if ((e.id & reported_events) != 0) on_event(e);
}

std::unique_ptr<zmqkit::authenticator> socket_reporter::authenticate(
    const socket_cli_options& sock, const std::vector<zmqkit::endpoint>& endpoints) {
  std::function<void(const std::string&)> log;
  if (verbose_) log = [tool = tool_](const std::string& line) { say(tool, line); };
  return sock.secure(context_, endpoints, std::move(log));
}

std::unique_ptr<zmqkit::authenticator> socket_reporter::secure(const socket_cli_options& sock,
                                                               zmqkit::socket_options& opts,
                                                               const std::vector<zmqkit::endpoint>& endpoints) {
  auto zap = authenticate(sock, endpoints);
  watch(opts);
  return zap;
}

void socket_reporter::ready(const std::vector<zmqkit::endpoint>& given,
                            const std::vector<std::string>& resolved) {
  if (verbose_) {
    std::string line = "ready:";
    for (std::size_t i = 0; i < given.size() && i < resolved.size(); ++i)
      line += std::string(" ") + (given[i].mode == endpoint_mode::bind ? "@" : ">") + resolved[i];
    say(tool_, line);
  }
  start(given, resolved);
}

void socket_reporter::start(const std::vector<zmqkit::endpoint>& given,
                            const std::vector<std::string>& resolved) {
  for (std::size_t i = 0; i < given.size() && i < resolved.size(); ++i)
    if (given[i].mode == endpoint_mode::connect) connects_.push_back(resolved[i]);
  // Events since the sockets were created waited in the monitors' pipes:
  // they print after the readiness line, in order.
  thread_ = std::thread([this] {
    using namespace std::chrono_literals;
    while (!done_) {
      std::vector<zmqkit::socket_monitor*> watched;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        for (auto& m : monitors_) watched.push_back(m.get());
      }
      std::vector<zmq::pollitem_t> items;
      for (auto* m : watched) items.push_back({m->handle(), 0, ZMQ_POLLIN, 0});
      try {
        // The timeout bounds how long the destructor waits for this thread.
        zmq::poll(items.data(), items.size(), 100ms);
        for (std::size_t i = 0; i < items.size(); ++i) {
          if ((items[i].revents & ZMQ_POLLIN) == 0) continue;
          const auto e = watched[i]->next(0ms);
          if (e && e->id == ZMQ_EVENT_MONITOR_STOPPED) {  // its socket closed (a retry's)
            std::lock_guard<std::mutex> lock(mutex_);
            monitors_.erase(std::find_if(monitors_.begin(), monitors_.end(),
                                         [&](const auto& m) { return m.get() == watched[i]; }));
          } else if (e) {
            on_event(*e);
          }
        }
      } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) return;  // the context is going away: nothing left to report
      } catch (const std::exception& e) {
        if (!interrupted(e)) return;
      }
    }
  });
}

void socket_reporter::on_event(const zmqkit::socket_event& e) {
  std::lock_guard<std::mutex> lock(event_mutex_);
  if (verbose_) say(tool_, std::string(event_name(e.id)) + " " + e.endpoint);
  if (std::find(connects_.begin(), connects_.end(), e.endpoint) == connects_.end()) return;
  const auto& where = e.endpoint;
  switch (e.id) {
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
      unreadable_[where] = 0;
      return;
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
      fail_from_thread(exit_unavailable, where + " refused us (ZAP status " + std::to_string(e.value) +
                                             "): is our public key in the server's --curve-allow directory?");
      return;
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
      fail_from_thread(
          exit_unavailable,
          where + (e.value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH
                       ? ": the server's security does not match ours (CURVE on one side only?)"
                       : e.value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC
                             ? ": CURVE handshake failed: is --curve-server the server's public key?"
                             : ": handshake failed: protocol error " + std::to_string(e.value)));
      return;
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
      if (++unreadable_[where] == 3)
        fail_from_thread(exit_unavailable,
                         where + ": the server closed the handshake 3 times: is --curve-server its "
                                 "public key, and does it use CURVE?");
      return;
    default:
      return;
  }
}

socket_reporter::~socket_reporter() {
  done_ = true;
  if (thread_.joinable()) thread_.join();
}

}  // namespace zmqkit::tools
