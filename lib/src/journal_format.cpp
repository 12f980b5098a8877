#include "journal_format.hpp"

#include <cstdio>

#include <xxhash.h>

namespace zmqkit::detail::jformat {

std::uint64_t checksum(const void* data, std::size_t size, std::uint64_t seed) {
  return XXH3_64bits_withSeed(data, size, seed);
}

std::string encode_segment_header(std::uint64_t base_fseq) {
  std::string h(segment_header_size, '\0');
  std::memcpy(h.data(), magic, sizeof magic);
  put_u32(h.data() + 8, version);
  put_u32(h.data() + 12, 0);
  put_u64(h.data() + 16, base_fseq);
  put_u64(h.data() + 24, checksum(h.data(), 24, 0));
  return h;
}

std::optional<std::uint64_t> decode_segment_header(std::string_view b, std::string& why) {
  if (b.size() < segment_header_size) {
    why = "segment header is short (" + std::to_string(b.size()) + " bytes)";
    return std::nullopt;
  }
  if (std::memcmp(b.data(), magic, sizeof magic) != 0) {
    why = "not a zmqkit journal segment (bad magic)";
    return std::nullopt;
  }
  if (get_le(b.data() + 24, 8) != checksum(b.data(), 24, 0)) {
    why = "segment header checksum mismatch";
    return std::nullopt;
  }
  if (const auto v = get_le(b.data() + 8, 4); v != version) {
    why = "segment format version " + std::to_string(v) + " is not supported (this zmqkit reads 1)";
    return std::nullopt;
  }
  return get_le(b.data() + 16, 8);
}

void append_record(std::string& out, std::uint64_t fseq, std::int64_t time_ns,
                   std::string_view topic, std::string_view envelope,
                   const std::optional<record_key>& key) {
  const std::size_t key_bytes = key ? key_size : 0;
  const auto len = static_cast<std::uint32_t>(record_fixed + topic.size() + key_bytes + envelope.size());
  const std::size_t at = out.size();
  out.resize(at + record_header_size);
  char* p = out.data() + at;
  put_u32(p, len);
  put_u64(p + 12, fseq);
  put_u64(p + 20, static_cast<std::uint64_t>(time_ns));
  put_u16(p + 28, static_cast<std::uint16_t>(topic.size()));
  put_u16(p + 30, key ? flag_key : 0);
  out.append(topic);
  if (key) {
    out.append(reinterpret_cast<const char*>(key->sender.data()), key->sender.size());
    char seq[8];
    put_u64(seq, key->seq);
    out.append(seq, 8);
  }
  out.append(envelope);
  p = out.data() + at;  // append may have moved the buffer
  put_u64(p + 4, checksum(p + record_prefix, len, len));
}

parsed parse_record(std::string_view b) {
  parsed r;
  if (b.size() < record_prefix) {
    r.st = parsed::status::need_more;
    r.size = record_header_size;
    return r;
  }
  const auto len = static_cast<std::uint32_t>(get_le(b.data(), 4));
  if (len < record_fixed || len > max_record_len) {
    r.why = len == 0 ? "zero length" : "impossible length";
    return r;
  }
  r.size = record_prefix + len;
  if (b.size() < r.size) {
    r.st = parsed::status::need_more;
    return r;
  }
  const char* body = b.data() + record_prefix;
  if (get_le(b.data() + 4, 8) != checksum(body, len, len)) {
    r.why = "checksum mismatch";
    return r;
  }
  const auto topic_len = static_cast<std::size_t>(get_le(body + 16, 2));
  const auto flags = get_le(body + 18, 2);
  if ((flags & ~std::uint64_t{flag_key}) != 0) {
    r.why = "unknown record flags";
    return r;
  }
  const std::size_t key_bytes = (flags & flag_key) ? key_size : 0;
  if (topic_len + key_bytes > len - record_fixed) {
    r.why = "topic longer than the record";
    return r;
  }
  r.fseq = get_le(body, 8);
  r.time_ns = static_cast<std::int64_t>(get_le(body + 8, 8));
  const char* after_topic = body + record_fixed + topic_len;
  r.topic = std::string_view(body + record_fixed, topic_len);
  if (key_bytes) {
    record_key k;
    std::memcpy(k.sender.data(), after_topic, k.sender.size());
    k.seq = get_le(after_topic + 16, 8);
    r.key = k;
  }
  r.envelope = std::string_view(after_topic + key_bytes, len - record_fixed - topic_len - key_bytes);
  r.st = parsed::status::ok;
  return r;
}

std::string segment_name(std::uint64_t base_fseq) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020llu.log", static_cast<unsigned long long>(base_fseq));
  return buf;
}

std::optional<std::uint64_t> parse_segment_name(std::string_view name) {
  if (name.size() != 24 || name.substr(20) != ".log") return std::nullopt;
  std::uint64_t v = 0;
  for (char c : name.substr(0, 20)) {
    if (c < '0' || c > '9') return std::nullopt;
    const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  if (v == 0) return std::nullopt;
  return v;
}

}  // namespace zmqkit::detail::jformat
