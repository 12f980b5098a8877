#include "common/output.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <stdexcept>

#include "common/cli.hpp"
#include "common/json.hpp"

namespace zmqkit::tools {
namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void append_hex(std::string_view bytes, std::string& out) {
  static constexpr char hex[] = "0123456789abcdef";
  for (unsigned char c : bytes) {
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 0xf]);
  }
}


void append_jsonl(const zmqkit::message& m, std::string& out) {
  out += "{\"topic\":";
  append_json_string(m.topic(), out);
  out += ",\"seq\":" + std::to_string(m.seq());
  out += ",\"producer\":\"" + zmqkit::to_hex(m.producer()) + "\"";
  out += ",\"time_ns\":" + std::to_string(m.time_ns());
  // Only messages delivered by a forwarder have a journal position.
  if (m.position()) out += ",\"fseq\":" + std::to_string(m.position()->fseq);
  out += ",\"headers\":";
  append_headers_json(m, out);
  out += ",\"payload\":";
  append_payload_json(m, out);
  out += "}\n";
}

void append_pretty(const zmqkit::message& m, std::string& out) {
  char latency[32];
  std::snprintf(latency, sizeof latency, "%.3f", double(now_ns() - m.time_ns()) / 1e6);
  out += "topic     " + std::string(m.topic()) + "\n";
  out += "seq       " + std::to_string(m.seq()) + "  producer " + zmqkit::to_hex(m.producer()) + "\n";
  out += "time      " + iso8601(m.time_ns()) + "  (latency " + latency + " ms)\n";
  if (m.position()) out += "fseq      " + std::to_string(m.position()->fseq) + "\n";
  for (std::size_t i = 0; i < m.header_count(); ++i) {
    const auto [k, v] = m.header(i);
    out += "header    " + std::string(k) + ": " + std::string(v) + "\n";
  }
  std::string compact;
  append_payload_json(m, compact);
  out += "payload   " + nlohmann::ordered_json::parse(compact).dump(2) + "\n\n";
}

