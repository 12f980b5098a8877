#include "common/json.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace zmqkit::tools {
namespace {

constexpr char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void append_number(double v, std::string& out) {
  if (!std::isfinite(v)) {  // JSON has no NaN or infinity
    out += "null";
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out.append(buf, end);
}

template <class Int>
void append_integer(Int v, std::string& out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out.append(buf, end);
}

// A JSON number with a fraction or an exponent. msgpack-c 4.1's pack_double
// packs an integral value as an integer, but tests the range after
// converting to uint64_t: 2^64 itself converts out of range, which is
// undefined behaviour (UBSan stops on it). 2^64 and above are no integer;
// they go out as a float 64 written here.
void pack_float(double d, msgpack::packer<msgpack::sbuffer>& pk) {
  if (!(d >= 18446744073709551616.0)) {
    pk.pack_double(d);
    return;
  }
  std::uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  char b[9] = {static_cast<char>(0xcb)};
  for (int i = 0; i < 8; ++i) b[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
  pk.pack_bin_body(b, sizeof b);  // the packer's one way to append bytes as they are
}

}  // namespace

void append_json(const msgpack::object& v, std::string& out) {
  switch (v.type) {
    case msgpack::type::NIL: out += "null"; return;
    case msgpack::type::BOOLEAN: out += v.via.boolean ? "true" : "false"; return;
    case msgpack::type::POSITIVE_INTEGER: append_integer(v.via.u64, out); return;
    case msgpack::type::NEGATIVE_INTEGER: append_integer(v.via.i64, out); return;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: append_number(v.via.f64, out); return;
    case msgpack::type::STR: append_json_string({v.via.str.ptr, v.via.str.size}, out); return;
    case msgpack::type::BIN:
      out += "{\"$base64\":\"";
      out += base64_encode({v.via.bin.ptr, v.via.bin.size});
      out += "\"}";
      return;
    case msgpack::type::EXT:
      out += "{\"$ext\":";
      append_integer(static_cast<int>(v.via.ext.type()), out);
      out += ",\"$base64\":\"";
      out += base64_encode({v.via.ext.data(), v.via.ext.size});
      out += "\"}";
      return;
    case msgpack::type::ARRAY:
      out.push_back('[');
      for (std::uint32_t i = 0; i < v.via.array.size; ++i) {
        if (i) out.push_back(',');
        append_json(v.via.array.ptr[i], out);
      }
      out.push_back(']');
      return;
    case msgpack::type::MAP:
      out.push_back('{');
      for (std::uint32_t i = 0; i < v.via.map.size; ++i) {
        if (i) out.push_back(',');
        const auto& kv = v.via.map.ptr[i];
        if (kv.key.type == msgpack::type::STR) {
          append_json(kv.key, out);
        } else {
          std::string key;
          append_json(kv.key, key);
          append_json_string(key, out);
        }
        out.push_back(':');
        append_json(kv.val, out);
      }
      out.push_back('}');
      return;
  }
}

nlohmann::ordered_json parse_json(std::string_view text) {
  // nlohmann's parser is iterative, but the value it builds is destroyed
  // recursively; bound the nesting before building anything.
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_json_depth)
        throw std::invalid_argument("invalid JSON: nested deeper than " +
                                    std::to_string(max_json_depth) + " levels");
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  try {
    return nlohmann::ordered_json::parse(text.begin(), text.end());
  } catch (const nlohmann::ordered_json::exception& e) {
    // "[json.exception.parse_error.101] parse error at line 1, column 3: ...",
    // or out_of_range.406 for a number past a double ("1e999").
    std::string what = e.what();
    const auto at = what.find("] ");
    throw std::invalid_argument("invalid JSON: " +
                                (at == std::string::npos ? what : what.substr(at + 2)));
  }
}

void pack_json(const nlohmann::ordered_json& v, msgpack::packer<msgpack::sbuffer>& pk) {
  using t = nlohmann::ordered_json::value_t;
  switch (v.type()) {
    case t::null:
    case t::discarded: pk.pack_nil(); return;
    case t::boolean: v.get<bool>() ? pk.pack_true() : pk.pack_false(); return;
    case t::number_integer: pk.pack(v.get<std::int64_t>()); return;
    case t::number_unsigned: pk.pack(v.get<std::uint64_t>()); return;
    case t::number_float: pack_float(v.get<double>(), pk); return;
    case t::string: pk.pack(v.get_ref<const std::string&>()); return;
    case t::binary: {
      const auto& b = v.get_binary();
      pk.pack_bin(static_cast<std::uint32_t>(b.size()));
      pk.pack_bin_body(reinterpret_cast<const char*>(b.data()), static_cast<std::uint32_t>(b.size()));
      return;
    }
    case t::array:
      pk.pack_array(static_cast<std::uint32_t>(v.size()));
      for (const auto& e : v) pack_json(e, pk);
      return;
    case t::object: {
      const auto b64 = v.find("$base64");
      if (b64 != v.end() && b64->is_string()) {
        const auto ext = v.find("$ext");
        const auto bytes = base64_decode(b64->get_ref<const std::string&>());
        if (v.size() == 1) {
          pk.pack_bin(static_cast<std::uint32_t>(bytes.size()));
          pk.pack_bin_body(bytes.data(), static_cast<std::uint32_t>(bytes.size()));
          return;
        }
        if (v.size() == 2 && ext != v.end() && ext->is_number_integer()) {
          const auto type = ext->get<std::int64_t>();
          if (type < -128 || type > 127)
            throw std::invalid_argument("$ext type " + std::to_string(type) + " is not in -128..127");
          pk.pack_ext(bytes.size(), static_cast<std::int8_t>(type));
          pk.pack_ext_body(bytes.data(), static_cast<std::uint32_t>(bytes.size()));
          return;
        }
      }
      pk.pack_map(static_cast<std::uint32_t>(v.size()));
      for (const auto& [key, value] : v.items()) {
        pk.pack(key);
        pack_json(value, pk);
      }
      return;
    }
  }
}

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const std::uint32_t n = (std::uint32_t(std::uint8_t(in[i])) << 16) |
                            (std::uint32_t(std::uint8_t(in[i + 1])) << 8) | std::uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(b64_alphabet[(n >> s) & 63]);
  }
  if (i < in.size()) {
    std::uint32_t n = std::uint32_t(std::uint8_t(in[i])) << 16;
    if (i + 1 < in.size()) n |= std::uint32_t(std::uint8_t(in[i + 1])) << 8;
    out.push_back(b64_alphabet[(n >> 18) & 63]);
    out.push_back(b64_alphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? b64_alphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::string base64_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size() / 4 * 3);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const char* p = c ? std::strchr(b64_alphabet, c) : nullptr;
    if (p == nullptr) throw std::invalid_argument("invalid base64 character in $base64 value");
    acc = (acc << 6) | static_cast<std::uint32_t>(p - b64_alphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

}  // namespace zmqkit::tools
