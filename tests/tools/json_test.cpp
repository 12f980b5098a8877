#include "common/json.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace zmqkit::tools;

namespace {

std::string json_of_msgpack(const std::string& bytes) {
  const auto handle = msgpack::unpack(bytes.data(), bytes.size());
  std::string out;
  append_json(handle.get(), out);
  return out;
}

std::string msgpack_of_json(const std::string& text) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pack_json(parse_json(text), pk);
  return {buf.data(), buf.size()};
}

}  // namespace

TEST_CASE("json: SHALL print every msgpack type as JSON") {
  CHECK(json_of_msgpack(msgpack_of_json(R"({"a":[1,-2,3.5,true,false,null,"x"]})")) ==
        R"({"a":[1,-2,3.5,true,false,null,"x"]})");
  CHECK(json_of_msgpack(std::string("\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 9)) ==
        "18446744073709551615");
  CHECK(json_of_msgpack(std::string("\xd3\x80\x00\x00\x00\x00\x00\x00\x00", 9)) ==
        "-9223372036854775808");
  CHECK(json_of_msgpack(std::string("\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00", 9)) == "null");  // NaN
  CHECK(json_of_msgpack("\x81\x01\xa1x") == R"({"1":"x"})");  // a non-string key
}

TEST_CASE("json: SHALL pack numbers past the integers as float 64, and integral floats as integers") {
  // nlohmann reads 2^64 as a float; msgpack-c's pack_double would convert
  // it to uint64_t, out of range (undefined behaviour, found by fuzzing).
  CHECK(msgpack_of_json("18446744073709551616") == std::string("\xcb\x43\xf0\x00\x00\x00\x00\x00\x00", 9));
  CHECK(json_of_msgpack(msgpack_of_json("18446744073709551616")) == "18446744073709551616");
  CHECK(msgpack_of_json("1e300") == std::string("\xcb\x7e\x37\xe4\x3c\x88\x00\x75\x9c", 9));
  CHECK(msgpack_of_json("18446744073709551615") == std::string("\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 9));
  CHECK(msgpack_of_json("19.0") == "\x13");  // msgpack-c packs an integral float as the integer
  CHECK(msgpack_of_json("-0.5") == std::string("\xcb\xbf\xe0\x00\x00\x00\x00\x00\x00", 9));
}

TEST_CASE("json: SHALL carry binary and ext as $base64 objects, both ways") {
  const std::string bin("\xc4\x04\x00\xff\x10\x80", 6);
  CHECK(json_of_msgpack(bin) == R"({"$base64":"AP8QgA=="})");
  CHECK(msgpack_of_json(R"({"$base64":"AP8QgA=="})") == bin);
  const std::string ext("\xd4\x05\x2a", 3);  // fixext 1, type 5
  CHECK(json_of_msgpack(ext) == R"({"$ext":5,"$base64":"Kg=="})");
  CHECK(msgpack_of_json(R"({"$ext":5,"$base64":"Kg=="})") == ext);
  // An object that merely has more keys stays a map.
  CHECK(json_of_msgpack(msgpack_of_json(R"({"$base64":"AA==","x":1})")) == R"({"$base64":"AA==","x":1})");
}

TEST_CASE("json: SHALL reject bad JSON with a one-line reason, never crash") {
  CHECK_THROWS_WITH_AS(parse_json("{\"a\":"), doctest::Contains("invalid JSON"), std::invalid_argument);
  CHECK_THROWS_AS(parse_json("not json"), std::invalid_argument);
  // A number past a double is nlohmann's out_of_range, not a parse_error.
  CHECK_THROWS_WITH_AS(parse_json("[1, 1e999]"), "invalid JSON: number overflow parsing '1e999'",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_json("-18446744073709E551615"), doctest::Contains("number overflow"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_json(std::string(100000, '[')), doctest::Contains("nested deeper"),
                       std::invalid_argument);
  CHECK_NOTHROW(parse_json(std::string(64, '[') + std::string(64, ']')));
  CHECK_NOTHROW(parse_json("\"[[[[[[[[\""));  // brackets inside a string are text
  CHECK_THROWS_AS(msgpack_of_json(R"({"$base64":"!!"})"), std::invalid_argument);
  CHECK_THROWS_AS(msgpack_of_json(R"({"$ext":300,"$base64":"AA=="})"), std::invalid_argument);
}

TEST_CASE("json: SHALL round-trip base64 of every length") {
  std::string bytes;
  for (int n = 0; n < 300; ++n) {
    CHECK(base64_decode(base64_encode(bytes)) == bytes);
    bytes.push_back(static_cast<char>(n * 37));
  }
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
  CHECK(base64_encode("fo") == "Zm8=");
}
