#include <doctest/doctest.h>

#include <zmqkit/msgpack_reader.hpp>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include <msgpack.hpp>

using zmqkit::check_msgpack;
using zmqkit::decode_error;
using zmqkit::msgpack_reader;

namespace {

// Bytes written out as numbers, the way the msgpack specification shows them.
std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

template <class T>
std::string msgpack_of(const T& value) {
  msgpack::sbuffer buf;
  msgpack::pack(buf, value);
  return {buf.data(), buf.size()};
}

// The field a decode_error named, or "(accepted)" if skip_value took it.
std::string skip_rejection(std::string_view data, const char* field = "value") {
  try {
    msgpack_reader r(data);
    (void)r.skip_value(field);
  } catch (const decode_error& e) {
    return e.field();
  }
  return "(accepted)";
}

struct sample {
  const char* family;
  std::string value;  // exactly one encoded value
};

// One value of every msgpack type family, each encoded by hand.
std::vector<sample> every_family() {
  return {
      {"nil", bytes({0xc0})},
      {"false", bytes({0xc2})},
      {"true", bytes({0xc3})},
      {"positive fixint 0", bytes({0x00})},
      {"positive fixint 127", bytes({0x7f})},
      {"negative fixint -32", bytes({0xe0})},
      {"negative fixint -1", bytes({0xff})},
      {"uint8", bytes({0xcc, 0xff})},
      {"uint16", bytes({0xcd, 0x01, 0x00})},
      {"uint32", bytes({0xce, 0x00, 0x01, 0x00, 0x00})},
      {"uint64", bytes({0xcf, 0, 0, 0, 1, 0, 0, 0, 0})},
      {"int8", bytes({0xd0, 0x80})},
      {"int16", bytes({0xd1, 0xfe, 0xd4})},
      {"int32", bytes({0xd2, 0x80, 0, 0, 0})},
      {"int64", bytes({0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0})},
      {"float32", bytes({0xca, 0x3f, 0x80, 0, 0})},
      {"float64", bytes({0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0})},
      {"empty fixstr", bytes({0xa0})},
      {"fixstr", bytes({0xa3, 'a', 'b', 'c'})},
      {"fixstr of 31", bytes({0xbf}) + std::string(31, 'x')},
      {"str8", bytes({0xd9, 3, 'a', 'b', 'c'})},
      {"str16", bytes({0xda, 0, 3, 'a', 'b', 'c'})},
      {"str32", bytes({0xdb, 0, 0, 0, 3, 'a', 'b', 'c'})},
      {"bin8", bytes({0xc4, 2, 0x00, 0xff})},
      {"bin16", bytes({0xc5, 0, 2, 0x00, 0xff})},
      {"bin32", bytes({0xc6, 0, 0, 0, 2, 0x00, 0xff})},
      {"fixext1", bytes({0xd4, 0x01, 0xaa})},
      {"fixext2", bytes({0xd5, 0x01, 0xaa, 0xbb})},
      {"fixext4", bytes({0xd6, 0x01, 1, 2, 3, 4})},
      {"fixext8", bytes({0xd7, 0x01, 1, 2, 3, 4, 5, 6, 7, 8})},
      {"fixext16", bytes({0xd8, 0x01}) + std::string(16, '\x5a')},
      {"ext8", bytes({0xc7, 3, 0x01, 1, 2, 3})},
      {"ext16", bytes({0xc8, 0, 3, 0x01, 1, 2, 3})},
      {"ext32", bytes({0xc9, 0, 0, 0, 3, 0x01, 1, 2, 3})},
      {"empty fixarray", bytes({0x90})},
      {"fixarray", bytes({0x92, 0x01, 0xc0})},
      {"array16", bytes({0xdc, 0, 2, 0x01, 0xc0})},
      {"array32", bytes({0xdd, 0, 0, 0, 2, 0x01, 0xc0})},
      {"empty fixmap", bytes({0x80})},
      {"fixmap", bytes({0x81, 0xa1, 'k', 0x01})},
      {"map16", bytes({0xde, 0, 1, 0xa1, 'k', 0x01})},
      {"map32", bytes({0xdf, 0, 0, 0, 1, 0xa1, 'k', 0x01})},
  };
}

// A value that nests containers and holds one of every family.
std::string nested_value() {
  const auto samples = every_family();
  std::string out = bytes({0x82, 0xa3, 'a', 'l', 'l', 0xdc, 0});
  out.push_back(static_cast<char>(samples.size()));
  for (const auto& s : samples) out += s.value;
  out += bytes({0xa4, 'd', 'e', 'e', 'p', 0x91, 0x81, 0xc0, 0x92, 0x90, 0x80});
  return out;
}

// depth arrays, each holding the next; the innermost is empty.
std::string nested_arrays(std::size_t depth) {
  return std::string(depth - 1, '\x91') + '\x90';
}

}  // namespace

