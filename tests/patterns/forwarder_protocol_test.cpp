// The forwarder's protocol codec (patterns/src/forwarder_protocol.hpp)
// against docs/protocol.md: each frame and command encoded as the spec
// writes it, decoded back, and malformed ones refused. No sockets: the
// frames a peer would receive are copied out of the encoder's message.
#include "forwarder_protocol.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <climits>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <msgpack.hpp>

namespace protocol = zmqkit::protocol;
using zmqkit::decode_error;
using zmqkit::producer_id;
using zmqkit::replay_start;

namespace {

using strings = std::vector<std::string>;

protocol::frames received(std::initializer_list<std::string_view> frames) {
  protocol::frames out;
  for (const auto f : frames) out.emplace_back(f.data(), f.size());
  return out;
}

// What the peer gets: a copy of each frame.
protocol::frames received(const protocol::outgoing& m) {
  protocol::frames out;
  for (std::size_t i = 0; i < m.size(); ++i) out.emplace_back(m[i].data(), m[i].size());
  return out;
}

strings as_strings(const protocol::outgoing& m) {
  strings out;
  for (std::size_t i = 0; i < m.size(); ++i) out.emplace_back(m[i]);
  return out;
}

producer_id id_of(char first) {
  producer_id id;
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::uint8_t>(first + i);
  return id;
}

std::string raw(const producer_id& id) { return std::string(protocol::sender_bytes(id)); }

template <class... T>
std::string packed(const T&... values) {
  msgpack::sbuffer b;
  (msgpack::pack(b, values), ...);
  return std::string(b.data(), b.size());
}

std::string bin16(const producer_id& id) { return "\xc4\x10" + raw(id); }

std::string field_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const decode_error& e) {
    return e.field();
  }
  return "(accepted)";
}

}  // namespace

