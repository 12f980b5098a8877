#include "common/cli.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <limits>
#include <mutex>
#include <optional>
#include <utility>

#include <zmqkit/envelope.hpp>
#include <zmqkit/error.hpp>
#include <zmqkit/json_text.hpp>

#include "common/option_values.hpp"

namespace zmqkit::tools {
namespace {

std::atomic<bool> stop_flag{false};
std::mutex stderr_mutex;
pthread_t main_thread;
std::mutex failure_mutex;
std::optional<std::pair<int, std::string>> failure;  // set by fail_from_thread

// The failure another thread recorded, taken once.
std::optional<std::pair<int, std::string>> take_failure() {
  std::lock_guard<std::mutex> lock(failure_mutex);
  auto f = failure;
  failure.reset();
  return f;
}

void on_stop_signal(int) { stop_flag = true; }

}  // namespace

std::string printable_line(std::string_view text, std::size_t max_bytes) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  std::size_t i = 0;
  while (i < text.size() && out.size() < max_bytes) {
    const auto b = static_cast<unsigned char>(text[i]);
    std::size_t len = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3
                                    : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    // Text stays as it is; control characters (C0, DEL, C1) and bytes that
    // are not UTF-8 are shown as \xNN, so no input can move the terminal's
    // cursor, split the line or make grep call stderr binary.
    const bool c1 = b == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) < 0xa0;
    if (len == 1 ? (b >= 0x20 && b != 0x7f)
                 : len > 1 && !c1 && zmqkit::is_utf8(text.substr(i, len))) {
      out.append(text.substr(i, len));
      i += len;
    } else {
      out += "\\x";
      out += hex[b >> 4];
      out += hex[b & 15];
      ++i;
    }
  }
  if (i < text.size()) out += "... (" + std::to_string(text.size() - i) + " more bytes)";
  return out;
}

void say(const std::string& tool, const std::string& text) {
  const auto line = printable_line(text);
  std::lock_guard<std::mutex> lock(stderr_mutex);
  std::cerr << tool << ": " << line << std::endl;
}

const char* const socket_tool_notes =
    "Endpoints: @tcp://host:port binds, >tcp://host:port connects (also ipc://, inproc://).\n"
    "Exit codes: 0 done, 1 other failure, 2 usage, 3 idle timeout, 4 peer unavailable or\n"
    "refused (a CURVE handshake that failed).\n";

std::string help_footer(const std::string& examples, const std::string& notes,
                        const std::string& more) {
  return "\n" + notes + "\nExamples:\n" + examples + "\nMore: " + more + "\n";
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
  app.add_option("--hwm", hwm, "High-water mark: messages queued per peer (0: no limit)")
      ->check(whole_number_in(0, std::numeric_limits<int>::max()))
      ->capture_default_str();
  app.add_option("--linger", linger_ms, "Milliseconds to deliver queued messages at exit")
      ->check(whole_number_in(0, std::numeric_limits<int>::max()))
      ->capture_default_str();
  app.add_option("--max-size", max_size,
                 "Largest message (frame) to send or receive; larger ones are refused before "
                 "sending, and a peer sending one is disconnected [16m]")
      ->transform(bytes_in(64, std::uint64_t{1} << 30));
  app.add_option("--curve-secret", curve_secret,
                 "CURVE: our certificate with its secret key (NAME.key_secret, mode 0600); "
                 "secures every tcp endpoint")
      ->type_name("FILE")
      ->group("Security (docs/security.md)");
  app.add_option("--curve-allow", curve_allow,
                 "CURVE, binding: directory of the client certificates (NAME.key) let in; "
                 "every other client is refused")
      ->type_name("DIR")
      ->group("Security (docs/security.md)");
  app.add_option("--curve-server", curve_server,
                 "CURVE, connecting: the server's public key, as 40 Z85 characters or its NAME.key file")
      ->type_name("KEY|FILE")
      ->group("Security (docs/security.md)");
  app.add_option("--curve-allow-ip", allow_ips,
                 "CURVE, binding: let in clients from this IP address only (repeatable)")
      ->type_name("ADDR")
      ->group("Security (docs/security.md)");
  app.add_option("--curve-deny-ip", deny_ips,
                 "CURVE, binding: refuse clients from this IP address (repeatable)")
      ->type_name("ADDR")
      ->group("Security (docs/security.md)");
}

void socket_cli_options::apply(zmqkit::socket_options& o) const {
  o.send_hwm = hwm;
  o.receive_hwm = hwm;
  o.max_message_size = static_cast<std::int64_t>(max_size);
  o.linger = std::chrono::milliseconds(linger_ms);
  if (curve_secret.empty()) {
    for (const auto* given : {&curve_allow, &curve_server})
      if (!given->empty())
        throw usage_error(std::string(given == &curve_allow ? "--curve-allow" : "--curve-server") +
                          " needs --curve-secret FILE, this side's own certificate");
    if (!allow_ips.empty() || !deny_ips.empty())
      throw usage_error("--curve-allow-ip and --curve-deny-ip need --curve-secret and --curve-allow");
    return;
  }
  o.curve = zmqkit::curve_options::from(
      zmqkit::certificate::load(curve_secret),
      curve_server.empty() ? std::string() : zmqkit::certificate::public_key_from(curve_server));
}

