// The journal's on-disk format (docs/journal.md): segment header and record
// layout, little-endian, checksummed with XXH3-64 from libxxhash. Internal
// to zmqkit::core.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include <zmqkit/journal.hpp>

namespace zmqkit::detail::jformat {

using zmqkit::record_key;

// Segment header: magic[8] version u32 flags u32 base_fseq u64 checksum u64.
inline constexpr char magic[8] = {'z', 'm', 'q', 'k', 'j', 'r', 'n', 'l'};
inline constexpr std::uint32_t version = 1;
inline constexpr std::size_t segment_header_size = 32;

// Record: len u32 | checksum u64 | fseq u64 | time_ns i64 | topic_len u16 |
// flags u16 | topic | [key] | envelope. len counts the bytes after the
// checksum; the checksum is XXH3-64 of those bytes, seeded with len. Flag
// bit 0 says a 24-byte key (sender id 16 bytes, seq u64) follows the topic.
inline constexpr std::size_t record_prefix = 12;  // len + checksum
inline constexpr std::size_t record_fixed = 20;   // fseq .. flags
inline constexpr std::size_t record_header_size = record_prefix + record_fixed;
// The largest len a record may have: a 64 KiB topic and a 64 MiB envelope.
// Anything larger on disk is garbage, so a reader never allocates for it.
inline constexpr std::uint32_t max_envelope = 64u << 20;
inline constexpr std::uint16_t flag_key = 1;
inline constexpr std::size_t key_size = 24;
inline constexpr std::uint32_t max_record_len = record_fixed + 65535 + key_size + max_envelope;

std::uint64_t checksum(const void* data, std::size_t size, std::uint64_t seed);

inline void put_u16(char* p, std::uint16_t v) {
  for (int i = 0; i < 2; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
inline void put_u32(char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
inline void put_u64(char* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
inline std::uint64_t get_le(const char* p, int n) {
  std::uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::string encode_segment_header(std::uint64_t base_fseq);
// The base fseq, or nullopt with why set when the header is not valid.
std::optional<std::uint64_t> decode_segment_header(std::string_view bytes, std::string& why);

// Appends one encoded record to out.
void append_record(std::string& out, std::uint64_t fseq, std::int64_t time_ns,
                   std::string_view topic, std::string_view envelope,
                   const std::optional<record_key>& key);

struct parsed {
  enum class status { ok, need_more, bad } st = status::bad;
  std::size_t size = 0;  // whole record, when ok or need_more (bytes wanted)
  std::uint64_t fseq = 0;
  std::int64_t time_ns = 0;
  std::string_view topic, envelope;
  std::optional<record_key> key;
  const char* why = "";
};
// Parses the record at the start of bytes. need_more when bytes hold less
// than the whole record (size then says how much is wanted); bad with why
// when the length, checksum or layout is wrong.
parsed parse_record(std::string_view bytes);

// "00000000000000000001.log" for base fseq 1; nullopt if name is not a segment.
std::string segment_name(std::uint64_t base_fseq);
std::optional<std::uint64_t> parse_segment_name(std::string_view name);
inline constexpr std::string_view quarantine_suffix = ".quarantined";

}  // namespace zmqkit::detail::jformat