TEST_CASE("msgpack_reader: SHALL skip one value of every type family and return exactly its bytes") {
  for (const auto& s : every_family()) {
    INFO(s.family);
    // A byte after the value shows that skip_value stops where the value ends.
    const std::string data = s.value + bytes({0xc0});
    msgpack_reader r(data);
    const auto skipped = r.skip_value("value");
    CHECK(skipped.size() == s.value.size());
    CHECK(skipped.data() == data.data());
    CHECK(r.offset() == s.value.size());
    CHECK(r.remaining() == 1);

    // The samples are real msgpack: msgpack-c reads the same number of bytes.
    std::size_t consumed = 0;
    (void)msgpack::unpack(data.data(), data.size(), consumed);
    CHECK(consumed == s.value.size());
  }
}

TEST_CASE("msgpack_reader: SHALL skip a nested value holding every type family") {
  const auto value = nested_value();
  msgpack_reader r(value);
  CHECK(r.skip_value("value").size() == value.size());
  CHECK(r.remaining() == 0);
  CHECK_NOTHROW(check_msgpack(value));
}

TEST_CASE("msgpack_reader: SHALL skip consecutive values one at a time") {
  const std::string data = bytes({0x01, 0xa2, 'h', 'i', 0x92, 0xc2, 0xc3});
  msgpack_reader r(data);
  CHECK(r.skip_value("a") == bytes({0x01}));
  CHECK(r.skip_value("b") == bytes({0xa2, 'h', 'i'}));
  CHECK(r.skip_value("c") == bytes({0x92, 0xc2, 0xc3}));
  CHECK(r.remaining() == 0);
  CHECK_THROWS_AS(r.skip_value("d"), decode_error);
}

TEST_CASE("msgpack_reader: SHALL sign-extend every signed integer width in read_int") {
  const auto read_int = [](const std::string& data) {
    msgpack_reader r(data);
    const auto v = r.read_int("n");
    CHECK(r.remaining() == 0);
    return v;
  };
  SUBCASE("hand-encoded widths") {
    CHECK(read_int(bytes({0xe0})) == -32);
    CHECK(read_int(bytes({0xff})) == -1);
    CHECK(read_int(bytes({0x7f})) == 127);
    CHECK(read_int(bytes({0xd0, 0xff})) == -1);
    CHECK(read_int(bytes({0xd0, 0x80})) == -128);
    CHECK(read_int(bytes({0xd0, 0x7f})) == 127);
    CHECK(read_int(bytes({0xd1, 0xfe, 0xd4})) == -300);
    CHECK(read_int(bytes({0xd1, 0x80, 0x00})) == -32768);
    CHECK(read_int(bytes({0xd2, 0xff, 0xff, 0xff, 0xfe})) == -2);
    CHECK(read_int(bytes({0xd2, 0x80, 0, 0, 0})) == std::numeric_limits<std::int32_t>::min());
    CHECK(read_int(bytes({0xd2, 0x7f, 0xff, 0xff, 0xff})) == std::numeric_limits<std::int32_t>::max());
    CHECK(read_int(bytes({0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0})) ==
          std::numeric_limits<std::int64_t>::min());
    CHECK(read_int(bytes({0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})) == -1);
  }
  SUBCASE("unsigned encodings up to INT64_MAX") {
    CHECK(read_int(bytes({0xcc, 0xff})) == 255);
    CHECK(read_int(bytes({0xcd, 0xff, 0xff})) == 65535);
    CHECK(read_int(bytes({0xce, 0xff, 0xff, 0xff, 0xff})) == 4294967295);
    CHECK(read_int(bytes({0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})) ==
          std::numeric_limits<std::int64_t>::max());
  }
  SUBCASE("whatever msgpack-c writes reads back") {
    const std::int64_t values[] = {0,       1,      127,    128,    255,        256,
                                   65535,   65536,  -1,     -32,    -33,        -128,
                                   -129,    -32768, -32769, INT32_MIN, INT32_MAX, INT64_MIN,
                                   INT64_MAX};
    for (auto v : values) {
      INFO(v);
      CHECK(read_int(msgpack_of(v)) == v);
    }
  }
}

