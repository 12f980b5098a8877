#include <doctest/doctest.h>

#include <zmqkit/envelope.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "support/transports.hpp"

using zmqkit::decode_error;
using zmqkit::envelope_writer;
using zmqkit::message;

namespace {

using packer = msgpack::packer<msgpack::sbuffer>;

zmq::message_t frame(std::string_view bytes) { return zmq::message_t(bytes.data(), bytes.size()); }

std::string as_string(const zmq::message_t& m) { return m.to_string(); }

message decode(std::string_view topic, std::string_view body) {
  return message::decode(frame(topic), frame(body));
}

// The field a decode_error named, or "(accepted)" if the envelope decoded.
std::string rejected_field(std::string_view body) {
  try {
    (void)decode("t", body);
  } catch (const decode_error& e) {
    return e.field();
  }
  return "(accepted)";
}

// Bytes written by write(packer&), for envelopes built field by field.
template <class Write>
std::string packed_by(Write write) {
  msgpack::sbuffer buf;
  packer pk(buf);
  write(pk);
  return {buf.data(), buf.size()};
}

template <class T>
std::string msgpack_of(const T& value) {
  return packed_by([&](packer& pk) { pk.pack(value); });
}

void pack_producer(packer& pk, std::size_t size = 16) {
  const std::string id(size, '\x2a');
  pk.pack_bin(static_cast<std::uint32_t>(size));
  pk.pack_bin_body(id.data(), static_cast<std::uint32_t>(size));
}

// [1, id, 1, 1000, {}, 42] under an array header declaring `declared`
// elements; a caller appends whatever comes after the sixth.
std::string hand_envelope(std::uint32_t declared = 6) {
  return packed_by([&](packer& pk) {
    pk.pack_array(declared);
    pk.pack(1);
    pack_producer(pk);
    pk.pack(1);
    pk.pack(1000);
    pk.pack_map(0);
    pk.pack(42);
  });
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string an_envelope() {
  envelope_writer w;
  const std::map<std::string, int> payload{{"count", 3}, {"size", 70000}};
  return as_string(w.encode(payload, {{"content-type", "msgpack"}, {"trace", "abc"}}));
}

}  // namespace

TEST_CASE("envelope: SHALL make random producer ids and print them as 32 hex digits") {
  const auto a = zmqkit::make_producer_id();
  const auto b = zmqkit::make_producer_id();
  CHECK(a != b);
  zmqkit::producer_id id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::uint8_t>(i * 17);
  CHECK(zmqkit::to_hex(id) == "00112233445566778899aabbccddeeff");
  CHECK(zmqkit::to_hex(a).size() == 32);
}

TEST_CASE("envelope_writer: SHALL number messages from 1 and use a seq up only on commit") {
  const zmqkit::producer_id id{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  envelope_writer w(id);
  CHECK(w.producer() == id);
  CHECK(w.last_seq() == 0);

  const auto first = decode("t", as_string(w.encode(1)));
  CHECK(first.seq() == 1);
  CHECK(first.producer() == id);

  SUBCASE("encoding again without commit reuses the seq") {
    CHECK(decode("t", as_string(w.encode(1))).seq() == 1);
    CHECK(w.last_seq() == 0);
  }
  SUBCASE("commit moves to the next seq") {
    w.commit();
    CHECK(w.last_seq() == 1);
    CHECK(decode("t", as_string(w.encode(1))).seq() == 2);
  }
}

TEST_CASE("envelope: SHALL round-trip topic, producer, seq, time and headers") {
  envelope_writer w;
  const auto before = now_ns();
  auto body = w.encode(7, {{"k", "v"}, {"content-type", "json"}, {"k", "second"}});
  const auto after = now_ns();
  const auto body_size = body.size();
  const auto m = message::decode(frame("sensors/temp"), std::move(body));

  CHECK(m.topic() == "sensors/temp");
  CHECK(m.producer() == w.producer());
  CHECK(m.seq() == 1);
  CHECK(m.time_ns() >= before);
  CHECK(m.time_ns() <= after);
  CHECK(m.wire_size() == std::string("sensors/temp").size() + body_size);

  REQUIRE(m.header_count() == 3);
  CHECK(m.header(0).first == "k");
  CHECK(m.header(0).second == "v");
  CHECK(m.header(1).first == "content-type");
  CHECK(m.header(1).second == "json");
  CHECK(m.header(2).second == "second");
  CHECK_THROWS_AS((void)m.header(3), std::out_of_range);

  CHECK(m.find_header("k") == std::optional<std::string_view>("v"));  // the first one wins
  CHECK(m.find_header("content-type") == std::optional<std::string_view>("json"));
  CHECK_FALSE(m.find_header("missing").has_value());
}

TEST_CASE("envelope: SHALL round-trip each kind of payload") {
  envelope_writer w;
  SUBCASE("int") {
    const auto m = decode("t", as_string(w.encode(-12345)));
    CHECK(m.payload_as<int>() == -12345);
    CHECK(m.payload_msgpack() == msgpack_of(-12345));
    CHECK_FALSE(m.payload_bytes().has_value());
    CHECK(m.header_count() == 0);
  }
  SUBCASE("std::string packs as str") {
    const auto m = decode("t", as_string(w.encode(std::string("hello"))));
    CHECK(m.payload_as<std::string>() == "hello");
    CHECK(m.payload_bytes() == std::optional<std::string_view>("hello"));
  }
  SUBCASE("std::map") {
    const std::map<std::string, int> payload{{"a", 1}, {"b", -2}};
    const auto m = decode("t", as_string(w.encode(payload)));
    CHECK(m.payload_as<std::map<std::string, int>>() == payload);
    CHECK_FALSE(m.payload_bytes().has_value());
  }
  SUBCASE("binary keeps NUL and 0xff bytes") {
    const std::string raw("a\0b\xff\x00", 5);
    const auto m = decode("t", as_string(w.encode(zmqkit::binary{raw})));
    CHECK(m.payload_bytes() == std::optional<std::string_view>(raw));
    CHECK(static_cast<std::uint8_t>(m.payload_msgpack().front()) == 0xc4);  // bin 8
  }
  SUBCASE("empty binary is empty bytes, not nothing") {
    const auto m = decode("t", as_string(w.encode(zmqkit::binary{})));
    CHECK(m.payload_bytes() == std::optional<std::string_view>(""));
  }
  SUBCASE("packed is written verbatim") {
    const auto value = msgpack_of(std::vector<std::string>{"x", "y"});
    const auto m = decode("t", as_string(w.encode(zmqkit::packed(value))));
    CHECK(m.payload_msgpack() == value);
    CHECK(m.payload_as<std::vector<std::string>>() == std::vector<std::string>{"x", "y"});
  }
  SUBCASE("payload_object gives msgpack-c's view") {
    const auto m = decode("t", as_string(w.encode(std::vector<int>{4, 5})));
    const auto handle = m.payload_object();
    CHECK(handle.get().type == msgpack::type::ARRAY);
    CHECK(handle.get().via.array.size == 2);
  }
}

TEST_CASE("envelope: SHALL throw decode_error on payload_as to a type the payload is not") {
  envelope_writer w;
  const auto m = decode("t", as_string(w.encode(42)));
  try {
    (void)m.payload_as<std::string>();
    FAIL("an int converted to std::string");
  } catch (const decode_error& e) {
    CHECK(e.field() == "payload");
  }
  using string_to_int = std::map<std::string, int>;
  CHECK_THROWS_AS((void)m.payload_as<string_to_int>(), decode_error);
  CHECK_THROWS_AS((void)m.payload_as<std::vector<int>>(), decode_error);
}

TEST_CASE("packed: SHALL refuse bytes that are not exactly one msgpack value") {
  const std::string trailing("\x01\x02", 2);
  const std::string invalid("\xc1", 1);
  const std::string bomb("\xdd\xff\x00\x00\x00", 5);
  for (const auto& bytes : {trailing, invalid, bomb, std::string()}) {
    try {
      zmqkit::packed p(bytes);
      FAIL("packed accepted invalid bytes");
    } catch (const decode_error& e) {
      CHECK(e.field() == "payload");
    }
  }
}

TEST_CASE("envelope: SHALL decode the byte-level example of docs/protocol.md") {
  // The 55 bytes shown in docs/protocol.md, as Python's msgpack writes them.
  const unsigned char example[] = {
      0x96, 0x01, 0xc4, 0x10, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19,
      0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x01, 0xcf, 0x18, 0x7a, 0xfc, 0xa7, 0x67, 0xca,
      0x00, 0x00, 0x81, 0xa6, 0x73, 0x6f, 0x75, 0x72, 0x63, 0x65, 0xa6, 0x73, 0x69, 0x67,
      0x6e, 0x75, 0x70, 0x81, 0xa4, 0x75, 0x73, 0x65, 0x72, 0xa3, 0x61, 0x64, 0x61};
  const auto m = decode("user_registered",
                        std::string_view(reinterpret_cast<const char*>(example), sizeof example));
  CHECK(m.topic() == "user_registered");
  CHECK(zmqkit::to_hex(m.producer()) == "101112131415161718191a1b1c1d1e1f");
  CHECK(m.seq() == 1);
  CHECK(m.time_ns() == 1764000000000000000);
  CHECK(m.find_header("source") == std::optional<std::string_view>("signup"));
  CHECK(m.payload_msgpack().size() == 10);
  CHECK(m.payload_as<std::map<std::string, std::string>>().at("user") == "ada");
}

TEST_CASE("envelope: SHALL accept a hand-built v1 envelope") {
  const auto m = decode("t", hand_envelope());
  CHECK(m.seq() == 1);
  CHECK(m.time_ns() == 1000);
  CHECK(m.payload_as<int>() == 42);
  CHECK(m.producer() == zmqkit::producer_id{42, 42, 42, 42, 42, 42, 42, 42,
                                             42, 42, 42, 42, 42, 42, 42, 42});
}

TEST_CASE("envelope: SHALL reject an envelope that is not a six-element array") {
  CHECK(rejected_field("") == "envelope");
  CHECK(rejected_field(msgpack_of(42)) == "envelope");
  CHECK(rejected_field(msgpack_of(std::map<std::string, int>{{"a", 1}})) == "envelope");
  CHECK(rejected_field(packed_by([](packer& pk) {
          pk.pack_array(5);
          pk.pack(1);
          pack_producer(pk);
          pk.pack(1);
          pk.pack(1000);
          pk.pack_map(0);
        })) == "envelope");
}

TEST_CASE("envelope: SHALL reject a version other than 1") {
  const auto with_version = [](auto version) {
    return packed_by([&](packer& pk) {
      pk.pack_array(6);
      pk.pack(version);
      pack_producer(pk);
      pk.pack(1);
      pk.pack(1000);
      pk.pack_map(0);
      pk.pack(42);
    });
  };
  CHECK(rejected_field(with_version(2)) == "envelope.version");
  CHECK(rejected_field(with_version(0)) == "envelope.version");
  CHECK(rejected_field(with_version(-1)) == "envelope.version");
  CHECK(rejected_field(with_version(std::string("1"))) == "envelope.version");
}

TEST_CASE("envelope: SHALL reject a producer_id that is not 16 bytes of bin") {
  const auto with_producer = [](auto write_producer) {
    return packed_by([&](packer& pk) {
      pk.pack_array(6);
      pk.pack(1);
      write_producer(pk);
      pk.pack(1);
      pk.pack(1000);
      pk.pack_map(0);
      pk.pack(42);
    });
  };
  CHECK(rejected_field(with_producer([](packer& pk) { pack_producer(pk, 15); })) ==
        "envelope.producer_id");
  CHECK(rejected_field(with_producer([](packer& pk) { pack_producer(pk, 17); })) ==
        "envelope.producer_id");
  CHECK(rejected_field(with_producer([](packer& pk) { pack_producer(pk, 0); })) ==
        "envelope.producer_id");
  CHECK(rejected_field(with_producer([](packer& pk) { pk.pack(std::string(16, 'p')); })) ==
        "envelope.producer_id");
  CHECK(rejected_field(with_producer([](packer& pk) { pk.pack_nil(); })) ==
        "envelope.producer_id");
}

TEST_CASE("envelope: SHALL reject a seq that is not a positive integer") {
  const auto with_seq = [](auto write_seq) {
    return packed_by([&](packer& pk) {
      pk.pack_array(6);
      pk.pack(1);
      pack_producer(pk);
      write_seq(pk);
      pk.pack(1000);
      pk.pack_map(0);
      pk.pack(42);
    });
  };
  CHECK(rejected_field(with_seq([](packer& pk) { pk.pack(0); })) == "envelope.seq");
  CHECK(rejected_field(with_seq([](packer& pk) { pk.pack(-1); })) == "envelope.seq");
  CHECK(rejected_field(with_seq([](packer& pk) { pk.pack_int8(-5); })) == "envelope.seq");
  CHECK(rejected_field(with_seq([](packer& pk) { pk.pack_int64(INT64_MIN); })) == "envelope.seq");
  CHECK(rejected_field(with_seq([](packer& pk) { pk.pack(std::string("7")); })) == "envelope.seq");
  CHECK(rejected_field(with_seq([](packer& pk) { pk.pack(1.5); })) == "envelope.seq");

  SUBCASE("but any width of a positive seq is fine") {
    CHECK(decode("t", with_seq([](packer& pk) { pk.pack_int8(5); })).seq() == 5);
    CHECK(decode("t", with_seq([](packer& pk) { pk.pack(UINT64_MAX); })).seq() == UINT64_MAX);
  }
}

TEST_CASE("envelope: SHALL reject a time_ns that is not an int64") {
  const auto with_time = [](auto write_time) {
    return packed_by([&](packer& pk) {
      pk.pack_array(6);
      pk.pack(1);
      pack_producer(pk);
      pk.pack(1);
      write_time(pk);
      pk.pack_map(0);
      pk.pack(42);
    });
  };
  CHECK(rejected_field(with_time([](packer& pk) { pk.pack(std::string("now")); })) ==
        "envelope.time_ns");
  CHECK(rejected_field(with_time([](packer& pk) { pk.pack(std::uint64_t{1} << 63); })) ==
        "envelope.time_ns");
  CHECK(rejected_field(with_time([](packer& pk) { pk.pack_nil(); })) == "envelope.time_ns");

  SUBCASE("a time before 1970 is still a time") {
    CHECK(decode("t", with_time([](packer& pk) { pk.pack(-5); })).time_ns() == -5);
  }
}

TEST_CASE("envelope: SHALL reject headers that are not a map of strings to strings") {
  const auto with_headers = [](auto write_headers) {
    return packed_by([&](packer& pk) {
      pk.pack_array(6);
      pk.pack(1);
      pack_producer(pk);
      pk.pack(1);
      pk.pack(1000);
      write_headers(pk);
      pk.pack(42);
    });
  };
  CHECK(rejected_field(with_headers([](packer& pk) {
          pk.pack_map(1);
          pk.pack(std::string("k"));
          pk.pack(5);
        })) == "envelope.headers");
  CHECK(rejected_field(with_headers([](packer& pk) {
          pk.pack_map(1);
          pk.pack(5);
          pk.pack(std::string("v"));
        })) == "envelope.headers");
  CHECK(rejected_field(with_headers([](packer& pk) {
          pk.pack_map(1);
          pk.pack(std::string("k"));
          pk.pack_bin(1);
          pk.pack_bin_body("v", 1);
        })) == "envelope.headers");
  CHECK(rejected_field(with_headers([](packer& pk) { pk.pack_array(0); })) == "envelope.headers");
  CHECK(rejected_field(with_headers([](packer& pk) { pk.pack_nil(); })) == "envelope.headers");

  SUBCASE("more than max_header_count") {
    const auto many = [&](std::size_t n) {
      return with_headers([n](packer& pk) {
        pk.pack_map(static_cast<std::uint32_t>(n));
        for (std::size_t i = 0; i < n; ++i) {
          pk.pack(std::to_string(i));
          pk.pack(std::string("v"));
        }
      });
    };
    CHECK(decode("t", many(zmqkit::max_header_count)).header_count() == zmqkit::max_header_count);
    try {
      (void)decode("t", many(zmqkit::max_header_count + 1));
      FAIL("1025 headers accepted");
    } catch (const decode_error& e) {
      CHECK(e.field() == "envelope.headers");
      CHECK(std::string(e.what()).find("1025") != std::string::npos);
    }
  }
}

TEST_CASE("envelope: SHALL reject a payload that is missing or not valid msgpack") {
  const auto with_payload = [](const std::string& payload) {
    return packed_by([](packer& pk) {
             pk.pack_array(6);
             pk.pack(1);
             pack_producer(pk);
             pk.pack(1);
             pk.pack(1000);
             pk.pack_map(0);
           }) +
           payload;
  };
  CHECK(rejected_field(with_payload("")) == "payload");
  CHECK(rejected_field(with_payload("\xc1")) == "payload");
  CHECK(rejected_field(with_payload(std::string("\xdd\xff\x00\x00\x00", 5))) == "payload");
  CHECK(rejected_field(with_payload(std::string(65, '\x91'))) == "payload");
  CHECK(rejected_field(with_payload(std::string(63, '\x91') + '\x90')) == "(accepted)");
}

TEST_CASE("envelope: SHALL reject trailing bytes after the envelope array") {
  CHECK(rejected_field(hand_envelope() + '\x00') == "envelope");
  CHECK(rejected_field(an_envelope() + "\xc0\xc0") == "envelope");
}

TEST_CASE("envelope: SHALL accept elements after the sixth and keep the sixth as payload") {
  SUBCASE("7 elements") {
    const auto body = hand_envelope(7) + msgpack_of(std::string("future"));
    const auto m = decode("t", body);
    CHECK(m.payload_as<int>() == 42);
    CHECK(m.payload_msgpack() == msgpack_of(42));
  }
  SUBCASE("8 elements") {
    const auto body = hand_envelope(8) + msgpack_of(std::vector<int>{1, 2}) +
                      msgpack_of(std::map<std::string, std::string>{{"x", "y"}});
    CHECK(decode("t", body).payload_as<int>() == 42);
  }
  SUBCASE("but the future fields must still be valid msgpack") {
    CHECK(rejected_field(hand_envelope(7) + "\xc1") == "envelope");
    CHECK(rejected_field(hand_envelope(8) + msgpack_of(1)) == "envelope");
  }
}

TEST_CASE("envelope: SHALL refuse a body larger than max_size before parsing it") {
  const auto body = an_envelope();
  CHECK_NOTHROW((void)message::decode(frame("t"), frame(body), body.size()));
  try {
    (void)message::decode(frame("t"), frame(body), body.size() - 1);
    FAIL("oversized body accepted");
  } catch (const decode_error& e) {
    CHECK(e.field() == "envelope");
  }
  SUBCASE("even when it is garbage") {
    CHECK_THROWS_AS((void)message::decode(frame("t"), frame("\xc1\xc1\xc1"), 2), decode_error);
  }
}

TEST_CASE("envelope: SHALL add at most envelope_overhead bytes around a str or bin payload") {
  // seq 1 takes one byte here, where a seq past 2^32 takes nine: 8 more at most.
  constexpr std::size_t seq_room = 8;
  for (const std::size_t n : {std::size_t{0}, std::size_t{31}, std::size_t{255}, std::size_t{65535},
                              std::size_t{65536}, std::size_t{1} << 20}) {
    const std::string bytes(n, 'x');
    envelope_writer w;
    CHECK(w.encode(zmqkit::binary{bytes}).size() + seq_room <= n + zmqkit::envelope_overhead);
    CHECK(w.encode(bytes).size() + seq_room <= n + zmqkit::envelope_overhead);
  }
  // The bound is reached: a bin 32 payload, a seq of nine bytes.
  envelope_writer w;
  CHECK(w.encode(zmqkit::binary{std::string(65536, 'x')}).size() + seq_room ==
        65536 + zmqkit::envelope_overhead);
}

TEST_CASE("envelope: SHALL refuse a topic longer than max_topic_size") {
  const auto body = an_envelope();
  const std::string longest(zmqkit::max_topic_size, 't');
  CHECK(decode(longest, body).topic().size() == zmqkit::max_topic_size);
  try {
    (void)decode(longest + "t", body);
    FAIL("a 65536-byte topic accepted");
  } catch (const decode_error& e) {
    CHECK(e.field() == "topic");
  }
}

TEST_CASE("envelope: SHALL accept an empty topic and a topic with any bytes") {
  const auto body = an_envelope();
  CHECK(decode("", body).topic().empty());
  const std::string odd("\x00\xff/a", 4);
  CHECK(decode(odd, body).topic() == odd);
}

TEST_CASE("message: SHALL keep its views valid after it is moved") {
  // A 1-byte topic and a ~32-byte body fit in zmq::message_t's inline
  // storage, so their bytes move with the object.
  envelope_writer w;
  std::vector<message> moved;
  for (int i = 0; i < 8; ++i) {
    auto body = w.encode(i, {{"h", "v"}});
    w.commit();
    auto m = message::decode(frame("t"), std::move(body));
    moved.push_back(std::move(m));  // the vector grows: earlier messages move again
  }
  for (int i = 0; i < 8; ++i) {
    const auto& m = moved[static_cast<std::size_t>(i)];
    CHECK(m.topic() == "t");
    CHECK(m.seq() == static_cast<std::uint64_t>(i + 1));
    CHECK(m.payload_as<int>() == i);
    CHECK(m.payload_msgpack() == msgpack_of(i));
    CHECK(m.find_header("h") == std::optional<std::string_view>("v"));
  }

  SUBCASE("move assignment too") {
    message target = std::move(moved.front());
    target = std::move(moved.back());
    CHECK(target.seq() == 8);
    CHECK(target.payload_as<int>() == 7);
    CHECK(target.topic() == "t");
  }
}

TEST_CASE("envelope: SHALL reject every truncation of a valid envelope with decode_error") {
  const auto body = an_envelope();
  for (std::size_t cut = 0; cut < body.size(); ++cut) {
    INFO("cut at ", cut, " of ", body.size());
    CHECK_THROWS_AS((void)decode("t", std::string_view(body).substr(0, cut)), decode_error);
  }
  CHECK_NOTHROW((void)decode("t", body));
}

TEST_CASE("envelope: SHALL either decode or throw decode_error for randomly corrupted bytes") {
  envelope_writer w;
  const std::map<std::string, std::vector<int>> payload{{"a", {1, 300, -70000}}, {"b", {}}};
  const auto original = as_string(w.encode(payload, {{"k", "v"}, {"trace", "xyz"}}));

  std::mt19937 rng(20240611);
  std::uniform_int_distribution<std::size_t> position(0, original.size() - 1);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> flips(1, 4);
  std::uniform_int_distribution<std::size_t> length(0, original.size() + 8);

  const int iterations = 20000;
  int accepted = 0;
  int rejected = 0;
  for (int i = 0; i < iterations; ++i) {
    auto body = original;
    for (int k = flips(rng); k > 0; --k) body[position(rng)] = static_cast<char>(byte(rng));
    if (i % 4 == 0) body.resize(length(rng), '\xc0');  // shorter, or padded past the end
    try {
      const auto m = decode("t", body);
      // Whatever decoded is safe to look at.
      (void)m.payload_bytes();
      (void)m.payload_object();
      for (std::size_t h = 0; h < m.header_count(); ++h) (void)m.header(h);
      ++accepted;
    } catch (const decode_error&) {
      ++rejected;
    }
    // Any other exception escapes and fails the test.
  }
  CHECK(accepted + rejected == iterations);
  CHECK(accepted > 0);
  CHECK(rejected > 0);
}

TEST_CASE("send_message: SHALL carry a message over every transport") {
  for (auto t : zmqkit::test::all_transports()) {
    INFO(zmqkit::test::name(t));
    zmq::context_t ctx;
    zmq::socket_t in(ctx, zmq::socket_type::pair);
    zmq::socket_t out(ctx, zmq::socket_type::pair);
    for (auto* s : {&in, &out}) {
      s->set(zmq::sockopt::linger, 0);
      s->set(zmq::sockopt::rcvtimeo, 10000);  // a deadline, should anything go wrong
      s->set(zmq::sockopt::sndtimeo, 10000);
    }
    in.bind(zmqkit::test::bind_address(t));
    out.connect(in.get(zmq::sockopt::last_endpoint));

    envelope_writer w;
    auto body = w.encode(std::string("over the wire"), {{"k", "v"}});
    REQUIRE(zmqkit::send_message(out, "news", body));
    const auto m = zmqkit::receive_message(in);
    REQUIRE(m.has_value());
    CHECK(m->topic() == "news");
    CHECK(m->payload_as<std::string>() == "over the wire");
    CHECK(m->find_header("k") == std::optional<std::string_view>("v"));
    CHECK(m->producer() == w.producer());
  }
}

TEST_CASE("receive_message: SHALL report a message without two frames and stay usable") {
  zmq::context_t ctx;
  zmq::socket_t in(ctx, zmq::socket_type::pair);
  zmq::socket_t out(ctx, zmq::socket_type::pair);
  in.set(zmq::sockopt::rcvtimeo, 10000);
  const auto address = zmqkit::test::bind_address(zmqkit::test::transport::inproc);
  in.bind(address);
  out.connect(address);

  const auto receive_field = [&] {
    try {
      (void)zmqkit::receive_message(in);
    } catch (const decode_error& e) {
      return e.field();
    }
    return std::string("(accepted)");
  };
  const auto send_good = [&](int value) {
    envelope_writer w;
    auto body = w.encode(value);
    REQUIRE(zmqkit::send_message(out, "good", body));
  };

  SUBCASE("one frame") {
    (void)out.send(zmq::str_buffer("lonely"), zmq::send_flags::none);
    send_good(1);
    CHECK(receive_field() == "frames");
    const auto m = zmqkit::receive_message(in);
    REQUIRE(m.has_value());
    CHECK(m->payload_as<int>() == 1);
  }
  SUBCASE("a third frame that is not a journal position") {
    (void)out.send(zmq::str_buffer("topic"), zmq::send_flags::sndmore);
    (void)out.send(zmq::str_buffer("body"), zmq::send_flags::sndmore);
    (void)out.send(zmq::str_buffer("extra"), zmq::send_flags::none);
    send_good(3);
    CHECK(receive_field() == "position");
    const auto m = zmqkit::receive_message(in);
    REQUIRE(m.has_value());
    CHECK(m->topic() == "good");
    CHECK(m->payload_as<int>() == 3);
  }
  SUBCASE("four frames") {
    for (const char* f : {"a", "b", "c"}) (void)out.send(zmq::buffer(std::string_view(f)), zmq::send_flags::sndmore);
    (void)out.send(zmq::str_buffer("d"), zmq::send_flags::none);
    send_good(6);
    CHECK(receive_field() == "frames");
    const auto m = zmqkit::receive_message(in);
    REQUIRE(m.has_value());
    CHECK(m->payload_as<int>() == 6);
    CHECK_FALSE(m->position());
  }
  SUBCASE("a forwarder's third frame") {
    zmqkit::journal_position pos;
    pos.journal[0] = 0xab;
    pos.fseq = 123456789;
    pos.stored_ns = 1'700'000'000'000'000'000;
    pos.last_fseq = 123456800;
    envelope_writer w;
    auto body = w.encode(7);
    const std::string third = zmqkit::encode_position(pos);
    (void)out.send(zmq::str_buffer("fwd"), zmq::send_flags::sndmore);
    (void)out.send(body, zmq::send_flags::sndmore);
    (void)out.send(zmq::buffer(third), zmq::send_flags::none);
    const auto m = zmqkit::receive_message(in);
    REQUIRE(m.has_value());
    CHECK(m->payload_as<int>() == 7);
    REQUIRE(m->position());
    CHECK(m->position()->fseq == 123456789);
    CHECK(m->position()->journal == pos.journal);
    CHECK(m->position()->stored_ns == pos.stored_ns);
    CHECK(m->position()->backlog() == 11);
  }
  SUBCASE("two frames of garbage") {
    (void)out.send(zmq::str_buffer("topic"), zmq::send_flags::sndmore);
    (void)out.send(zmq::str_buffer("\xc1"), zmq::send_flags::none);
    send_good(2);
    CHECK(receive_field() == "envelope");
    const auto m = zmqkit::receive_message(in);
    REQUIRE(m.has_value());
    CHECK(m->payload_as<int>() == 2);
  }
  SUBCASE("a body over max_size") {
    send_good(4);
    send_good(5);
    CHECK_THROWS_AS((void)zmqkit::receive_message(in, zmq::recv_flags::none, 4), decode_error);
    const auto m = zmqkit::receive_message(in);
    REQUIRE(m.has_value());
    CHECK(m->payload_as<int>() == 5);
  }
}

TEST_CASE("decode_position: SHALL read 2 elements, 4 with stored time and last fseq, and skip more") {
  const auto encode = [](std::uint32_t n) {
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    pk.pack_array(n);
    const std::string id(16, '\x07');
    pk.pack_bin(16);
    pk.pack_bin_body(id.data(), 16);
    pk.pack(42u);
    if (n >= 3) pk.pack(std::int64_t{123});
    if (n >= 4) pk.pack(50u);
    for (std::uint32_t i = 4; i < n; ++i) pk.pack(std::map<std::string, int>{{"later", 1}});
    return std::string(buf.data(), buf.size());
  };
  const auto two = zmqkit::decode_position(encode(2));
  CHECK(two.fseq == 42);
  CHECK(two.stored_ns == 0);
  const auto three = zmqkit::decode_position(encode(3));
  CHECK(three.stored_ns == 123);
  CHECK(three.last_fseq == 0);
  CHECK(three.backlog() == 0);
  const auto five = zmqkit::decode_position(encode(5));
  CHECK(five.fseq == 42);
  CHECK(five.stored_ns == 123);
  CHECK(five.last_fseq == 50);
  CHECK(five.backlog() == 8);
  for (const auto& bad : {encode(1), encode(3) + "x", std::string("\x93")})
    CHECK_THROWS_AS((void)zmqkit::decode_position(bad), decode_error);
}

TEST_CASE("receive_message: SHALL return nullopt when nothing arrives in time") {
  zmq::context_t ctx;
  zmq::socket_t in(ctx, zmq::socket_type::pull);
  in.bind(zmqkit::test::bind_address(zmqkit::test::transport::inproc));
  CHECK_FALSE(zmqkit::receive_message(in, zmq::recv_flags::dontwait).has_value());
  in.set(zmq::sockopt::rcvtimeo, 0);
  CHECK_FALSE(zmqkit::receive_message(in).has_value());
}

TEST_CASE("send_message: SHALL return false when the message cannot be queued without blocking") {
  zmq::context_t ctx;
  zmq::socket_t out(ctx, zmq::socket_type::push);
  out.set(zmq::sockopt::linger, 0);
  out.bind(zmqkit::test::bind_address(zmqkit::test::transport::inproc));  // no peer
  envelope_writer w;
  auto body = w.encode(1);
  CHECK_FALSE(zmqkit::send_message(out, "t", body, zmq::send_flags::dontwait));
}
