// JSON string literals for text that came from the wire: topics, header
// values, names. Valid UTF-8 is written as it is (JSON text is UTF-8), so
// "ü" stays "ü"; a byte that is not part of valid UTF-8 becomes U+FFFD,
// since JSON cannot carry it; control characters are escaped.
#pragma once

#include <string>
#include <string_view>

namespace zmqkit {

// True if s is valid UTF-8 (no overlong forms, surrogates or code points
// past U+10FFFF).
bool is_utf8(std::string_view s) noexcept;
// Appends s as a JSON string literal: quoted, escaped, as above.
void append_json_string(std::string_view s, std::string& out);
// s as a JSON string literal.
std::string json_quote(std::string_view s);

}  // namespace zmqkit
