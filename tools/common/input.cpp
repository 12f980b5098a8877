#include "common/input.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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
#include "common/option_values.hpp"

namespace zmqkit::tools {
namespace {

constexpr std::size_t read_chunk = 1 << 20;

// Reads what fd has, up to n bytes: 0 at its end or once a stop signal
// came, -1 with errno on an error. The wait runs in 200 ms slices, so a
// signal that lands just before it (not inside read(), which it would
// interrupt) still ends it.
ssize_t read_until_stopped(int fd, char* buf, std::size_t n) {
  while (!stop_requested()) {
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, 200);
    if (ready == 0 || (ready < 0 && errno == EINTR)) continue;
    if (ready < 0) return -1;
    const auto got = ::read(fd, buf, n);
    if (got < 0 && errno == EINTR) continue;
    return got;
  }
  return 0;
}

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
      ->check(whole_number_in(0, std::uint64_t{1} << 62));
  app.add_flag("--strict", strict, "Stop at the first bad input instead of skipping it");
}

message_source::message_source(const input_options& opts, reporter report)
    : opts_(opts), report_(std::move(report)) {
  for (const auto& h : opts_.headers) extra_headers_.push_back(split_header(h));
  if (opts_.topic.size() > zmqkit::max_topic_size)
    throw usage_error("-t: a topic of " + std::to_string(opts_.topic.size()) + " bytes is over the " +
                      std::to_string(zmqkit::max_topic_size) + "-byte limit");
  const int sources = (!opts_.messages.empty()) + (!opts_.file.empty()) + opts_.lines + opts_.slurp;
  if (sources > 1) throw usage_error("give only one of -m, -f, -l, -s");
  if (!opts_.messages.empty()) {
    mode_ = mode::messages;
    units_ = opts_.messages;
  } else if (!opts_.file.empty()) {
    mode_ = mode::whole;
    const int fd = ::open(opts_.file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("cannot read " + opts_.file + ": " + std::strerror(errno));
    try {
      if (auto whole = read_bounded(fd, opts_.file)) units_.push_back(std::move(*whole));
    } catch (...) {
      ::close(fd);
      throw;
    }
    ::close(fd);
  } else if (opts_.slurp) {
    mode_ = mode::whole;
    if (auto whole = read_bounded(STDIN_FILENO, "stdin")) units_.push_back(std::move(*whole));
  } else {
    mode_ = opts_.format == "msgpack" ? mode::msgpack_stream : mode::lines;
  }
}

void message_source::cut_short(const std::string& what, std::size_t bytes) const {
  report_(what + ": stopped by a signal after " + std::to_string(bytes) +
          " bytes, before its end: not sent");
}

std::optional<std::string> message_source::read_bounded(int fd, const std::string& name) const {
  std::string out;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) > opts_.max_size)
    throw std::runtime_error(name + ": " + std::to_string(st.st_size) + " bytes, over the " +
                             std::to_string(opts_.max_size) + "-byte limit (--max-size): not sent");
  // All the room it can need, at once: grown by doubling, the string would
  // hold twice the limit for the copy at its last growth. Only the pages
  // read into are ever touched.
  const bool sized = S_ISREG(st.st_mode) && st.st_size >= 0;
  out.reserve((sized ? static_cast<std::size_t>(st.st_size) : opts_.max_size) + read_chunk);
  while (true) {
    const auto old = out.size();
    out.resize(old + read_chunk);
    const auto n = read_until_stopped(fd, out.data() + old, read_chunk);
    if (n < 0) throw std::runtime_error("reading " + name + ": " + std::strerror(errno));
    out.resize(old + static_cast<std::size_t>(n));
    if (n == 0 && stop_requested()) {
      cut_short(name, out.size());
      return std::nullopt;
    }
    if (n == 0) return out;
    if (out.size() > opts_.max_size)
      throw std::runtime_error(name + ": more than " + std::to_string(opts_.max_size) +
                               " bytes, over the limit (--max-size): not sent");
  }
}