TEST_CASE("forwarder_protocol: SHALL write seq, fseq and n as the shortest msgpack uint and read any encoding") {
  CHECK(protocol::encode_uint(1) == "\x01");
  CHECK(protocol::encode_uint(1000) == "\xcd\x03\xe8");
  CHECK(protocol::encode_uint(UINT64_MAX) == std::string("\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 9));
  for (const std::uint64_t v : {std::uint64_t{0}, std::uint64_t{127}, std::uint64_t{128}, std::uint64_t{65536},
                                std::uint64_t{1} << 40, UINT64_MAX})
    CHECK(protocol::decode_uint(protocol::encode_uint(v)) == v);
  CHECK(protocol::decode_uint(std::string("\xcc\x01", 2)) == 1u);
  CHECK(protocol::decode_uint(std::string("\xcf\0\0\0\0\0\0\0\x07", 9)) == 7u);
  CHECK(protocol::decode_uint(std::string("\xd0\x05", 2)) == 5u);  // int 8, not negative

  SUBCASE("and refuse anything else") {
    for (const std::string& bad : strings{"", "\xc0", "\xff", "\x01\x01", "\xa1" "1", "\xcd\x03", "\x91\x01"})
      CHECK_FALSE(protocol::decode_uint(bad).has_value());
  }
}

TEST_CASE("forwarder_protocol: SHALL write the key as [id, seq] or [id, seq, first] and read it back") {
  const auto id = id_of('a');
  CHECK(protocol::encode_key({{id, 7}}) == "\x92" + bin16(id) + "\x07");
  CHECK(protocol::encode_key({{id, 5}, 2}) == "\x93" + bin16(id) + "\x05\x02");

  const auto two = protocol::decode_key(protocol::encode_key({{id, 7}}));
  REQUIRE(two);
  CHECK(two->key.sender == id);
  CHECK(two->key.seq == 7);
  CHECK(two->first == 0);
  const auto three = protocol::decode_key(protocol::encode_key({{id, 1000}, 1000}));
  REQUIRE(three);
  CHECK(three->key.seq == 1000);
  CHECK(three->first == 1000);  // first may equal seq

  // Any integer encoding of seq and first.
  const auto wide = protocol::decode_key("\x93" + bin16(id) + std::string("\xcd\x00\x09\xcc\x03", 5));
  REQUIRE(wide);
  CHECK(wide->key.seq == 9);
  CHECK(wide->first == 3);
}

TEST_CASE("forwarder_protocol: SHALL skip the key's elements after the third") {
  const auto id = id_of('a');
  const auto k = protocol::decode_key("\x95" + bin16(id) + "\x05\x02" + "\xc0" + packed(std::string("later")));
  REQUIRE(k);
  CHECK(k->key.seq == 5);
  CHECK(k->first == 2);
  // Skipped, yet checked: a fourth element that is not a whole value is refused.
  CHECK_FALSE(protocol::decode_key("\x94" + bin16(id) + "\x05\x02" + "\xa5" "ab").has_value());
}

TEST_CASE("forwarder_protocol: SHALL refuse a key whose first is 0 or above seq, or that is not a key") {
  const auto id = id_of('a');
  const std::string zero(1, '\0');
  CHECK_FALSE(protocol::decode_key("\x93" + bin16(id) + "\x05" + zero).has_value());  // first 0
  CHECK_FALSE(protocol::decode_key("\x93" + bin16(id) + "\x05\x06").has_value());  // first > seq
  CHECK_FALSE(protocol::decode_key("\x94" + bin16(id) + "\x05" + zero + "\xc0").has_value());
  CHECK_FALSE(protocol::decode_key("\x92" + bin16(id) + zero).has_value());  // seq 0
  CHECK_FALSE(protocol::decode_key("\x91" + bin16(id)).has_value());
  CHECK_FALSE(protocol::decode_key("\x92\xc4\x0f" + raw(id).substr(1) + "\x05").has_value());  // 15-byte id
  CHECK_FALSE(protocol::decode_key("\x92\xb0" + raw(id) + "\x05").has_value());  // str, not bin
  CHECK_FALSE(protocol::decode_key("\x92" + bin16(id) + "\xff").has_value());    // negative seq
  CHECK_FALSE(protocol::decode_key("\x92" + bin16(id) + "\x05\x05").has_value());  // trailing bytes
  CHECK_FALSE(protocol::decode_key("\x93" + bin16(id) + "\x05").has_value());      // cut short
  CHECK_FALSE(protocol::decode_key("").has_value());
  CHECK_FALSE(protocol::decode_key("bad key").has_value());
}

TEST_CASE("forwarder_protocol: SHALL write prefixes as bin and read str or bin, at most 1 024") {
  const strings p{"orders.", "", std::string("\0\xff", 2)};
  CHECK(protocol::encode_prefixes({}) == "\x90");
  CHECK(protocol::encode_prefixes({"ab"}) == "\x91\xc4\x02" "ab");
  CHECK(protocol::decode_prefixes(protocol::encode_prefixes(p)) == p);
  CHECK(protocol::decode_prefixes(packed(strings{"a", "bc"})) == strings{"a", "bc"});  // str
  CHECK(protocol::decode_prefixes(protocol::encode_prefixes(strings(1024, "x"))).has_value());

  SUBCASE("and refuse anything else") {
    CHECK_FALSE(protocol::decode_prefixes(protocol::encode_prefixes(strings(1025, "x"))).has_value());
    CHECK_FALSE(protocol::decode_prefixes(protocol::encode_prefixes({std::string(65536, 'x')})).has_value());
    CHECK_FALSE(protocol::decode_prefixes("\x91\x01").has_value());  // an int
    CHECK_FALSE(protocol::decode_prefixes("\x91\x91\xa1" "a").has_value());  // nested
    CHECK_FALSE(protocol::decode_prefixes("\xa1" "a").has_value());  // not an array
    CHECK_FALSE(protocol::decode_prefixes("\x92\xa1" "a").has_value());  // cut short
    CHECK_FALSE(protocol::decode_prefixes("").has_value());
  }
}

TEST_CASE("forwarder_protocol: SHALL encode and decode a replay start in one place") {
  const auto at_ns = [](std::int64_t ns) {
    return replay_start::at(std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(ns))));
  };
  CHECK(protocol::encode_start(replay_start::first()) == "first");
  CHECK(protocol::encode_start(replay_start::only_new()) == "new");
  CHECK(protocol::encode_start(replay_start::resume()) == "resume");
  CHECK(protocol::encode_start(replay_start::at(std::uint64_t{42})) == "fseq:42");
  CHECK(protocol::encode_start(at_ns(1764000000000000000)) == "time:1764000000000000000");
  CHECK(replay_start::at(std::uint64_t{42}).to_wire() == "fseq:42");  // the public name for it
  CHECK_THROWS_AS((void)protocol::encode_start(at_ns(-1)), std::invalid_argument);

  for (const std::string wire : {"first", "new", "resume", "fseq:0", "fseq:42", "fseq:9999999999999999999",
                                 "time:0", "time:1764000000000000000", "time:9223372036854775807"}) {
    const auto s = protocol::decode_start(wire);
    REQUIRE_MESSAGE(s, wire);
    CHECK(protocol::encode_start(*s) == wire);
  }
  const auto fseq = protocol::decode_start("fseq:0042");
  REQUIRE(fseq);
  CHECK(fseq->what == replay_start::kind::fseq);
  CHECK(fseq->fseq == 42);
  const auto time = protocol::decode_start("time:1764000000000000000");
  REQUIRE(time);
  CHECK(time->what == replay_start::kind::time);
  CHECK(time->time == at_ns(1764000000000000000).time);
  // 19 digits reach past INT64_MAX: read as the end of time.
  const auto end = protocol::decode_start("time:9999999999999999999");
  REQUIRE(end);
  CHECK(protocol::encode_start(*end) == "time:9223372036854775807");

  SUBCASE("and refuse anything else") {
    for (const std::string& bad : strings{"", "FIRST", "first ", "newer", "fseq:", "fseq:x", "fseq:-1", "fseq: 1",
                                          "fseq:1.5", "fseq:10000000000000000000", "time:", "time:-1",
                                          "time:1e9", "at:5", std::string("fseq:1\0", 7)})
      CHECK_MESSAGE(!protocol::decode_start(bad).has_value(), bad);
  }
}

