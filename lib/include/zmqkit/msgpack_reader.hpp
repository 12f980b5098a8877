// A bounds-checked msgpack reader over bytes that came from the wire or disk.
//
// Nothing here allocates: every length and element count is checked against
// the bytes actually present before it is trusted, nesting is capped, and any
// violation throws zmqkit::decode_error naming the field. Once a value has
// passed skip_value(), handing it to msgpack-c's unpacker is bounded too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <zmqkit/error.hpp>

namespace zmqkit {

// Deepest nesting of arrays/maps accepted in any value.
inline constexpr std::size_t max_msgpack_depth = 64;

class msgpack_reader {
 public:
  explicit msgpack_reader(std::string_view bytes) noexcept : data_(bytes), limit_(bytes.size()) {}
  // For a value still arriving (a stream read in pieces): bytes is what has
  // come so far and the value may take up to limit bytes in all. A length
  // or count that cannot fit within limit throws at once, from its header;
  // one that only needs bytes not yet here throws with incomplete() set.
  msgpack_reader(std::string_view bytes, std::size_t limit) noexcept
      : data_(bytes), limit_(limit < bytes.size() ? bytes.size() : limit) {}

  std::size_t offset() const noexcept { return pos_; }
  std::size_t remaining() const noexcept { return data_.size() - pos_; }
  // After a decode_error: true if it was only for want of bytes that may
  // still come (within the limit), so reading more and trying again helps.
  bool incomplete() const noexcept { return incomplete_; }
  // After a decode_error: true if a length or count could not fit within
  // the limit (so a larger limit is the remedy, not better bytes).
  bool over_limit() const noexcept { return over_limit_; }

  // Each reads one value of the named kind or throws decode_error(field, ...).
  std::uint32_t read_array_header(const char* field);
  std::uint32_t read_map_header(const char* field);
  std::uint64_t read_uint(const char* field);
  std::int64_t read_int(const char* field);
  std::string_view read_str(const char* field);
  std::string_view read_bin(const char* field);

  // Skips one complete value, checking it all the way down. Returns its bytes.
  std::string_view skip_value(const char* field, std::size_t max_depth = max_msgpack_depth);

 private:
  std::uint8_t peek(const char* field);
  std::uint64_t read_be(std::size_t n, const char* field);
  std::string_view take(std::size_t n, const char* field);
  void check_count(std::uint64_t count, std::uint64_t per_element, const char* field);
  void skip(const char* field, std::size_t depth_left, std::size_t max_depth);

  std::string_view data_;
  std::size_t limit_;
  std::size_t pos_ = 0;
  bool incomplete_ = false;
  bool over_limit_ = false;
};

// Checks that bytes hold exactly one valid msgpack value. Throws decode_error.
void check_msgpack(std::string_view bytes, const char* field = "payload");

}  // namespace zmqkit