std::string unescape(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      const char c = s[++i];
      out.push_back(c == 'n' ? '\n' : c == 't' ? '\t' : c == '\\' ? '\\' : c);
      if (c != 'n' && c != 't' && c != '\\') out.insert(out.size() - 1, 1, '\\');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

void append_headers_json(const zmqkit::message& m, std::string& out) {
  out.push_back('{');
  for (std::size_t i = 0; i < m.header_count(); ++i) {
    if (i) out.push_back(',');
    const auto [k, v] = m.header(i);
    append_json_string(k, out);
    out.push_back(':');
    append_json_string(v, out);
  }
  out.push_back('}');
}

void output_options::add_to(CLI::App& app, const std::string& default_format) {
  format = default_format;
  auto* fmt = app.add_option("--out-format", format, "How messages are printed: jsonl, raw, msgpack, pretty")
                  ->check(CLI::IsMember({"jsonl", "raw", "msgpack", "pretty"}))
                  ->capture_default_str();
  // A template is a format of its own: both at once would leave one unused.
  app.add_option("-F,--template", template_text,
                 "Print with a template: {{topic}} {{payload}} {{raw}} {{hex}} {{seq}} "
                 "{{producer}} {{time}} {{time_ns}} {{latency}} {{headers}} {{header:KEY}} {{fseq}}")
      ->excludes(fmt);
}

std::string iso8601(std::int64_t ns) {
  const auto secs = static_cast<std::time_t>(ns / 1000000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%06lldZ",
                static_cast<long long>((ns % 1000000000 + 1000000000) % 1000000000 / 1000));
  return buf;
}

void append_payload_json(const zmqkit::message& m, std::string& out) {
  const auto handle = m.payload_object();
  append_json(handle.get(), out);
}

void append_payload_raw(const zmqkit::message& m, std::string& out) {
  if (const auto bytes = m.payload_bytes()) out.append(*bytes);
  else append_payload_json(m, out);
}

formatter::formatter(const output_options& opts) {
  if (!opts.template_text.empty()) {
    kind_ = kind::templated;
    const auto text = unescape(opts.template_text);
    std::size_t pos = 0;
    while (true) {
      const auto open = text.find("{{", pos);
      const auto close = open == std::string::npos ? open : text.find("}}", open + 2);
      if (close == std::string::npos) {
        parts_.push_back({text.substr(pos), ""});
        break;
      }
      auto field = text.substr(open + 2, close - open - 2);
      static const std::vector<std::string> known{"topic", "payload", "raw", "hex", "seq",
                                                  "producer", "time", "time_ns", "latency",
                                                  "headers", "fseq"};
      if (std::find(known.begin(), known.end(), field) == known.end() &&
          field.rfind("header:", 0) != 0)
        throw usage_error("-F: unknown placeholder {{" + field + "}}");
      parts_.push_back({text.substr(pos, open - pos), std::move(field)});
      pos = close + 2;
    }
    return;
  }
  kind_ = opts.format == "jsonl"     ? kind::jsonl
          : opts.format == "raw"     ? kind::raw
          : opts.format == "msgpack" ? kind::msgpack
                                     : kind::pretty;
}

void formatter::append(const zmqkit::message& m, std::string& out) const {
  switch (kind_) {
    case kind::jsonl: append_jsonl(m, out); return;
    case kind::raw:
      append_payload_raw(m, out);
      out.push_back('\n');
      return;
    case kind::msgpack: out.append(m.payload_msgpack()); return;  // a stream of values
    case kind::pretty: append_pretty(m, out); return;
    case kind::templated: break;
  }
  for (const auto& p : parts_) {
    out += p.literal;
    const auto& f = p.field;
    if (f.empty()) continue;
    if (f == "topic") out.append(m.topic());
    else if (f == "payload") append_payload_json(m, out);
    else if (f == "raw") append_payload_raw(m, out);
    else if (f == "hex") append_hex(m.payload_bytes().value_or(m.payload_msgpack()), out);
    else if (f == "seq") out += std::to_string(m.seq());
    else if (f == "producer") out += zmqkit::to_hex(m.producer());
    else if (f == "time") out += iso8601(m.time_ns());
    else if (f == "time_ns") out += std::to_string(m.time_ns());
    else if (f == "latency") {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.3f", double(now_ns() - m.time_ns()) / 1e6);
      out += buf;
    } else if (f == "headers") append_headers_json(m, out);
    else if (f == "fseq") out += m.position() ? std::to_string(m.position()->fseq) : "";
    else out.append(m.find_header(std::string_view(f).substr(7)).value_or(""));
  }
  out.push_back('\n');
}

bool stdout_writer::flush() {
  std::size_t done = 0;
  while (done < buf_.size() && !closed_) {
    const auto n = ::write(STDOUT_FILENO, buf_.data() + done, buf_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) {
        closed_ = true;
        break;
      }
      throw std::runtime_error(std::string("writing stdout: ") + std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  buf_.clear();
  return !closed_;
}

void receive_stats::record(const zmqkit::message& m) {
  const auto now = std::chrono::steady_clock::now();
  if (!any_) first_ = now;
  any_ = true;
  last_ = now;
  const auto wall = zmqkit::unix_now_ns();
  latency_.record(wall - m.time_ns());
  (void)topics_.received(m, wall);
  if (m.position() && m.position()->last_fseq != 0) backlog_ = m.position()->backlog();
}

std::string receive_stats::summary(std::uint64_t received, std::uint64_t gaps,
                                   std::uint64_t duplicates, std::uint64_t decode_errors) const {
  const double secs = any_ ? std::chrono::duration<double>(last_ - first_).count() : 0;
  char buf[512];
  std::string latency = "latency n/a";
  if (latency_.count() != 0) {
    std::snprintf(buf, sizeof buf, "latency p50 %.3f ms p99 %.3f ms",
                  double(latency_.percentile_ns(50)) / 1e6, double(latency_.percentile_ns(99)) / 1e6);
    latency = buf;
  }
  std::snprintf(buf, sizeof buf,
                "stats: received %llu in %.3f s (%.0f msg/s), gaps %llu, duplicates %llu, "
                "decode errors %llu, ",
                static_cast<unsigned long long>(received), secs,
                secs > 0 ? double(received) / secs : 0.0, static_cast<unsigned long long>(gaps),
                static_cast<unsigned long long>(duplicates),
                static_cast<unsigned long long>(decode_errors));
  std::string out = buf + latency;
  if (!topics_.topics().empty()) out += "\n" + topics_.to_text(secs);
  if (backlog_) out += "\nbacklog " + std::to_string(*backlog_) + " (stored after the last message received)";
  return out;
}

}  // namespace zmqkit::tools