TEST_CASE("forwarder_protocol: SHALL frame PUB with an optional key and take its topic and envelope") {
  const auto id = id_of('a');
  CHECK(as_strings(protocol::encode_pub("orders", zmq::message_t("env", 3))) == strings{"PUB", "orders", "env"});
  CHECK(as_strings(protocol::encode_pub("orders", zmq::message_t("env", 3), protocol::pub_key{{id, 5}, 2})) ==
        strings{"PUB", "orders", "env", protocol::encode_key({{id, 5}, 2})});

  auto f = received(protocol::encode_pub("orders", zmq::message_t("env", 3), protocol::pub_key{{id, 5}, 2}));
  const auto p = protocol::decode_pub(f);
  REQUIRE(p);
  CHECK(p->topic.to_string() == "orders");
  CHECK(p->envelope.to_string() == "env");
  REQUIRE(p->key);
  CHECK(p->key->key.sender == id);
  CHECK(p->key->key.seq == 5);
  CHECK(p->key->first == 2);
  auto unkeyed = received({"PUB", "t", "e"});
  const auto q = protocol::decode_pub(unkeyed);
  REQUIRE(q);
  CHECK_FALSE(q->key);

  SUBCASE("and refuse what is not a PUB (answered NACK BAD_FRAME)") {
    const auto refused = [](std::initializer_list<std::string_view> frames) {
      auto f = received(frames);
      return !protocol::decode_pub(f).has_value();
    };
    CHECK(refused({"PUB", "t"}));
    CHECK(refused({"PUB"}));
    CHECK(refused({"SUB", "t", "e"}));
    CHECK(refused({"pub", "t", "e"}));
    CHECK(refused({"PUB", "t", "e", "bad key"}));
    CHECK(refused({"PUB", "t", "e", protocol::encode_key({{id, 5}}), "fifth"}));
    protocol::frames none;
    CHECK_FALSE(protocol::decode_pub(none).has_value());
  }
}