bool message_source::read_more() {
  if (eof_) return false;
  if (buffer_pos_ > 0) {  // keep only the unconsumed tail
    buffer_.erase(0, buffer_pos_);
    scan_pos_ -= buffer_pos_;
    consumed_ += buffer_pos_;
    buffer_pos_ = 0;
  }
  if (chunk_.empty()) chunk_.resize(read_chunk);
  // Stopped by a signal, the input ends here.
  const auto n = read_until_stopped(STDIN_FILENO, chunk_.data(), chunk_.size());
  if (n < 0) throw std::runtime_error(std::string("reading stdin: ") + std::strerror(errno));
  // It never holds more than the limit and one read (a longer line is
  // refused, a longer msgpack value too). Past one read, it gets all that
  // room at once: growing by doubling would hold twice the limit for the
  // copy at its last growth.
  const std::size_t most = opts_.max_size + read_chunk;
  if (buffer_.size() + static_cast<std::size_t>(n) > read_chunk && buffer_.capacity() < most)
    buffer_.reserve(most);
  // Appended, so a pipe's 64 KiB reads cost what they bring, not a chunk.
  buffer_.append(chunk_.data(), static_cast<std::size_t>(n));
  if (n == 0) {
    eof_ = true;
    stopped_ = stop_requested();
  }
  return n > 0;
}

std::optional<message_source::unit> message_source::next_line() {
  const auto from = [&](std::size_t begin, std::size_t end) {
    const std::string_view bytes(buffer_.data() + begin, end - begin);
    return unit{bytes, bytes.size() > opts_.max_size};
  };
  while (true) {
    if (skipping_line_) {  // the rest of a line already refused
      const auto nl = buffer_.find('\n', buffer_pos_);
      skipping_line_ = nl == std::string::npos;
      buffer_pos_ = scan_pos_ = skipping_line_ ? buffer_.size() : nl + 1;
      if (skipping_line_ && !read_more()) return std::nullopt;
      continue;
    }
    // The search goes on from where the last one ended: a long line that
    // arrives 64 KiB at a time is scanned once, not once per read.
    const auto nl = buffer_.find('\n', scan_pos_);
    if (nl != std::string::npos) {
      const auto line = from(buffer_pos_, nl);
      buffer_pos_ = scan_pos_ = nl + 1;
      return line;
    }
    scan_pos_ = buffer_.size();
    if (buffer_.size() - buffer_pos_ > opts_.max_size) {
      // Refused now, as soon as it is too long; the rest is read past
      // without being kept.
      skipping_line_ = true;
      return from(buffer_pos_, buffer_.size());
    }
    if (!read_more()) {
      if (buffer_pos_ >= buffer_.size()) return std::nullopt;
      if (stopped_) {  // the signal came in the middle of this line
        cut_short("line " + std::to_string(line_no_ + 1), buffer_.size() - buffer_pos_);
        buffer_pos_ = scan_pos_ = buffer_.size();
        return std::nullopt;
      }
      const auto last = from(buffer_pos_, buffer_.size());  // a last line without '\n'
      buffer_pos_ = scan_pos_ = buffer_.size();
      return last;
    }
  }
}

std::optional<std::string_view> message_source::next_msgpack_value() {
  while (true) {
    const std::string_view rest(buffer_.data() + buffer_pos_, buffer_.size() - buffer_pos_);
    if (!rest.empty()) {
      // Limited to max_size: a value that declares more is refused from
      // its header, and one that is merely incomplete never grows the
      // buffer past the limit.
      zmqkit::msgpack_reader r(rest, opts_.max_size);
      try {
        const auto value = r.skip_value("input");
        buffer_pos_ += value.size();
        return value;
      } catch (const zmqkit::decode_error& e) {
        if (r.incomplete() && stopped_) {
          cut_short("stdin byte " + std::to_string(consumed_ + buffer_pos_) + " (" + where_ + ")",
                    rest.size());
          buffer_pos_ = buffer_.size();
          return std::nullopt;
        }
        if (!r.incomplete() || eof_)
          throw std::runtime_error("stdin byte " + std::to_string(consumed_ + buffer_pos_) + " (" +
                                   where_ + "): " + e.what() +
                                   (r.over_limit() ? " (--max-size)" : "") + "; stopped reading");
      }
    }
    if (!read_more() && buffer_pos_ >= buffer_.size()) return std::nullopt;
  }
}

