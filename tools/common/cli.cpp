#include "common/cli.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <limits>
#include <mutex>
#include <optional>
#include <sstream>

#include <zmqkit/envelope.hpp>
#include <zmqkit/error.hpp>
#include <zmqkit/json_text.hpp>

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

bool digit(char c) { return c >= '0' && c <= '9'; }

// YYYY-MM-DDTHH:MM[:SS[.fraction]] then Z or an offset (+HH:MM, +HHMM,
// +HH). A time without a zone is refused: whose local time would it be?
std::optional<std::chrono::system_clock::time_point> parse_iso8601(const std::string& t) {
  std::size_t i = 0;
  const auto num = [&](std::size_t n, int& out) {
    if (i + n > t.size()) return false;
    int v = 0;
    for (std::size_t k = 0; k < n; ++k) {
      if (!digit(t[i + k])) return false;
      v = v * 10 + (t[i + k] - '0');
    }
    i += n;
    out = v;
    return true;
  };
  const auto lit = [&](char c) {
    if (i >= t.size() || t[i] != c) return false;
    ++i;
    return true;
  };
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  long long fraction_ns = 0;
  if (!num(4, year) || !lit('-') || !num(2, month) || !lit('-') || !num(2, day) ||
      !(lit('T') || lit('t')) || !num(2, hour) || !lit(':') || !num(2, minute))
    return std::nullopt;
  if (lit(':')) {
    if (!num(2, second)) return std::nullopt;
    if (lit('.') || lit(',')) {
      const auto start = i;
      long long scale = 100000000;
      for (; i < t.size() && digit(t[i]); ++i, scale /= 10) fraction_ns += (t[i] - '0') * scale;
      if (i == start) return std::nullopt;
    }
  }
  long offset = 0;
  if (!(lit('Z') || lit('z'))) {
    if (i >= t.size() || (t[i] != '+' && t[i] != '-')) return std::nullopt;
    const long sign = t[i++] == '-' ? -1 : 1;
    int oh = 0, om = 0;
    if (!num(2, oh)) return std::nullopt;
    if (lit(':') ? !num(2, om) : (i < t.size() && !num(2, om))) return std::nullopt;
    if (oh > 23 || om > 59) return std::nullopt;
    offset = sign * (oh * 3600L + om * 60L);
  }
  if (i != t.size() || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 ||
      minute > 59 || second > 59)
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const std::time_t secs = timegm(&tm);
  std::tm back{};
  gmtime_r(&secs, &back);
  if (back.tm_mday != day || back.tm_mon != month - 1) return std::nullopt;  // 2026-02-30
  return std::chrono::system_clock::from_time_t(secs - offset) +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(
             std::chrono::nanoseconds(fraction_ns));
}

// "-30s", "-5m", "-2h", "-1d", "-1.5h": that long before now.
std::optional<std::chrono::system_clock::duration> parse_age(const std::string& t) {
  if (t.size() < 3 || t[0] != '-') return std::nullopt;
  const char unit = t.back();
  const double per = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : unit == 'd' ? 86400 : 0;
  const auto number = t.substr(1, t.size() - 2);
  std::size_t dots = 0;
  for (const char c : number)
    if (!digit(c) && !(c == '.' && ++dots == 1)) return std::nullopt;
  if (per == 0 || number.front() == '.' || number.back() == '.') return std::nullopt;
  const double seconds = std::stod(number) * per;
  if (seconds > 1e9) return std::nullopt;  // some 30 years: a typo, not a replay
  return std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::duration<double>(seconds));
}

}  // namespace

