#include "common/input.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <zmqkit/msgpack_reader.hpp>

#include "common/cli.hpp"
#include "common/json.hpp"

namespace zmqkit::tools {
namespace {

constexpr std::size_t read_chunk = 1 << 20;

}  // namespace

// A raw payload: UTF-8 text travels as str (so JSON output shows text),
// anything else as bin (so no byte is ever changed).
std::string pack_raw(std::string_view bytes) {
  // msgpack-c's packer writes to any stream with write(); this one appends
  // to the result, so the payload is built in one allocation.
  struct append_to {
    std::string& out;
    void write(const char* data, std::size_t n) { out.append(data, n); }
  };
  std::string out;
  out.reserve(bytes.size() + 5);
  append_to stream{out};
  msgpack::packer<append_to> pk(stream);
  const auto n = static_cast<std::uint32_t>(bytes.size());
  if (is_utf8(bytes)) {
    pk.pack_str(n);
    pk.pack_str_body(bytes.data(), n);
  } else {
    pk.pack_bin(n);
    pk.pack_bin_body(bytes.data(), n);
  }
  return out;
}

namespace {

std::string pack_json_text(std::string_view text) {
  const auto value = parse_json(text);
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pack_json(value, pk);
  return {buf.data(), buf.size()};
}

std::pair<std::string, std::string> split_header(const std::string& kv) {
  const auto eq = kv.find('=');
  if (eq == std::string::npos || eq == 0)
    throw usage_error("header '" + kv + "' is not key=value");
  return {kv.substr(0, eq), kv.substr(eq + 1)};
}

std::string iso_time(std::int64_t ns) {
  const std::time_t secs = static_cast<std::time_t>(ns / 1000000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%06lldZ", static_cast<long long>((ns % 1000000000) / 1000));
  return std::string(buf, n) + frac;
}

}  // namespace

void one_word_each(CLI::Option& option) {
  // By default a repeatable option takes every word after it, so the
  // endpoint in "zmq-pub -m hi @tcp://..." became a second message, and
  // CLI11 read "[1,2,3]" as a list. One word per flag, as in mosquitto_pub.
  option.expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->allow_extra_args(false);
}

void input_options::add_to(CLI::App& app, bool with_topic) {
  app.add_option("-m,--message", messages, "Send this message (repeatable; templates: {{seq}} "
                                           "{{time}} {{time_ns}} {{uuid}} {{random A B}})");
  app.add_option("-f,--file", file, "Send the whole file as one message")->check(CLI::ExistingFile);
  app.add_flag("-l,--lines", lines, "Send each line of stdin as a message (the default)");
  app.add_flag("-s,--stdin", slurp, "Send all of stdin as one message");
  app.add_option("--in-format", format, "How input is read: raw, json, msgpack, jsonl-envelope")
      ->check(CLI::IsMember({"raw", "json", "msgpack", "jsonl-envelope"}))
      ->capture_default_str();
  if (with_topic) app.add_option("-t,--topic", topic, "Topic of every message (default: empty)");
  app.add_option("-H,--header", headers, "Add header key=value (repeatable)");
  for (const char* name : {"-m", "-H"}) one_word_each(*app.get_option(name));
  app.add_option("-n,--count", count,
                 "Messages to send: repeats -m/-f/-s input, or stops -l input early")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--strict", strict, "Stop at the first bad input instead of skipping it");
}

message_source::message_source(const input_options& opts, reporter report)
    : opts_(opts), report_(std::move(report)) {
  for (const auto& h : opts_.headers) extra_headers_.push_back(split_header(h));
  const int sources = (!opts_.messages.empty()) + (!opts_.file.empty()) + opts_.lines + opts_.slurp;
  if (sources > 1) throw usage_error("give only one of -m, -f, -l, -s");
  if (!opts_.messages.empty()) {
    mode_ = mode::messages;
    units_ = opts_.messages;
  } else if (!opts_.file.empty()) {
    mode_ = mode::whole;
    std::ifstream in(opts_.file, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + opts_.file + ": " + std::strerror(errno));
    units_.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  } else if (opts_.slurp) {
    mode_ = mode::whole;
    while (read_more()) {
    }
    units_.push_back(buffer_);
    buffer_.clear();
  } else {
    mode_ = opts_.format == "msgpack" ? mode::msgpack_stream : mode::lines;
  }
}

bool message_source::read_more() {
  if (eof_) return false;
  if (buffer_pos_ > 0) {  // keep only the unconsumed tail
    buffer_.erase(0, buffer_pos_);
    buffer_pos_ = 0;
  }
  const auto old = buffer_.size();
  buffer_.resize(old + read_chunk);
  ssize_t n;
  do {
    n = ::read(STDIN_FILENO, buffer_.data() + old, read_chunk);
  } while (n < 0 && errno == EINTR && !stop_requested());
  if (n < 0 && errno == EINTR) n = 0;  // stopped by a signal: the input ends here
  if (n < 0) throw std::runtime_error(std::string("reading stdin: ") + std::strerror(errno));
  buffer_.resize(old + static_cast<std::size_t>(n));
  if (n == 0) eof_ = true;
  return n > 0;
}

std::optional<std::string_view> message_source::next_line() {
  while (true) {
    const auto nl = buffer_.find('\n', buffer_pos_);
    if (nl != std::string::npos) {
      const std::string_view line(buffer_.data() + buffer_pos_, nl - buffer_pos_);
      buffer_pos_ = nl + 1;
      return line;
    }
    if (!read_more()) {
      if (buffer_pos_ >= buffer_.size()) return std::nullopt;
      const std::string_view last(buffer_.data() + buffer_pos_, buffer_.size() - buffer_pos_);
      buffer_pos_ = buffer_.size();  // a last line without '\n'
      return last;
    }
  }
}

std::optional<std::string_view> message_source::next_msgpack_value() {
  while (true) {
    const std::string_view rest(buffer_.data() + buffer_pos_, buffer_.size() - buffer_pos_);
    if (!rest.empty()) {
      try {
        zmqkit::msgpack_reader r(rest);
        const auto value = r.skip_value("input");
        buffer_pos_ += value.size();
        return value;
      } catch (const zmqkit::decode_error& e) {
        if (eof_) throw std::runtime_error(std::string("stdin is not a msgpack stream: ") + e.what());
      }
    }
    if (!read_more() && buffer_pos_ >= buffer_.size()) return std::nullopt;
  }
}

std::optional<std::string_view> message_source::next_unit(std::string& where) {
  const auto limit = opts_.count;
  switch (mode_) {
    case mode::messages:
    case mode::whole: {
      const auto total = limit >= 0 ? static_cast<std::uint64_t>(limit) : units_.size();
      if (produced_ >= total) return std::nullopt;
      const auto i = produced_ % units_.size();
      where = mode_ == mode::messages ? "message " + std::to_string(i + 1)
              : opts_.file.empty()    ? "stdin"
                                      : opts_.file;
      if (mode_ == mode::messages) {
        scratch_ = expand_template(units_[i], produced_ + 1);
        return std::string_view(scratch_);
      }
      return std::string_view(units_[i]);
    }
    case mode::lines:
      while (limit < 0 || produced_ < static_cast<std::uint64_t>(limit)) {
        auto line = next_line();
        if (!line) return std::nullopt;
        ++line_no_;
        if (line->empty()) continue;  // blank lines are not messages
        line_where_ = true;
        return line;
      }
      return std::nullopt;
    case mode::msgpack_stream:
      if (limit >= 0 && produced_ >= static_cast<std::uint64_t>(limit)) return std::nullopt;
      where = "value " + std::to_string(produced_ + rejected_ + 1);
      return next_msgpack_value();
  }
  return std::nullopt;
}

std::optional<outgoing> message_source::next() {
  while (true) {
    std::string where;
    line_where_ = false;
    auto unit = next_unit(where);
    if (!unit) return std::nullopt;
    // Named lazily: building the text per line would cost more than the line.
    const auto position = [&] { return line_where_ ? "line " + std::to_string(line_no_) : where; };
    try {
      auto out = parse_input(*unit, opts_.format, opts_.topic, extra_headers_);
      ++produced_;
      return out;
    } catch (const std::exception& e) {
      // Bad input is invalid_argument or decode_error; anything else is ours.
      if (!dynamic_cast<const std::invalid_argument*>(&e) &&
          !dynamic_cast<const zmqkit::decode_error*>(&e))
        throw;
      ++rejected_;
      if (opts_.strict) throw std::runtime_error(position() + ": " + e.what() + " (stopped: --strict)");
      report_(position() + ": " + e.what() + " (skipped)");
      if (mode_ != mode::lines && mode_ != mode::msgpack_stream) ++produced_;
    }
  }
}

outgoing parse_input(std::string_view unit, const std::string& f, const std::string& topic,
                     const zmqkit::headers& headers) {
  outgoing out;
  out.topic = topic;
  out.headers = headers;
  if (f == "raw") {
    out.payload = pack_raw(unit);
  } else if (f == "json") {
    out.payload = pack_json_text(unit);
  } else if (f == "msgpack") {
    zmqkit::check_msgpack(unit, "input");
    out.payload = unit;
  } else {  // jsonl-envelope: what zmq-sub --out-format jsonl prints
    const auto line = parse_json(unit);
    if (!line.is_object()) throw std::invalid_argument("envelope line is not a JSON object");
    if (const auto t = line.find("topic"); t != line.end()) {
      if (!t->is_string()) throw std::invalid_argument("\"topic\" is not a string");
      out.topic = t->get<std::string>();
    }
    if (const auto h = line.find("headers"); h != line.end()) {
      if (!h->is_object()) throw std::invalid_argument("\"headers\" is not an object");
      for (const auto& [key, value] : h->items()) {
        if (!value.is_string())
          throw std::invalid_argument("header \"" + key + "\" is not a string");
        out.headers.emplace_back(key, value.get<std::string>());
      }
    }
    const auto p = line.find("payload");
    if (p == line.end()) throw std::invalid_argument("no \"payload\" in the envelope line");
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    pack_json(*p, pk);
    out.payload.assign(buf.data(), buf.size());
  }
  return out;
}

std::string expand_template(const std::string& text, std::uint64_t seq) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string out;
  std::size_t pos = 0;
  while (true) {
    const auto open = text.find("{{", pos);
    if (open == std::string::npos) break;
    const auto close = text.find("}}", open + 2);
    if (close == std::string::npos) break;
    out.append(text, pos, open - pos);
    const auto name = text.substr(open + 2, close - open - 2);
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    const auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now).count();
    long long lo = 0, hi = 0;
    char tail = 0;
    if (name == "seq") {
      out += std::to_string(seq);
    } else if (name == "time") {
      out += iso_time(now_ns);
    } else if (name == "time_ns") {
      out += std::to_string(now_ns);
    } else if (name == "uuid") {  // version 4, variant 1
      std::uniform_int_distribution<int> nibble(0, 15);
      static constexpr char hex[] = "0123456789abcdef";
      for (int i = 0; i < 36; ++i) {
        if (i == 8 || i == 13 || i == 18 || i == 23) out.push_back('-');
        else if (i == 14) out.push_back('4');
        else if (i == 19) out.push_back(hex[8 + nibble(rng) % 4]);
        else out.push_back(hex[nibble(rng)]);
      }
    } else if (std::sscanf(name.c_str(), "random %lld %lld%c", &lo, &hi, &tail) == 2 && lo <= hi) {
      out += std::to_string(std::uniform_int_distribution<long long>(lo, hi)(rng));
    } else {
      out.append(text, open, close + 2 - open);  // not ours: leave it be
    }
    pos = close + 2;
  }
  out.append(text, pos, std::string::npos);
  return out;
}

pacer::pacer(double rate, double interval_ms) {
  using namespace std::chrono;
  if (rate > 0) step_ = duration_cast<steady_clock::duration>(duration<double>(1.0 / rate));
  if (interval_ms > 0)
    step_ = std::max(step_, duration_cast<steady_clock::duration>(duration<double, std::milli>(interval_ms)));
}

void pacer::wait() {
  if (step_.count() == 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (first_) {
    first_ = false;
    next_ = now + step_;
    return;
  }
  // Sending is paced, not a test waiting on an event: sleeping is the point.
  if (next_ > now) std::this_thread::sleep_until(next_);
  next_ += step_;
}

}  // namespace zmqkit::tools