void message_source::stopped() {
  const std::string_view rest(buffer_.data() + buffer_pos_, buffer_.size() - buffer_pos_);
  if (rest.empty() || skipping_line_) return;
  if (mode_ == mode::lines) {
    // Whole lines after the last one sent are only not sent; the one
    // after the last newline is cut short.
    const auto last_nl = rest.rfind('\n');
    const auto partial = last_nl == std::string_view::npos ? rest : rest.substr(last_nl + 1);
    if (partial.empty()) return;
    const auto lines = static_cast<std::uint64_t>(std::count(rest.begin(), rest.end(), '\n'));
    cut_short("line " + std::to_string(line_no_ + lines + 1), partial.size());
  } else if (mode_ == mode::msgpack_stream) {
    std::size_t at = 0, values = 0;
    while (at < rest.size()) {
      zmqkit::msgpack_reader r(rest.substr(at), opts_.max_size);
      try {
        at += r.skip_value("input").size();
        ++values;
      } catch (const zmqkit::decode_error&) {
        break;  // the partial one, or bad bytes that were never going out
      }
    }
    if (at < rest.size())
      cut_short("stdin byte " + std::to_string(consumed_ + buffer_pos_ + at) + " (value " +
                    std::to_string(produced_ + rejected_ + values + 1) + ")",
                rest.size() - at);
  }
  buffer_pos_ = scan_pos_ = buffer_.size();
}

std::optional<message_source::unit> message_source::next_unit() {
  const auto limit = opts_.count;
  switch (mode_) {
    case mode::messages:
    case mode::whole: {
      const auto total = limit >= 0 ? static_cast<std::uint64_t>(limit) : units_.size();
      if (units_.empty() || produced_ >= total) return std::nullopt;
      const auto i = produced_ % units_.size();
      where_ = mode_ == mode::messages ? "message " + std::to_string(i + 1)
               : opts_.file.empty()    ? "stdin"
                                       : opts_.file;
      if (mode_ == mode::messages) {
        scratch_ = expand_template(units_[i], produced_ + 1);
        return unit{scratch_};
      }
      return unit{units_[i]};
    }
    case mode::lines:
      while (limit < 0 || produced_ < static_cast<std::uint64_t>(limit)) {
        auto line = next_line();
        if (!line) return std::nullopt;
        ++line_no_;
        if (line->bytes.empty()) continue;  // blank lines are not messages
        line_where_ = true;
        return line;
      }
      return std::nullopt;
    case mode::msgpack_stream:
      if (limit >= 0 && produced_ >= static_cast<std::uint64_t>(limit)) return std::nullopt;
      where_ = "value " + std::to_string(produced_ + rejected_ + 1);
      if (auto value = next_msgpack_value()) return unit{*value};
      return std::nullopt;
  }
  return std::nullopt;
}

// Named lazily: building the text per line would cost more than the line.
std::string message_source::position() const {
  return line_where_ ? "line " + std::to_string(line_no_) : where_;
}

void message_source::reject(const std::string& reason) {
  ++rejected_;
  if (opts_.strict) throw std::runtime_error(position() + ": " + reason + " (stopped: --strict)");
  report_(position() + ": " + reason + " (skipped)");
}

std::optional<outgoing> message_source::next() {
  while (true) {
    line_where_ = false;
    auto in = next_unit();
    if (!in) return std::nullopt;
    if (in->too_long) {
      reject("longer than the " + std::to_string(opts_.max_size) + "-byte limit (--max-size)");
      continue;
    }
    try {
      auto out = parse_input(in->bytes, opts_.format, opts_.topic, extra_headers_);
      ++produced_;
      return out;
    } catch (const std::exception& e) {
      // Bad input is invalid_argument or decode_error; anything else is ours.
      if (!dynamic_cast<const std::invalid_argument*>(&e) &&
          !dynamic_cast<const zmqkit::decode_error*>(&e))
        throw;
      reject(e.what());
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
