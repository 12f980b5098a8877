#include "common/cli.hpp"

#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <sstream>

#include <zmqkit/envelope.hpp>
#include <zmqkit/error.hpp>

namespace zmqkit::tools {
namespace {

std::atomic<bool> stop_flag{false};
std::mutex stderr_mutex;

void on_stop_signal(int) { stop_flag = true; }

}  // namespace

std::string seconds_text(double seconds) {
  std::ostringstream s;
  s << seconds;
  return s.str();
}

void say(const std::string& tool, const std::string& text) {
  std::lock_guard<std::mutex> lock(stderr_mutex);
  std::cerr << tool << ": " << text << std::endl;
}

std::string help_footer(const std::string& examples) {
  return "\nEndpoints: @tcp://host:port binds, >tcp://host:port connects (also ipc://, inproc://).\n"
         "Exit codes: 0 done, 1 other failure, 2 usage, 3 idle timeout, 4 peer unavailable.\n"
         "\nExamples:\n" +
         examples + "\nMore: docs/cli.md\n";
}

void endpoint_options::add_to(CLI::App& app) {
  app.add_option("endpoints", positional, "Endpoints: @addr binds, >addr connects");
  app.add_option("--bind", binds, "Bind to this address (repeatable)")->delimiter(',');
  app.add_option("--connect", connects, "Connect to this address (repeatable)")->delimiter(',');
}

std::vector<zmqkit::endpoint> endpoint_options::resolve(endpoint_mode bare_mode,
                                                        const std::string& fallback) const {
  std::vector<zmqkit::endpoint> out;
  try {
    for (const auto& p : positional) out.push_back(zmqkit::endpoint::parse(p, bare_mode));
    for (const auto& b : binds) {
      auto ep = zmqkit::endpoint::parse(b, endpoint_mode::bind);
      ep.mode = endpoint_mode::bind;
      out.push_back(ep);
    }
    for (const auto& c : connects) {
      auto ep = zmqkit::endpoint::parse(c, endpoint_mode::connect);
      ep.mode = endpoint_mode::connect;
      out.push_back(ep);
    }
    if (out.empty()) out.push_back(zmqkit::endpoint::parse(fallback, bare_mode));
  } catch (const std::invalid_argument& e) {
    throw usage_error(e.what());
  }
  return out;
}

void socket_cli_options::add_to(CLI::App& app) {
  app.add_option("--hwm", hwm, "High-water mark: messages queued per peer")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--linger", linger_ms, "Milliseconds to deliver queued messages at exit")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
}

void socket_cli_options::apply(zmqkit::socket_options& o) const {
  o.send_hwm = hwm;
  o.receive_hwm = hwm;
  o.linger = std::chrono::milliseconds(linger_ms);
}

void install_stop_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocked zmq_recv returns with EINTR
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a closed stdout is an error we report, not a kill
}

bool stop_requested() noexcept { return stop_flag.load(); }

bool interrupted(const std::exception& e) noexcept {
  const auto* z = dynamic_cast<const zmqkit::error*>(&e);
  return z != nullptr && z->code().value() == EINTR;
}

int run_tool(CLI::App& app, int argc, char** argv, const std::function<int()>& body) {
  const std::string tool = app.get_name();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    say(tool, std::string(e.what()) + " (see " + tool + " --help)");
    return exit_usage;
  }
  try {
    install_stop_signals();
    return body();
  } catch (const usage_error& e) {
    say(tool, std::string(e.what()) + " (see " + tool + " --help)");
    return exit_usage;
  } catch (const unavailable_error& e) {
    say(tool, e.what());
    return exit_unavailable;
  } catch (const zmqkit::error& e) {
    if (e.code().value() == EINTR) return exit_ok;  // stopped by a signal
    const auto what = std::string(e.what());
    // A bad address is the user's to fix: a usage error.
    if (e.code().value() == EINVAL || e.code().value() == EPROTONOSUPPORT ||
        e.code().value() == ENODEV) {
      say(tool, what + " (check the endpoint)");
      return exit_usage;
    }
    say(tool, what);
    return exit_failure;
  } catch (const zmqkit::decode_error& e) {
    say(tool, std::string("bad message: ") + e.what());
    return exit_failure;
  } catch (const std::exception& e) {
    say(tool, e.what());
    return exit_failure;
  }
}

verbose_reporter::verbose_reporter(bool verbose, std::string tool, zmq::context_t& context)
    : verbose_(verbose), tool_(std::move(tool)), context_(context) {}

void verbose_reporter::watch(zmqkit::socket_options& opts) {
  if (!verbose_) return;
  opts.on_created = [this](zmq::socket_t& socket) {
    monitor_ = std::make_unique<zmqkit::socket_monitor>(
        context_, socket,
        ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_ACCEPTED |
            ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
            ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
  };
}

void verbose_reporter::ready(const std::vector<zmqkit::endpoint>& given,
                             const std::vector<std::string>& resolved) {
  if (!verbose_) return;
  std::string line = "ready:";
  for (std::size_t i = 0; i < given.size() && i < resolved.size(); ++i)
    line += std::string(" ") + (given[i].mode == endpoint_mode::bind ? "@" : ">") + resolved[i];
  say(tool_, line);
  if (!monitor_) return;
  // Events since the socket was created waited in the monitor's pipe: they
  // print after the readiness line, in order.
  thread_ = std::thread([this] {
    using namespace std::chrono_literals;
    while (!done_) {
      try {
        if (auto e = monitor_->next(100ms)) say(tool_, std::string(event_name(e->id)) + " " + e->endpoint);
      } catch (const std::exception& e) {
        if (!interrupted(e)) return;  // the context is going away: nothing left to report
      }
    }
  });
}

verbose_reporter::~verbose_reporter() {
  done_ = true;
  if (thread_.joinable()) thread_.join();
}

}  // namespace zmqkit::tools