TEST_CASE("forwarder_protocol: SHALL frame the intake's ACK and NACK with the raw sender id") {
  const auto id = id_of('a');
  CHECK(as_strings(protocol::encode_ack(raw(id), 3)) == strings{"ACK", raw(id), "\x03"});
  CHECK(as_strings(protocol::encode_nack(protocol::reason::too_big, raw(id), 1000)) ==
        strings{"NACK", "TOO_BIG", raw(id), "\xcd\x03\xe8"});
  // Not attributed: an empty sender and seq 0.
  CHECK(as_strings(protocol::encode_nack(protocol::reason::bad_frame, "", 0)) ==
        strings{"NACK", "BAD_FRAME", "", std::string(1, '\0')});

  const auto acked = received(protocol::encode_ack(raw(id), 1u << 20));  // the views point into it
  const auto ack = protocol::decode_ack(acked);
  REQUIRE(ack);
  CHECK(ack->sender == raw(id));
  CHECK(ack->seq == (1u << 20));
  const auto nacked = received(protocol::encode_nack(protocol::reason::full, raw(id), 9));
  const auto nack = protocol::decode_nack(nacked);
  REQUIRE(nack);
  CHECK(nack->reason == "FULL");
  CHECK(nack->sender == raw(id));
  CHECK(nack->seq == 9);
  // A sender of any length is passed on: it simply names no stream of ours.
  CHECK(protocol::decode_ack(received({"ACK", "someone else", "\x01"})).has_value());

  SUBCASE("and refuse malformed ones") {
    CHECK_FALSE(protocol::decode_ack(received({"ACK", raw(id)})).has_value());
    CHECK_FALSE(protocol::decode_ack(received({"ACK", raw(id), "\x01", "x"})).has_value());
    CHECK_FALSE(protocol::decode_ack(received({"ACK", raw(id), "\xc0"})).has_value());
    CHECK_FALSE(protocol::decode_ack(received({"NACK", raw(id), "\x01"})).has_value());
    CHECK_FALSE(protocol::decode_ack(received({"ACK", "\x01"})).has_value());  // a subscriber's ACK
    CHECK_FALSE(protocol::decode_nack(received({"NACK", "FULL", raw(id)})).has_value());
    CHECK_FALSE(protocol::decode_nack(received({"NACK", "FULL", raw(id), "\xc0"})).has_value());
    CHECK_FALSE(protocol::decode_nack(received({"ACK", "FULL", raw(id), "\x01"})).has_value());
  }
}

TEST_CASE("forwarder_protocol: SHALL frame SUB and refuse a bad one with the reason ERR gives") {
  const strings prefixes{"orders."};
  CHECK(as_strings(protocol::encode_sub("audit", {}, replay_start::first())) == strings{"SUB", "audit", "\x90", "first"});
  const auto d = protocol::decode_sub(received(protocol::encode_sub("audit", prefixes, replay_start::at(std::uint64_t{5}))));
  REQUIRE(d.sub);
  CHECK(d.refused.empty());
  CHECK(d.sub->name == "audit");
  CHECK(d.sub->prefixes == prefixes);
  CHECK(d.sub->start.what == replay_start::kind::fseq);
  CHECK(d.sub->start.fseq == 5);
  const auto unnamed = protocol::decode_sub(received({"SUB", "", "\x90", "new"}));
  REQUIRE(unnamed.sub);
  CHECK(unnamed.sub->name.empty());
  CHECK(unnamed.sub->start.what == replay_start::kind::only_new);
  CHECK(protocol::decode_sub(received({"SUB", std::string(128, 'n'), "\x90", "new"})).sub.has_value());

  const auto refused = [](std::initializer_list<std::string_view> f) {
    const auto r = protocol::decode_sub(received(f));
    CHECK_FALSE(r.sub.has_value());
    return std::string(r.refused);
  };
  CHECK(refused({"SUB", "audit", "\x90"}) == "BAD_FRAME");
  CHECK(refused({"SUB", "audit", "\x90", "first", "x"}) == "BAD_FRAME");
  CHECK(refused({"SUB", "bad name!", "\x90", "first"}) == "BAD_NAME");
  CHECK(refused({"SUB", std::string(129, 'n'), "\x90", "first"}) == "BAD_NAME");
  CHECK(refused({"SUB", ".hidden", "\x90", "first"}) == "BAD_NAME");
  CHECK(refused({"SUB", "x.tmp", "\x90", "first"}) == "BAD_NAME");
  CHECK(refused({"SUB", "ok", "\x01", "first"}) == "BAD_PREFIXES");
  CHECK(refused({"SUB", "ok", "\x90", "fseq:x"}) == "BAD_START");
  // Checked in that order.
  CHECK(refused({"SUB", "bad name!", "\x01", "fseq:x"}) == "BAD_NAME");
  CHECK(refused({"SUB", "ok", "\x01", "fseq:x"}) == "BAD_PREFIXES");
  CHECK_THROWS_AS((void)protocol::encode_sub("a", {}, replay_start::at(std::chrono::system_clock::time_point(
                                                          std::chrono::seconds(-1)))),
                  std::invalid_argument);
}