TEST_CASE("msgpack_reader: SHALL reject in read_int a uint64 above INT64_MAX") {
  const auto data = bytes({0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0});
  msgpack_reader r(data);
  try {
    (void)r.read_int("time");
    FAIL("read_int accepted 2^63");
  } catch (const decode_error& e) {
    CHECK(e.field() == "time");
  }
}

TEST_CASE("msgpack_reader: SHALL read every unsigned width in read_uint and refuse negatives") {
  SUBCASE("whatever msgpack-c writes reads back") {
    const std::uint64_t values[] = {0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295ull,
                                    4294967296ull, std::numeric_limits<std::uint64_t>::max()};
    for (auto v : values) {
      INFO(v);
      const auto data = msgpack_of(v);
      msgpack_reader r(data);
      CHECK(r.read_uint("n") == v);
      CHECK(r.remaining() == 0);
    }
  }
  SUBCASE("a signed encoding of a non-negative value is accepted") {
    const auto data = bytes({0xd0, 0x05});
    msgpack_reader r(data);
    CHECK(r.read_uint("n") == 5);
  }
  SUBCASE("negative values are refused") {
    for (const auto& data : {bytes({0xff}), bytes({0xe0}), bytes({0xd0, 0xff}),
                             bytes({0xd1, 0xfe, 0xd4}), bytes({0xd2, 0x80, 0, 0, 0}),
                             bytes({0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0})}) {
      msgpack_reader r(data);
      try {
        (void)r.read_uint("seq");
        FAIL("read_uint accepted a negative value");
      } catch (const decode_error& e) {
        CHECK(e.field() == "seq");
      }
    }
  }
}

TEST_CASE("msgpack_reader: SHALL read strings, binaries and container headers of each width") {
  SUBCASE("read_str") {
    for (const auto& data : {bytes({0xa2, 'h', 'i'}), bytes({0xd9, 2, 'h', 'i'}),
                             bytes({0xda, 0, 2, 'h', 'i'}), bytes({0xdb, 0, 0, 0, 2, 'h', 'i'})}) {
      msgpack_reader r(data);
      CHECK(r.read_str("s") == "hi");
      CHECK(r.remaining() == 0);
    }
  }
  SUBCASE("read_bin keeps NUL and 0xff bytes") {
    const auto body = bytes({0x00, 0xff, 0x00});
    for (const auto& data : {bytes({0xc4, 3}) + body, bytes({0xc5, 0, 3}) + body,
                             bytes({0xc6, 0, 0, 0, 3}) + body}) {
      msgpack_reader r(data);
      CHECK(r.read_bin("b") == body);
      CHECK(r.remaining() == 0);
    }
  }
  SUBCASE("read_array_header") {
    for (const auto& data : {bytes({0x92, 1, 2}), bytes({0xdc, 0, 2, 1, 2}),
                             bytes({0xdd, 0, 0, 0, 2, 1, 2})}) {
      msgpack_reader r(data);
      CHECK(r.read_array_header("a") == 2);
      CHECK(r.remaining() == 2);
    }
  }
  SUBCASE("read_map_header") {
    for (const auto& data : {bytes({0x81, 1, 2}), bytes({0xde, 0, 1, 1, 2}),
                             bytes({0xdf, 0, 0, 0, 1, 1, 2})}) {
      msgpack_reader r(data);
      CHECK(r.read_map_header("m") == 1);
      CHECK(r.remaining() == 2);
    }
  }
}

