// JSON <-> msgpack for the tools. JSON has no bytes, so binary survives a
// round trip by convention (docs/cli.md, "JSON encoding"):
//   msgpack bin          <-> {"$base64": "..."}
//   msgpack ext          <-> {"$ext": TYPE, "$base64": "..."}
//   non-string map keys   -> their JSON text as the key (one way)
//   str with invalid UTF-8 -> U+FFFD per bad byte (one way; zmqkit's tools
//                            never send such a str: raw input that is not
//                            UTF-8 goes out as bin)
#pragma once

#include <string>
#include <string_view>

#include <msgpack.hpp>
#include <nlohmann/json.hpp>

#include <zmqkit/json_text.hpp>  // is_utf8, append_json_string

namespace zmqkit::tools {

// Deepest JSON nesting accepted on input, like the msgpack decoder's limit.
inline constexpr int max_json_depth = 64;

// Appends the compact JSON text of one msgpack value (already bounds-checked).
void append_json(const msgpack::object& value, std::string& out);

// Parses JSON text; throws std::invalid_argument with a one-line reason
// (including on nesting deeper than max_json_depth, checked before parsing).
nlohmann::ordered_json parse_json(std::string_view text);  // keeps key order
// Packs a JSON value as msgpack, honouring the $base64 / $ext convention.
void pack_json(const nlohmann::ordered_json& value, msgpack::packer<msgpack::sbuffer>& out);

std::string base64_encode(std::string_view bytes);
// Throws std::invalid_argument on characters outside the base64 alphabet.
std::string base64_decode(std::string_view text);

}  // namespace zmqkit::tools
