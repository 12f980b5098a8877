#include "common/option_values.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <stdexcept>
#include <utility>

#include "common/cli.hpp"

namespace zmqkit::tools {
namespace {

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

}  // namespace zmqkit::tools