TEST_CASE("forwarder_protocol: SHALL frame CREDIT, a subscriber's ACK and NACK, PING and BYE") {
  CHECK(as_strings(protocol::encode_credit(10)) == strings{"CREDIT", "\x0a"});
  CHECK(as_strings(protocol::encode_replay_ack(1500)) == strings{"ACK", "\xcd\x05\xdc"});
  CHECK(as_strings(protocol::encode_replay_nack(9)) == strings{"NACK", "\x09"});
  CHECK(as_strings(protocol::encode_ping()) == strings{"PING"});
  CHECK(as_strings(protocol::encode_bye()) == strings{"BYE"});

  CHECK(protocol::decode_credit(received(protocol::encode_credit(1u << 20))) == (1u << 20));
  CHECK(protocol::decode_replay_ack(received(protocol::encode_replay_ack(1500))) == 1500u);
  CHECK(protocol::decode_replay_nack(received(protocol::encode_replay_nack(9))) == 9u);
  CHECK(protocol::decode_ping(received(protocol::encode_ping())));
  CHECK(protocol::decode_bye(received(protocol::encode_bye())));

  SUBCASE("and refuse malformed ones") {
    CHECK_FALSE(protocol::decode_credit(received({"CREDIT"})).has_value());
    CHECK_FALSE(protocol::decode_credit(received({"CREDIT", "\x01", "\x01"})).has_value());
    CHECK_FALSE(protocol::decode_credit(received({"CREDIT", "ten"})).has_value());
    CHECK_FALSE(protocol::decode_credit(received({"ACK", "\x01"})).has_value());
    CHECK_FALSE(protocol::decode_replay_ack(received({"ACK", "id", "\x01"})).has_value());  // the intake's ACK
    CHECK_FALSE(protocol::decode_replay_ack(received({"ACK", "\xff"})).has_value());
    CHECK_FALSE(protocol::decode_replay_nack(received({"NACK", "FULL", "", "\x01"})).has_value());
    CHECK_FALSE(protocol::decode_replay_nack(received({"NACK"})).has_value());
    CHECK_FALSE(protocol::decode_ping(received({"PING", "\x01"})));
    CHECK_FALSE(protocol::decode_ping(received({"BYE"})));
    CHECK_FALSE(protocol::decode_bye(received({"BYE", ""})));
    CHECK_FALSE(protocol::decode_bye(protocol::frames{}));
  }
}