std::unique_ptr<zmqkit::authenticator> socket_cli_options::secure(
    zmq::context_t& context, const std::vector<zmqkit::endpoint>& endpoints,
    std::function<void(const std::string&)> log) const {
  if (curve_secret.empty()) return nullptr;
  const zmqkit::endpoint* bound = nullptr;
  const zmqkit::endpoint* connected = nullptr;
  for (const auto& ep : endpoints) {
    if (!ep.is_tcp()) continue;
    auto& first = ep.mode == endpoint_mode::bind ? bound : connected;
    if (first == nullptr) first = &ep;
  }
  if (bound == nullptr && connected == nullptr)
    throw usage_error("--curve-secret: no tcp endpoint to secure (CURVE covers tcp only; "
                      "ipc and inproc are not encrypted)");
  if (bound != nullptr && curve_allow.empty())
    throw usage_error("binding " + bound->address +
                      " with CURVE needs --curve-allow DIR, the client keys to let in");
  if (bound == nullptr && !curve_allow.empty())
    throw usage_error("--curve-allow is for a bound tcp endpoint (@tcp://...); none is bound");
  if (connected != nullptr && curve_server.empty())
    throw usage_error("connecting to " + connected->address +
                      " with CURVE needs --curve-server KEY|FILE, the server's public key");
  if (connected == nullptr && !curve_server.empty())
    throw usage_error("--curve-server is for a connected tcp endpoint (>tcp://...); none is connected");
  if (bound == nullptr) return nullptr;
  zmqkit::zap_policy policy{curve_allow, allow_ips, deny_ips};
  return std::make_unique<zmqkit::authenticator>(context, policy, std::move(log));
}

void fail_from_thread(exit_code code, const std::string& message) {
  {
    std::lock_guard<std::mutex> lock(failure_mutex);
    if (failure) return;
    failure.emplace(code, message);
  }
  stop_flag = true;
  // The handler only sets the flag; without SA_RESTART the main thread's
  // blocking call returns EINTR and its loop sees the flag.
  pthread_kill(main_thread, SIGTERM);
}

void install_stop_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocked zmq_recv returns with EINTR
  main_thread = pthread_self();
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a closed stdout is an error we report, not a kill
}

bool stop_requested() noexcept { return stop_flag.load(); }

bool interrupted(const std::exception& e) noexcept {
  const auto* z = dynamic_cast<const zmqkit::error*>(&e);
  return z != nullptr && z->code() == std::errc::interrupted;
}

void keep_standard_fds_open() noexcept {
  // Ascending order: open() takes the lowest free descriptor, which is fd
  // itself once those below it are open.
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    // The wrong way round on purpose: reading a closed stdin or writing a
    // closed stdout still fails (EBADF), and the tool says so.
    const int got = ::open("/dev/null", (fd == 0 ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
    if (got >= 0 && got != fd) ::close(got);
  }
}

int run_tool(CLI::App& app, int argc, char** argv, const std::function<int()>& body) {
  const std::string tool = app.get_name();
  keep_standard_fds_open();
  // --help and --version print on stdout; a stdout that cannot take it
  // (a full disk, a closed pipe) is an error, as for any other output.
  const auto print = [&](const CLI::Error& e) {
    const int code = app.exit(e);
    if (std::cout.flush()) return code;
    say(tool, std::string("writing stdout: ") + std::strerror(errno));
    return static_cast<int>(exit_failure);
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return print(e);
  } catch (const CLI::CallForAllHelp& e) {
    return print(e);
  } catch (const CLI::CallForVersion& e) {
    return print(e);
  } catch (const CLI::ParseError& e) {
    say(tool, std::string(e.what()) + " (see " + tool + " --help)");
    return exit_usage;
  }
  // A failure another thread recorded outranks how the body ended.
  const auto finish = [&](int code) {
    if (const auto f = take_failure()) {
      say(tool, f->second);
      return f->first;
    }
    return code;
  };
  try {
    install_stop_signals();
    return finish(body());
  } catch (const zmqkit::key_error& e) {
    say(tool, e.what());
    return exit_usage;
  } catch (const usage_error& e) {
    say(tool, std::string(e.what()) + " (see " + tool + " --help)");
    return exit_usage;
  } catch (const unavailable_error& e) {
    say(tool, e.what());
    return exit_unavailable;
  } catch (const zmqkit::error& e) {
    if (e.code() == std::errc::interrupted) return finish(exit_ok);  // stopped by a signal
    const auto what = std::string(e.what());
    // A bad address is the user's to fix: a usage error.
    if (e.code() == std::errc::invalid_argument || e.code() == std::errc::protocol_not_supported ||
        e.code() == std::errc::no_such_device) {
      say(tool, what + " (check the endpoint)");
      return exit_usage;
    }
    say(tool, what);
    return exit_failure;
  } catch (const zmqkit::decode_error& e) {
    // Receiving loops count and drop bad messages themselves: what gets
    // here is a damaged file (a cursor, a key) or a peer's fatal answer.
    say(tool, std::string("damaged data: ") + e.what());
    return exit_failure;
  } catch (const std::exception& e) {
    if (const int code = finish(-1); code != -1) return code;
    say(tool, e.what());
    return exit_failure;
  }
}

}  // namespace zmqkit::tools