TEST_CASE("msgpack_reader: SHALL reject a value of the wrong kind, naming the field") {
  const auto a_string = bytes({0xa1, 'x'});
  const auto an_int = bytes({0x01});
  const auto check_field = [](auto read, const std::string& data) {
    msgpack_reader r(data);
    try {
      read(r);
      FAIL("accepted a value of the wrong kind");
    } catch (const decode_error& e) {
      CHECK(e.field() == "the.field");
    }
  };
  check_field([](msgpack_reader& r) { (void)r.read_uint("the.field"); }, a_string);
  check_field([](msgpack_reader& r) { (void)r.read_int("the.field"); }, a_string);
  check_field([](msgpack_reader& r) { (void)r.read_str("the.field"); }, an_int);
  check_field([](msgpack_reader& r) { (void)r.read_bin("the.field"); }, a_string);
  check_field([](msgpack_reader& r) { (void)r.read_array_header("the.field"); }, a_string);
  check_field([](msgpack_reader& r) { (void)r.read_map_header("the.field"); }, an_int);
  check_field([](msgpack_reader& r) { (void)r.read_uint("the.field"); }, std::string());
}

TEST_CASE("msgpack_reader: SHALL reject the never-used type byte 0xc1") {
  CHECK(skip_rejection(bytes({0xc1})) == "value");
  CHECK(skip_rejection(bytes({0x92, 0x01, 0xc1})) == "value");
  CHECK(skip_rejection(bytes({0x81, 0xc1, 0x01})) == "value");
}

TEST_CASE("msgpack_reader: SHALL reject every truncation of a valid nested value") {
  const auto value = nested_value();
  for (std::size_t cut = 0; cut < value.size(); ++cut) {
    INFO("cut at ", cut, " of ", value.size());
    CHECK(skip_rejection(std::string_view(value).substr(0, cut), "cut") == "cut");
    CHECK_THROWS_AS(check_msgpack(std::string_view(value).substr(0, cut)), decode_error);
  }
}

TEST_CASE("msgpack_reader: SHALL reject every truncation of each type family") {
  for (const auto& s : every_family()) {
    for (std::size_t cut = 0; cut < s.value.size(); ++cut) {
      INFO(s.family, " cut at ", cut);
      CHECK(skip_rejection(std::string_view(s.value).substr(0, cut)) == "value");
    }
  }
}

TEST_CASE("msgpack_reader: SHALL accept 64 levels of nesting and reject 65") {
  SUBCASE("arrays") {
    CHECK(skip_rejection(nested_arrays(64)) == "(accepted)");
    const auto too_deep = nested_arrays(65);
    msgpack_reader r(too_deep);
    try {
      (void)r.skip_value("payload");
      FAIL("65 levels accepted");
    } catch (const decode_error& e) {
      CHECK(e.field() == "payload");
      CHECK(std::string(e.what()).find("nested") != std::string::npos);
    }
  }
  SUBCASE("maps") {
    // {nil: {nil: ... {}}}
    const auto maps = [](std::size_t depth) {
      std::string out;
      for (std::size_t i = 1; i < depth; ++i) out += bytes({0x81, 0xc0});
      return out + bytes({0x80});
    };
    CHECK(skip_rejection(maps(64)) == "(accepted)");
    CHECK(skip_rejection(maps(65)) == "value");
  }
  SUBCASE("a deep value inside a map value counts every level") {
    const auto data = bytes({0x81, 0xc0}) + nested_arrays(64);
    CHECK(skip_rejection(data) == "value");
  }
  SUBCASE("a caller-chosen depth") {
    const auto data = nested_arrays(3);
    msgpack_reader shallow(data);
    CHECK_THROWS_AS(shallow.skip_value("v", 2), decode_error);
    msgpack_reader enough(data);
    CHECK(enough.skip_value("v", 3).size() == 3);
  }
  SUBCASE("scalars need no depth") {
    const auto data = bytes({0x01});
    msgpack_reader r(data);
    CHECK(r.skip_value("v", 0).size() == 1);
  }
}

