#include <doctest/doctest.h>

#include <string>

#include <zmqkit/json_text.hpp>

using zmqkit::append_json_string;
using zmqkit::is_utf8;
using zmqkit::json_quote;

TEST_CASE("json_text: SHALL escape quotes, backslashes and control characters") {
  std::string out;
  append_json_string("a\"b\\c\n\x01 \t", out);
  CHECK(out == "\"a\\\"b\\\\c\\n\\u0001 \\t\"");
  CHECK(json_quote("a\"b") == "\"a\\\"b\"");
}

TEST_CASE("json_text: SHALL write valid UTF-8 as it is, not byte by byte") {
  // "ü" is two bytes; escaping each as \u00c3\u00bc would read back as "Ã¼".
  CHECK(json_quote("gr\xc3\xbc\xc3\x9f") == "\"gr\xc3\xbc\xc3\x9f\"");
  CHECK(json_quote("\xe2\x82\xac \xf0\x9f\x98\x80") == "\"\xe2\x82\xac \xf0\x9f\x98\x80\"");
}

TEST_CASE("json_text: SHALL replace each byte of invalid UTF-8 with U+FFFD") {
  CHECK(json_quote("\xff ok \xc3") == "\"\\ufffd ok \\ufffd\"");
  CHECK(json_quote(std::string("\xc0\xaf", 2)) == "\"\\ufffd\\ufffd\"");  // overlong '/'
}

TEST_CASE("json_text: SHALL tell valid UTF-8 from overlong forms, surrogates and code points past U+10FFFF") {
  CHECK(is_utf8("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"));
  CHECK(is_utf8("plain ASCII, longer than eight bytes"));
  CHECK_FALSE(is_utf8("\xc0\xaf"));          // overlong '/'
  CHECK_FALSE(is_utf8("\xed\xa0\x80"));      // a surrogate
  CHECK_FALSE(is_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  CHECK_FALSE(is_utf8("12345678\xff"));      // after a clean 8-byte word
}