zmqkit::replay_start parse_replay_start(const std::string& text,
                                        std::chrono::system_clock::time_point now) {
  if (text == "first") return zmqkit::replay_start::first();
  if (text == "new") return zmqkit::replay_start::only_new();
  if (text == "resume") return zmqkit::replay_start::resume();
  if (!text.empty() && text.size() <= 20 && std::all_of(text.begin(), text.end(), digit)) {
    try {
      return zmqkit::replay_start::at(static_cast<std::uint64_t>(std::stoull(text)));
    } catch (const std::out_of_range&) {
      // falls through to the usage error
    }
  }
  std::optional<std::chrono::system_clock::time_point> when;
  if (const auto age = parse_age(text)) when = now - *age;
  else when = parse_iso8601(text);
  if (when && when->time_since_epoch().count() < 0)
    throw usage_error("--replay '" + text + "': a time before 1970");
  if (when) return zmqkit::replay_start::at(*when);
  throw usage_error("--replay '" + text +
                    "': use first, new, resume, a journal position (FSEQ), an ISO 8601 time "
                    "(2026-11-23T10:00:00Z) or an age (-30s, -5m, -2h)");
}

std::string seconds_text(double seconds) {
  // Whole numbers in full ("1000000", not "1e+06"); others as %g does.
  char buf[32];
  if (std::fabs(seconds) < 1e15 && seconds == std::floor(seconds))
    std::snprintf(buf, sizeof buf, "%.0f", seconds);
  else
    std::snprintf(buf, sizeof buf, "%g", seconds);
  return buf;
}

CLI::Validator number_in(double min, double max, const std::string& unit) {
  const std::string bounds = "from " + seconds_text(min) + " to " + seconds_text(max);
  const std::string range = "a number of " + unit + " " + bounds;
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        const char* begin = text.c_str();
        char* end = nullptr;
        errno = 0;
        const double v = std::strtod(begin, &end);
        const bool number = end != begin && *end == '\0' && errno != ERANGE && std::isfinite(v);
        if (number && v >= min && v <= max) return {};
        return text + " is not " + range;
      },
      bounds);  // --help: "--ack-wait FLOAT:from 0.001 to 1000000"
}

namespace {

// Digits only, no sign, no spaces: strtoull would take "-1" and " 5".
std::optional<std::uint64_t> parse_whole(const std::string& digits) {
  if (digits.empty() || digits.size() > 19 || !std::all_of(digits.begin(), digits.end(), digit))
    return std::nullopt;
  return std::stoull(digits);
}

}  // namespace

CLI::Validator whole_number_in(std::uint64_t min, std::uint64_t max) {
  const std::string bounds = "from " + std::to_string(min) + " to " + std::to_string(max);
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        const auto v = parse_whole(text);
        if (v && *v >= min && *v <= max) return {};
        return text + " is not a whole number " + bounds;
      },
      bounds);
}

std::string bytes_text(std::uint64_t n) {
  for (const auto& [unit, shift] : {std::pair{"g", 30}, {"m", 20}, {"k", 10}})
    if (n >= (std::uint64_t{1} << shift) && n % (std::uint64_t{1} << shift) == 0)
      return std::to_string(n >> shift) + unit;
  return std::to_string(n);
}

CLI::Validator bytes_in(std::uint64_t min, std::uint64_t max) {
  const std::string bounds = "from " + bytes_text(min) + " to " + bytes_text(max);
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        const auto digits_end = std::find_if_not(text.begin(), text.end(), digit) - text.begin();
        const auto number = parse_whole(text.substr(0, static_cast<std::size_t>(digits_end)));
        std::string unit = text.substr(static_cast<std::size_t>(digits_end));
        std::transform(unit.begin(), unit.end(), unit.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        const int shift = unit.empty() || unit == "b"                    ? 0
                          : unit == "k" || unit == "kib" || unit == "kb" ? 10
                          : unit == "m" || unit == "mib" || unit == "mb" ? 20
                          : unit == "g" || unit == "gib" || unit == "gb" ? 30
                                                                         : -1;
        if (number && shift >= 0 && *number <= (max >> shift)) {
          const auto bytes = *number << shift;
          if (bytes >= min) {
            text = std::to_string(bytes);
            return {};
          }
        }
        return text + " is not a size " + bounds + " (bytes, or with k, m, g)";
      },
      "SIZE " + bounds);
}

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