TEST_CASE("msgpack_reader: SHALL name the depth limit it applied in the nesting error") {
  const auto data = nested_arrays(3);
  msgpack_reader r(data);
  try {
    (void)r.skip_value("v", 2);
    FAIL("3 levels accepted with a limit of 2");
  } catch (const decode_error& e) {
    CHECK(std::string(e.what()) == "v: nested deeper than 2 levels");
  }
}

TEST_CASE("msgpack_reader: SHALL reject a container that declares more elements than bytes left") {
  SUBCASE("allocation bombs fail on their header") {
    CHECK(skip_rejection(bytes({0xdd, 0xff, 0x00, 0x00, 0x00})) == "value");  // 4278190080 elements
    CHECK(skip_rejection(bytes({0xdf, 0xff, 0xff, 0xff, 0xff})) == "value");  // 4 billion pairs
    CHECK(skip_rejection(bytes({0xc6, 0xff, 0xff, 0xff, 0xff})) == "value");  // 4 GiB of bin
    CHECK(skip_rejection(bytes({0xdb, 0xff, 0xff, 0xff, 0xff})) == "value");  // 4 GiB of str
    CHECK(skip_rejection(bytes({0xc9, 0xff, 0xff, 0xff, 0xff, 0x01})) == "value");  // ext32
    CHECK(skip_rejection(bytes({0x91, 0xdd, 0xff, 0xff, 0xff, 0xff})) == "value");
  }
  SUBCASE("the headers alone refuse the lie") {
    const auto array32 = bytes({0xdd, 0xff, 0x00, 0x00, 0x00});
    msgpack_reader arrays(array32);
    CHECK_THROWS_AS(arrays.read_array_header("a"), decode_error);
    const auto map32 = bytes({0xdf, 0xff, 0xff, 0xff, 0xff});
    msgpack_reader maps(map32);
    CHECK_THROWS_AS(maps.read_map_header("m"), decode_error);
    const auto bin32 = bytes({0xc6, 0xff, 0xff, 0xff, 0xff});
    msgpack_reader bins(bin32);
    CHECK_THROWS_AS(bins.read_bin("b"), decode_error);
    const auto str32 = bytes({0xdb, 0xff, 0xff, 0xff, 0xff});
    msgpack_reader strs(str32);
    CHECK_THROWS_AS(strs.read_str("s"), decode_error);
  }
  SUBCASE("one element too many") {
    CHECK(skip_rejection(bytes({0x93, 0x01, 0x02})) == "value");
    const auto data = bytes({0x93, 0x01, 0x02});
    msgpack_reader r(data);
    CHECK_THROWS_AS(r.read_array_header("a"), decode_error);
  }
  SUBCASE("a map needs two bytes per pair") {
    const auto data = bytes({0x82, 0x01, 0x02, 0x03});
    msgpack_reader r(data);
    CHECK_THROWS_AS(r.read_map_header("m"), decode_error);
    CHECK(skip_rejection(data) == "value");
  }
  SUBCASE("exactly enough bytes is fine") {
    const auto data = bytes({0x93, 0x01, 0x02, 0x03});
    msgpack_reader r(data);
    CHECK(r.read_array_header("a") == 3);
  }
}