TEST_CASE("forwarder_protocol: SHALL frame MSG with its position, and throw decode_error on a bad one") {
  const zmqkit::journal_position pos{id_of('j'), 42, 1764000000000000000, 50};
  CHECK(as_strings(protocol::encode_msg("t", "env", pos)) == strings{"MSG", "t", "env", zmqkit::encode_position(pos)});
  auto f = received(protocol::encode_msg("t", "env", pos));
  const auto d = protocol::decode_msg(f);
  CHECK(d.topic.to_string() == "t");
  CHECK(d.envelope.to_string() == "env");  // not decoded here
  CHECK(d.position.journal == pos.journal);
  CHECK(d.position.fseq == 42);
  CHECK(d.position.stored_ns == pos.stored_ns);
  CHECK(d.position.last_fseq == 50);

  auto three = received({"MSG", "t", "env"});
  CHECK(field_of([&] { (void)protocol::decode_msg(three); }) == "frames");
  auto five = received({"MSG", "t", "env", zmqkit::encode_position(pos), "x"});
  CHECK(field_of([&] { (void)protocol::decode_msg(five); }) == "frames");
  auto bad_position = received({"MSG", "t", "env", "\x92\xc4\x01"});
  CHECK(field_of([&] { (void)protocol::decode_msg(bad_position); }).rfind("position", 0) == 0);
}

TEST_CASE("forwarder_protocol: SHALL frame ERR, and throw decode_error on one of other than two frames") {
  CHECK(as_strings(protocol::encode_err(protocol::reason::unknown)) == strings{"ERR", "UNKNOWN"});
  CHECK(protocol::decode_err(received(protocol::encode_err("BAD_START"))) == "BAD_START");
  CHECK(field_of([] { (void)protocol::decode_err(received({"ERR"})); }) == "ERR");
  CHECK(field_of([] { (void)protocol::decode_err(received({"ERR", "UNKNOWN", "extra"})); }) == "ERR");
}

TEST_CASE("forwarder_protocol: SHALL send live messages as topic, envelope and position") {
  const zmqkit::journal_position pos{id_of('j'), 7, 1, 7};
  CHECK(as_strings(protocol::encode_live("t", "env", pos)) == strings{"t", "env", zmqkit::encode_position(pos)});
}

TEST_CASE("forwarder_protocol: SHALL read a control request of one frame and answer STATISTICS in little-endian") {
  CHECK(protocol::decode_control(received({"STATS"}), false) == "STATS");
  CHECK(protocol::decode_control(received({"STATS"}), true).empty());
  CHECK(protocol::decode_control(received({"PAUSE", "two frames"}), false).empty());
  CHECK(protocol::encode_control_unknown("NONSENSE") == "ERROR unknown command: NONSENSE");
  CHECK(protocol::encode_control_unknown(std::string(100, 'x')) == "ERROR unknown command: " + std::string(64, 'x'));

  const protocol::statistics v{1, 0x0102030405060708, 0, UINT64_MAX, 5, 6, 7, 8};
  const auto m = protocol::encode_statistics(v);
  REQUIRE(m.size() == 8);
  CHECK(m[0] == std::string("\x01\0\0\0\0\0\0\0", 8));
  CHECK(m[1] == std::string("\x08\x07\x06\x05\x04\x03\x02\x01", 8));
  CHECK(protocol::decode_statistics(received(m)) == v);
  auto seven = received(m);
  seven.pop_back();
  CHECK_FALSE(protocol::decode_statistics(seven).has_value());
  auto short_frame = received(m);
  short_frame[3] = zmq::message_t("1234567", 7);
  CHECK_FALSE(protocol::decode_statistics(short_frame).has_value());
}

TEST_CASE("forwarder_protocol: SHALL read and write little-endian uint64s") {
  char b[8];
  protocol::put_u64_le(b, 0x1122334455667788);
  CHECK(std::string(b, 8) == "\x88\x77\x66\x55\x44\x33\x22\x11");
  CHECK(protocol::get_u64_le(b) == 0x1122334455667788u);
  protocol::put_u64_le(b, UINT64_MAX);
  CHECK(protocol::get_u64_le(b) == UINT64_MAX);
}

TEST_CASE("forwarder_protocol: SHALL count an outgoing message's bytes and refuse a ninth frame") {
  protocol::outgoing m{"a", "bc"};
  m.add(zmq::message_t("def", 3));
  CHECK(m.size() == 3);
  CHECK(m.bytes() == 6);
  for (int i = 0; i < 5; ++i) m.add("x");
  CHECK_THROWS_AS(m.add("ninth"), std::logic_error);
}
