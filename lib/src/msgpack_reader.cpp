#include <zmqkit/msgpack_reader.hpp>

#include <cstdio>
#include <string>

// Format reference: the msgpack specification's type table. Byte ranges are
// decoded by hand rather than with msgpack-c's parser because msgpack-c
// allocates object storage for a container's declared size before reading
// its elements: "dd ff ff ff ff" asks it for 4 billion objects.

namespace zmqkit {
namespace {

std::string hex_byte(std::uint8_t b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", b);
  return buf;
}

}  // namespace

std::uint8_t msgpack_reader::peek(const char* field) {
  if (pos_ >= data_.size()) {
    incomplete_ = pos_ < limit_;
    throw decode_error(field, "truncated: value missing");
  }
  return static_cast<std::uint8_t>(data_[pos_]);
}

std::string_view msgpack_reader::take(std::size_t n, const char* field) {
  if (n > remaining()) {
    // What cannot fit is refused from its header, before any byte of it
    // is waited for: a stream's "bin 32 of 2 GiB" is never buffered.
    over_limit_ = limit_ > data_.size() && n > limit_ - pos_;
    if (over_limit_)
      throw decode_error(field, "declares " + std::to_string(n) + " bytes, over the limit of " +
                                    std::to_string(limit_) + " for the whole value");
    incomplete_ = true;
    throw decode_error(field, "truncated: needs " + std::to_string(n) + " bytes, " +
                                  std::to_string(remaining()) + " left");
  }
  auto out = data_.substr(pos_, n);
  pos_ += n;
  return out;
}

std::uint64_t msgpack_reader::read_be(std::size_t n, const char* field) {
  auto bytes = take(n, field);
  std::uint64_t v = 0;
  for (char c : bytes) v = (v << 8) | static_cast<std::uint8_t>(c);
  return v;
}

// Every element takes at least one byte, so a count larger than the bytes
// left is a lie; rejecting it here is what keeps allocation bounded.
void msgpack_reader::check_count(std::uint64_t count, std::uint64_t per_element,
                                 const char* field) {
  if (count <= remaining() / per_element) return;
  over_limit_ = limit_ > data_.size() && count > (limit_ - pos_) / per_element;
  if (over_limit_)
    throw decode_error(field, "declares " + std::to_string(count) +
                                  " elements, more than fit in the limit of " +
                                  std::to_string(limit_) + " bytes for the whole value");
  incomplete_ = true;
  throw decode_error(field, "declares " + std::to_string(count) + " elements but only " +
                                std::to_string(remaining()) + " bytes are left");
}

std::uint32_t msgpack_reader::read_array_header(const char* field) {
  const auto b = peek(field);
  std::uint64_t n;
  if (b >= 0x90 && b <= 0x9f) {
    ++pos_;
    n = b & 0x0f;
  } else if (b == 0xdc || b == 0xdd) {
    ++pos_;
    n = read_be(b == 0xdc ? 2 : 4, field);
  } else {
    throw decode_error(field, "expected an array, found type byte " + hex_byte(b));
  }
  check_count(n, 1, field);
  return static_cast<std::uint32_t>(n);
}

std::uint32_t msgpack_reader::read_map_header(const char* field) {
  const auto b = peek(field);
  std::uint64_t n;
  if (b >= 0x80 && b <= 0x8f) {
    ++pos_;
    n = b & 0x0f;
  } else if (b == 0xde || b == 0xdf) {
    ++pos_;
    n = read_be(b == 0xde ? 2 : 4, field);
  } else {
    throw decode_error(field, "expected a map, found type byte " + hex_byte(b));
  }
  check_count(n, 2, field);
  return static_cast<std::uint32_t>(n);
}

std::uint64_t msgpack_reader::read_uint(const char* field) {
  const auto b = peek(field);
  if (b <= 0x7f) {
    ++pos_;
    return b;
  }
  if (b >= 0xcc && b <= 0xcf) {
    ++pos_;
    return read_be(std::size_t{1} << (b - 0xcc), field);
  }
  if (b >= 0xd0 && b <= 0xd3) {  // a signed encoding of a non-negative value is fine
    const auto v = read_int(field);
    if (v < 0) throw decode_error(field, "expected an unsigned integer, found " + std::to_string(v));
    return static_cast<std::uint64_t>(v);
  }
  if (b >= 0xe0) throw decode_error(field, "expected an unsigned integer, found a negative one");
  throw decode_error(field, "expected an unsigned integer, found type byte " + hex_byte(b));
}

std::int64_t msgpack_reader::read_int(const char* field) {
  const auto b = peek(field);
  if (b <= 0x7f) {
    ++pos_;
    return b;
  }
  if (b >= 0xe0) {
    ++pos_;
    return static_cast<std::int8_t>(b);
  }
  if (b >= 0xd0 && b <= 0xd3) {
    ++pos_;
    const std::size_t n = std::size_t{1} << (b - 0xd0);
    const auto raw = read_be(n, field);
    if (n == 8) return static_cast<std::int64_t>(raw);
    const auto sign = std::uint64_t{1} << (n * 8 - 1);  // sign-extend from n bytes
    return static_cast<std::int64_t>((raw ^ sign) - sign);
  }
  if (b >= 0xcc && b <= 0xcf) {
    ++pos_;
    const auto v = read_be(std::size_t{1} << (b - 0xcc), field);
    if (v > static_cast<std::uint64_t>(INT64_MAX))
      throw decode_error(field, "integer " + std::to_string(v) + " does not fit in int64");
    return static_cast<std::int64_t>(v);
  }
  throw decode_error(field, "expected an integer, found type byte " + hex_byte(b));
}

std::string_view msgpack_reader::read_str(const char* field) {
  const auto b = peek(field);
  std::uint64_t n;
  if (b >= 0xa0 && b <= 0xbf) {
    ++pos_;
    n = b & 0x1f;
  } else if (b >= 0xd9 && b <= 0xdb) {
    ++pos_;
    n = read_be(std::size_t{1} << (b - 0xd9), field);
  } else {
    throw decode_error(field, "expected a string, found type byte " + hex_byte(b));
  }
  return take(n, field);
}

std::string_view msgpack_reader::read_bin(const char* field) {
  const auto b = peek(field);
  if (b < 0xc4 || b > 0xc6)
    throw decode_error(field, "expected binary, found type byte " + hex_byte(b));
  ++pos_;
  const auto n = read_be(std::size_t{1} << (b - 0xc4), field);
  return take(n, field);
}

std::string_view msgpack_reader::skip_value(const char* field, std::size_t max_depth) {
  const auto start = pos_;
  skip(field, max_depth, max_depth);
  return data_.substr(start, pos_ - start);
}

void msgpack_reader::skip(const char* field, std::size_t depth_left, std::size_t max_depth) {
  const auto b = peek(field);
  if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
    ++pos_;
    return;
  }
  const bool is_array = (b >= 0x90 && b <= 0x9f) || b == 0xdc || b == 0xdd;
  const bool is_map = (b >= 0x80 && b <= 0x8f) || b == 0xde || b == 0xdf;
  if (is_array || is_map) {
    if (depth_left == 0)
      throw decode_error(field, "nested deeper than " + std::to_string(max_depth) + " levels");
    std::uint64_t n = is_array ? read_array_header(field) : read_map_header(field);
    if (is_map) n *= 2;
    for (std::uint64_t i = 0; i < n; ++i) skip(field, depth_left - 1, max_depth);
    return;
  }
  if ((b >= 0xa0 && b <= 0xbf) || (b >= 0xd9 && b <= 0xdb)) {
    read_str(field);
    return;
  }
  ++pos_;
  switch (b) {
    case 0xc4: case 0xc5: case 0xc6:  // bin 8/16/32
      take(read_be(std::size_t{1} << (b - 0xc4), field), field);
      return;
    case 0xc7: case 0xc8: case 0xc9: {  // ext 8/16/32: length, type, data
      const auto n = read_be(std::size_t{1} << (b - 0xc7), field);
      take(1, field);
      take(n, field);
      return;
    }
    case 0xca: take(4, field); return;  // float 32
    case 0xcb: take(8, field); return;  // float 64
    case 0xcc: case 0xcd: case 0xce: case 0xcf:  // uint 8..64
      take(std::size_t{1} << (b - 0xcc), field);
      return;
    case 0xd0: case 0xd1: case 0xd2: case 0xd3:  // int 8..64
      take(std::size_t{1} << (b - 0xd0), field);
      return;
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:  // fixext 1..16
      take(1 + (std::size_t{1} << (b - 0xd4)), field);
      return;
    default:  // only 0xc1 is left: "never used" in the specification
      --pos_;
      throw decode_error(field, "invalid type byte " + hex_byte(b));
  }
}

void check_msgpack(std::string_view bytes, const char* field) {
  msgpack_reader r(bytes);
  r.skip_value(field);
  if (r.remaining() != 0)
    throw decode_error(field, std::to_string(r.remaining()) + " trailing bytes after the value");
}

}  // namespace zmqkit