TEST_CASE("msgpack_reader: SHALL make check_msgpack accept exactly one value and nothing after") {
  CHECK_NOTHROW(check_msgpack(bytes({0x01})));
  CHECK_NOTHROW(check_msgpack(msgpack_of(std::vector<int>{1, 2, 3})));
  SUBCASE("trailing bytes") {
    try {
      check_msgpack(bytes({0x01, 0x02}), "body");
      FAIL("trailing bytes accepted");
    } catch (const decode_error& e) {
      CHECK(e.field() == "body");
      CHECK(std::string(e.what()).find("trailing") != std::string::npos);
    }
  }
  SUBCASE("nothing at all") {
    CHECK_THROWS_AS(check_msgpack(std::string_view()), decode_error);
  }
  SUBCASE("the field defaults to payload") {
    try {
      check_msgpack(bytes({0xc1}));
      FAIL("0xc1 accepted");
    } catch (const decode_error& e) {
      CHECK(e.field() == "payload");
    }
  }
}

TEST_CASE("msgpack_reader: SHALL put the field name and the reason in what()") {
  const auto data = bytes({0xa1, 'x'});
  try {
    msgpack_reader r(data);
    (void)r.read_uint("envelope.seq");
    FAIL("a string read as uint");
  } catch (const decode_error& e) {
    CHECK(e.field() == "envelope.seq");
    CHECK(std::string(e.what()).rfind("envelope.seq: ", 0) == 0);
    CHECK(std::string(e.what()).find('\n') == std::string::npos);
  }
}

TEST_CASE("msgpack_reader: SHALL refuse, from its header, a value that cannot fit within a limit, "
          "and tell a value that only needs more bytes") {
  // A stream's first bytes: bin 32 claiming 2 GiB, with a 1 MiB limit.
  const auto huge_bin = bytes({0xc6, 0x7f, 0xff, 0xff, 0xff});
  msgpack_reader r(huge_bin, 1 << 20);
  CHECK_THROWS_WITH_AS(r.skip_value("input"),
                       "input: declares 2147483647 bytes, over the limit of 1048576 for the whole value",
                       decode_error);
  CHECK_FALSE(r.incomplete());
  CHECK(r.over_limit());

  // An array declaring more elements than the limit has bytes.
  const auto huge_array = bytes({0xdd, 0x00, 0x20, 0x00, 0x00, 0x01});
  msgpack_reader a(huge_array, 1 << 20);
  CHECK_THROWS_AS(a.skip_value("input"), decode_error);
  CHECK_FALSE(a.incomplete());
  CHECK(a.over_limit());

  // A str 8 of 10 bytes with 3 here: more bytes would finish it.
  const auto partial = bytes({0xd9, 0x0a, 'a', 'b', 'c'});
  msgpack_reader p(partial, 1 << 20);
  CHECK_THROWS_AS(p.skip_value("input"), decode_error);
  CHECK(p.incomplete());
  CHECK_FALSE(p.over_limit());
  // A header cut short is incomplete too.
  const auto cut_header = bytes({0xc6, 0x00});
  msgpack_reader h(cut_header, 1 << 20);
  CHECK_THROWS_AS(h.skip_value("input"), decode_error);
  CHECK(h.incomplete());

  // An invalid byte is no matter of length.
  const auto invalid = bytes({0xc1});
  msgpack_reader bad(invalid, 1 << 20);
  CHECK_THROWS_AS(bad.skip_value("input"), decode_error);
  CHECK_FALSE(bad.incomplete());
  CHECK_FALSE(bad.over_limit());  // a bigger --max-size would not help

  // Without a limit, a truncated frame reads as it always did.
  msgpack_reader whole(partial);
  CHECK_THROWS_WITH_AS(whole.skip_value("payload"), "payload: truncated: needs 10 bytes, 3 left",
                       decode_error);
}
