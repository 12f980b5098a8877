// Writes the seed corpora of the fuzz targets (docs/fuzzing.md) into
// DIR/<target>/<name>: small valid inputs made with zmqkit's own encoders,
// plus a few edge cases. Everything is fixed (ids, times, keys), so running
// it again writes the same files.
//
//   build-fuzz/make_corpus tests/fuzz/corpus
#include <zmqkit/cursor_store.hpp>
#include <zmqkit/curve.hpp>
#include <zmqkit/envelope.hpp>
#include <zmqkit/producer_table.hpp>

#include <xxhash.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "forwarder_protocol.hpp"
#include "fuzz_support.hpp"

namespace {

using namespace zmqkit;
namespace jf = detail::jformat;
namespace fs = std::filesystem;

std::string out_dir;

void put(const std::string& target, const std::string& name, std::string_view bytes) {
  fs::create_directories(out_dir + "/" + target);
  fuzz::write_file(out_dir + "/" + target + "/" + name, bytes);
}

producer_id id_of(char first) {  // 16 printable bytes: never a frame separator
  producer_id id;
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::uint8_t>(first + i);
  return id;
}

constexpr std::int64_t fixed_time = 1764000000000000000;  // bytes 18 7a fc a7 67 ca 00 00

using pk = msgpack::packer<msgpack::sbuffer>;
std::string packed_bytes(const msgpack::sbuffer& b) { return std::string(b.data(), b.size()); }

// An envelope as docs/protocol.md has it, with the payload already packed.
std::string envelope(const producer_id& id, std::uint64_t seq, const headers& hdrs,
                     std::string_view payload, int extra_fields = 0) {
  msgpack::sbuffer b;
  pk p(b);
  p.pack_array(static_cast<std::uint32_t>(6 + extra_fields));
  p.pack_uint8(1);
  p.pack_bin(16);
  p.pack_bin_body(reinterpret_cast<const char*>(id.data()), 16);
  p.pack(seq);
  p.pack(fixed_time);
  p.pack_map(static_cast<std::uint32_t>(hdrs.size()));
  for (const auto& [k, v] : hdrs) {
    p.pack(k);
    p.pack(v);
  }
  std::string out = packed_bytes(b) + std::string(payload);
  for (int i = 0; i < extra_fields; ++i) out += '\xc0';  // nil
  return out;
}

template <class T>
std::string pack(const T& v) {
  msgpack::sbuffer b;
  msgpack::pack(b, v);
  return packed_bytes(b);
}

const std::string zero(1, '\0');  // a leading flags byte of 0

std::string user_payload() { return pack(std::map<std::string, std::string>{{"user", "ada"}}); }

// --- envelope ------------------------------------------------------------

std::string envelope_input(std::string_view topic, std::string_view body) {
  return std::string(1, static_cast<char>(topic.size())) + std::string(topic) + std::string(body);
}

void envelope_seeds() {
  const auto id = id_of('A');
  put("envelope", "protocol-example",
      envelope_input("user_registered", envelope(id_of(0x10), 1, {{"source", "signup"}}, user_payload())));
  put("envelope", "bin-payload", envelope_input("files", envelope(id, 2, {}, pack(msgpack::type::raw_ref("\x00\x01\x02", 3)))));
  put("envelope", "str-payload", envelope_input("t", envelope(id, 3, {{"a", "1"}, {"b", "2"}}, pack(std::string("hello")))));
  put("envelope", "nil-payload", envelope_input("", envelope(id, 4, {}, "\xc0")));
  put("envelope", "nested-payload",
      envelope_input("n", envelope(id, 5, {}, pack(std::vector<std::vector<int>>{{1, 2}, {3}}))));
  put("envelope", "extra-fields", envelope_input("x", envelope(id, 6, {}, pack(42), 2)));
  put("envelope", "ext-payload", envelope_input("e", envelope(id, 7, {}, std::string("\xd6\xff\x00\x00\x00\x01", 6))));
  put("envelope", "float-payload", envelope_input("f", envelope(id, 8, {}, pack(1.5))));
  put("envelope", "position-frame", envelope_input("", encode_position({id, 42, fixed_time, 50})));
  // Edge cases: a length that lies, the reserved byte, nesting at the limit.
  put("envelope", "array-lies", envelope_input("", std::string("\xdd\xff\x00\x00\x00", 5)));
  put("envelope", "reserved-byte", envelope_input("r", envelope(id, 9, {}, "\xc1")));
  put("envelope", "deep-64", envelope_input("d", envelope(id, 10, {}, std::string(63, '\x91') + "\x90")));
  put("envelope", "deep-65", envelope_input("d", envelope(id, 11, {}, std::string(64, '\x91') + "\x90")));
}

// --- journal -------------------------------------------------------------

std::string records(std::uint64_t first, int n, bool keyed = false) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    std::optional<record_key> key;
    if (keyed) key = record_key{id_of('a'), first + static_cast<std::uint64_t>(i)};
    const auto fseq = first + static_cast<std::uint64_t>(i);
    jf::append_record(out, fseq, fixed_time + i, "orders." + std::to_string(fseq),
                      envelope(id_of('A'), fseq, {}, user_payload()), key);
  }
  return out;
}

void journal_seeds() {
  put("journal_records", "two-records", zero + records(1, 2));
  put("journal_records", "keyed", zero + records(7, 2, true));
  put("journal_records", "header-and-records", "\x02" + jf::encode_segment_header(1) + records(1, 1));
  std::string torn = records(1, 2);
  torn.resize(torn.size() - 5);
  put("journal_records", "torn", zero + torn);
  std::string bad_flags = records(1, 1);
  jf::put_u16(bad_flags.data() + 30, 6);  // then bit 0 of the mode fixes the checksum
  put("journal_records", "unknown-flags", "\x01" + bad_flags);
  std::string long_topic = records(1, 1);
  jf::put_u16(long_topic.data() + 28, 60000);
  put("journal_records", "topic-too-long", "\x01" + long_topic);
  put("journal_records", "zero-length", std::string(13, '\0'));

  // journal_recovery: flags, base selector, bytes (see journal_recovery_fuzz.cpp).
  const auto recovery = [](std::string_view name, std::uint8_t flags, std::uint8_t sel, const std::string& b) {
    put("journal_recovery", std::string(name), std::string{static_cast<char>(flags), static_cast<char>(sel)} + b);
  };
  recovery("good-tail", 0x01, 0, records(1, 3));
  recovery("good-tail-keyed", 0x01, 1, records(2, 2, true));
  std::string torn_tail = records(1, 3);
  torn_tail.resize(torn_tail.size() - 7);
  recovery("torn-tail", 0x01, 0, torn_tail);
  std::string damaged = records(1, 3);
  damaged[40] ^= 1;  // the first record's topic: good records follow it
  recovery("damaged-middle", 0x01, 0, damaged);
  recovery("out-of-order", 0x01, 0, records(1, 1) + records(3, 1));
  recovery("blank-header", 0x00, 0, std::string(32, '\0'));
  recovery("bad-header", 0x00, 0, "zmqkjrnl" + std::string(24, '\x01'));
  recovery("after-sealed", 0x05, 0, records(4, 2));
  recovery("gap-after-sealed", 0x05, 1, records(5, 1));
  recovery("quarantined-newer", 0x09, 0, records(1, 2));
  recovery("read-only-first", 0x11, 0, torn_tail);
  std::string sealed_damage = records(1, 3);
  sealed_damage[60] ^= 1;
  recovery("damaged-sealed", 0x21, 3, sealed_damage);
  recovery("short-sealed", 0x21, 3, records(1, 1));
}

// --- forwarder -------------------------------------------------------------

// One peer message: its selector byte and frames (see forwarder_intake_fuzz.cpp).
std::string msg(char peer, std::initializer_list<std::string> frames) {
  std::string out(1, peer);
  bool first = true;
  for (const auto& f : frames) {
    if (f.find_first_of("\x1e\x1f") != std::string::npos)
      throw std::runtime_error("make_corpus: a frame holds a separator byte");
    if (!first) out += '\x1f';
    out += f;
    first = false;
  }
  return out;
}

std::string messages(std::initializer_list<std::string> ms) {
  std::string out;
  for (const auto& m : ms) out += (out.empty() ? "" : "\x1e") + m;
  return out;
}

void forwarder_seeds() {
  const auto a = id_of('A');
  const auto env = [&](std::uint64_t seq) { return envelope(a, seq, {}, user_payload()); };
  const std::string key = protocol::encode_key({{id_of('a'), 1}});
  const std::string everything = pack(std::vector<std::string>{});
  const std::string orders = pack(std::vector<std::string>{"orders"});
  put("forwarder_intake", "publish",
      messages({msg('I', {"PUB", "orders", env(1)}), msg('I', {"PUB", "orders", env(2)})}));
  put("forwarder_intake", "publish-keyed", messages({msg('J', {"PUB", "orders", env(1), key})}));
  const auto key_first = [](std::uint64_t seq, std::uint64_t first) {
    return protocol::encode_key({{id_of('b'), seq}, first});
  };
  put("forwarder_intake", "publish-keyed-first",
      messages({msg('J', {"PUB", "orders", env(1), key_first(5, 1)}), msg('J', {"PUB", "orders", env(2), key_first(1, 1)}),
                msg('J', {"PUB", "orders", env(3), key_first(2, 1)}), msg('J', {"PUB", "orders", env(4), key_first(9, 9)})}));
  put("forwarder_intake", "duplicate-and-ahead",
      messages({msg('I', {"PUB", "t", env(1)}), msg('I', {"PUB", "t", env(1)}), msg('I', {"PUB", "t", env(5)})}));
  put("forwarder_intake", "bad-frames",
      messages({msg('I', {"PUB", "t"}), msg('I', {"SUB", "t", env(1)}), msg('I', {"PUB", "t", "xx"}),
                msg('I', {"PUB", "t", env(1), "bad key"})}));
  put("forwarder_intake", "too-big", messages({msg('I', {"PUB", "t", envelope(a, 1, {}, pack(std::string(600, 'x')))})}));
  put("forwarder_intake", "subscribe",
      messages({msg('I', {"PUB", "orders", env(1)}), msg('I', {"PUB", "users", env(2)}),
                msg('R', {"SUB", "billing", orders, "first"}), msg('R', {"CREDIT", protocol::encode_uint(10)}),
                msg('R', {"ACK", protocol::encode_uint(1)}), msg('R', {"PING"})}));
  put("forwarder_intake", "work-queue",
      messages({msg('I', {"PUB", "t", env(1)}), msg('I', {"PUB", "t", env(2)}),
                msg('R', {"SUB", "q", everything, "fseq:1"}), msg('S', {"SUB", "q", everything, "resume"}),
                msg('R', {"CREDIT", protocol::encode_uint(1)}), msg('S', {"CREDIT", protocol::encode_uint(1)}),
                msg('R', {"NACK", protocol::encode_uint(1)}), msg('S', {"BYE"})}));
  put("forwarder_intake", "subscribe-unnamed",
      messages({msg('R', {"SUB", "", everything, "new"}), msg('R', {"CREDIT", protocol::encode_uint(5)}),
                msg('I', {"PUB", "t", env(1)}), msg('S', {"SUB", "x", everything, "time:1764000000000000000"})}));
  put("forwarder_intake", "subscribe-refused",
      messages({msg('R', {"SUB", "bad name!", everything, "first"}), msg('R', {"SUB", "ok", "\x01", "first"}),
                msg('R', {"SUB", "ok", everything, "fseq:x"}), msg('R', {"SUB", "ok"}),
                msg('S', {"CREDIT", protocol::encode_uint(1)})}));
  put("forwarder_intake", "control",
      messages({msg('C', {"PAUSE"}), msg('C', {"RESUME"}), msg('C', {"STATISTICS"}), msg('C', {"STATS"}),
                msg('C', {"NONSENSE"}), msg('C', {"PAUSE", "two frames"})}));
  put("forwarder_intake", "terminate", messages({msg('I', {"PUB", "t", env(1)}), msg('C', {"TERMINATE"})}));
  // After a 'W' the forwarder has delivered: ACK and NACK meet pending fseqs.
  put("forwarder_intake", "ack-after-wait",
      messages({msg('I', {"PUB", "t", env(1)}), msg('I', {"PUB", "t", env(2)}), msg('I', {"PUB", "t", env(3)}),
                msg('R', {"SUB", "acks", everything, "first"}), msg('R', {"CREDIT", protocol::encode_uint(10)}),
                msg('W', {}), msg('R', {"ACK", protocol::encode_uint(1)}), msg('R', {"NACK", protocol::encode_uint(2)}),
                msg('W', {}), msg('R', {"ACK", protocol::encode_uint(2)}), msg('R', {"BYE"}),
                msg('S', {"SUB", "acks", everything, "resume"}), msg('S', {"CREDIT", protocol::encode_uint(1)})}));
  // The next hop's answers to the forward-to link, which names itself with
  // the fuzz target's fixed journal id.
  const std::string journal = "fuzz-journal-id!";
  put("forwarder_intake", "link-answers",
      messages({msg('I', {"PUB", "t", env(1)}), msg('I', {"PUB", "t", env(2)}), msg('I', {"PUB", "t", env(3)}),
                msg('W', {}), msg('L', {"ACK", journal, protocol::encode_uint(1)}),
                msg('L', {"NACK", "TOO_BIG", journal, protocol::encode_uint(2)}),
                msg('L', {"NACK", "FULL", journal, protocol::encode_uint(3)}), msg('W', {}),
                msg('L', {"ACK", journal, protocol::encode_uint(3)}), msg('L', {"ACK", "someone else", protocol::encode_uint(1)})}));
  put("forwarder_intake", "link-early",
      messages({msg('L', {"ACK", journal, protocol::encode_uint(5)}), msg('I', {"PUB", "t", env(1)})}));
  // 20 records of about 260 bytes fill a 4 KiB segment (seq 30 and 31 would be separators).
  std::string many;
  for (std::uint64_t s = 1; s <= 20; ++s)
    many += (many.empty() ? "" : "\x1e") + msg('I', {"PUB", "roll", envelope(a, s, {}, pack(std::string(200, 'r')))});
  put("forwarder_intake", "roll-segments", many);
}

// forwarder_protocol: one message's frames, separated by 0x1f.
std::string frames_input(std::initializer_list<std::string> frames) {
  std::string out;
  for (const auto& f : frames) {
    if (f.find('\x1f') != std::string::npos) throw std::runtime_error("make_corpus: a frame holds 0x1f");
    out += (out.empty() ? "" : "\x1f") + f;
  }
  return out;
}

void protocol_seeds() {
  const auto a = id_of('A');
  const auto b = id_of('b');
  const std::string sender(protocol::sender_bytes(b));
  const auto env = envelope(a, 1, {}, user_payload());
  const auto put_frames = [](const std::string& name, std::initializer_list<std::string> frames) {
    put("forwarder_protocol", name, frames_input(frames));
  };
  put_frames("pub", {"PUB", "orders", env});
  put_frames("pub-keyed", {"PUB", "orders", env, protocol::encode_key({{b, 7}})});
  put_frames("pub-keyed-first", {"PUB", "orders", env, protocol::encode_key({{b, 5}, 2})});
  put_frames("pub-key-extra", {"PUB", "t", env, "\x95\xc4\x10" + sender + "\x05\x02\xc0\xa1x"});
  put_frames("pub-key-first-above", {"PUB", "t", env, "\x93\xc4\x10" + sender + "\x05\x06"});
  put_frames("ack", {"ACK", sender, protocol::encode_uint(3)});
  put_frames("nack", {"NACK", "TOO_BIG", sender, protocol::encode_uint(1000)});
  put_frames("nack-unattributed", {"NACK", "BAD_FRAME", "", protocol::encode_uint(0)});
  put_frames("sub", {"SUB", "audit", protocol::encode_prefixes({"orders.", "users."}), "first"});
  put_frames("sub-time", {"SUB", "", pack(std::vector<std::string>{"t"}), "time:1764000000000000000"});
  put_frames("sub-fseq", {"SUB", "billing.v2", "\x90", "fseq:1042"});
  put_frames("sub-bad-name", {"SUB", "bad name!", "\x90", "resume"});
  put_frames("credit", {"CREDIT", protocol::encode_uint(1000)});
  put_frames("replay-ack", {"ACK", protocol::encode_uint(1500)});
  put_frames("replay-nack", {"NACK", protocol::encode_uint(9)});
  put_frames("ping", {"PING"});
  put_frames("bye", {"BYE"});
  put_frames("msg", {"MSG", "orders", env, encode_position({a, 42, fixed_time, 50})});
  put_frames("msg-old-position", {"MSG", "orders", env, "\x92\xc4\x10" + std::string(protocol::sender_bytes(a)) + "\x2a"});
  put_frames("err", {"ERR", "UNKNOWN"});
  put_frames("control", {"STATS"});
  const auto s = protocol::encode_statistics({1, 2, 3, 4, 5, 6, 7, 8});
  std::string eight;
  for (std::size_t i = 0; i < s.size(); ++i) eight += (i ? "\x1f" : "") + std::string(s[i]);
  put("forwarder_protocol", "statistics", eight);
}

// --- small files ------------------------------------------------------------

std::string cursor_bytes(std::string_view value) {
  fuzz::temp_dir tmp("zmqkit-corpus");
  cursor_store c(tmp / "c");
  c.save("v", value);
  std::FILE* f = std::fopen((tmp / "c/v").c_str(), "rb");
  std::string out(12 + value.size() + 8, '\0');
  out.resize(std::fread(out.data(), 1, out.size(), f));
  std::fclose(f);
  return out;
}

void file_seeds() {
  char fseq[8];
  jf::put_u64(fseq, 1042);
  put("cursor_file", "fseq", zero + cursor_bytes(std::string_view(fseq, 8)));
  put("cursor_file", "link", zero + cursor_bytes(std::string(16, '\x01')));
  put("cursor_file", "empty-value", zero + cursor_bytes(""));
  std::string bad_sum = cursor_bytes("abc");
  bad_sum.back() ^= 1;
  put("cursor_file", "fixed-by-flag", "\x01" + bad_sum);
  put("cursor_file", "bad-magic", zero + "zmqkcur2" + std::string(12, '\0'));

  const auto dedup_record = [](char first, std::uint64_t seq) {
    std::string r(28, '\0');
    const auto id = id_of(first);
    std::memcpy(r.data(), id.data(), 16);
    jf::put_u64(r.data() + 16, seq);
    const std::uint32_t sum = XXH32(r.data(), 24, 0);
    jf::put_u32(r.data() + 24, sum);
    return r;
  };
  std::string three = "ZKDEDUP1" + dedup_record('A', 1) + dedup_record('A', 2) + dedup_record('B', 1);
  put("dedup_file", "three", std::string("\x00\x03", 2) + three);
  put("dedup_file", "small-window", std::string("\x00\x00", 2) + three + dedup_record('A', 1));
  put("dedup_file", "torn", std::string("\x00\x03", 2) + three.substr(0, three.size() - 3));
  std::string bad = three;
  bad[20] ^= 1;
  put("dedup_file", "bad-middle", std::string("\x00\x03", 2) + bad);
  put("dedup_file", "no-header", std::string("\x02\x03", 2) + dedup_record('C', 9));
  put("dedup_file", "empty", std::string("\x00\x03", 2));
  put("dedup_file", "bad-header", std::string("\x00\x03", 2) + "ZKDEDUP2");

  producer_table t;
  t.record(id_of('A'), 10);
  t.record(id_of('B'), 3);
  t.record(id_of('A'), 11);
  put("producer_table", "two-senders", std::string("\x07\x00", 2) + t.save(500));
  put("producer_table", "evicting", std::string("\x00\x00", 2) + t.save(500));
  put("producer_table", "empty", std::string("\x07\x00", 2) + producer_table().save(0));
  put("producer_table", "count-lies", std::string("\x07\x00", 2) + std::string(8, '\0') + "\xff\xff\xff\xff");

  // The server pair of ZeroMQ's RFC 26 (also in docs/security.md).
  const std::string pub = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
  const std::string sec = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
  certificate c;
  c.public_key = pub;
  c.secret_key = sec;
  c.metadata = {{"name", "billing"}, {"host", "db1"}};
  std::string secret_text = c.to_text(true), public_text = c.to_text(false);
  // to_text stamps the time: keep the corpus fixed.
  for (auto* text : {&secret_text, &public_text}) text->replace(0, text->find('\n'), "#   ****  Generated by zmqkit  ****");
  put("certificate", "secret", secret_text);
  put("certificate", "public", public_text);
  put("certificate", "bare-values", "curve\n    public-key = " + pub + " # comment\n");
  put("certificate", "czmq-style",
      "#   ****  Generated on 2024-01-01 by czmq  ****\n\nmetadata\n    email = \"a@b\"\ncurve\n"
      "    public-key = '" + pub + "'\n    secret-key = '" + sec + "'\n");
  put("certificate", "bad-indent", "curve\n  public-key = \"" + pub + "\"\n");
  put("certificate", "unclosed-quote", "curve\n    public-key = \"" + pub + "\n");
  put("certificate", "wrong-secret", "curve\n    public-key = \"" + pub + "\"\n    secret-key = \"" +
                                          std::string(40, '0') + "\"\n");
  put("certificate", "crlf", "curve\r\n    public-key = \"" + pub + "\"\r\n");
}

// tool_input: a format byte (0 raw, 1 json, 2 msgpack, 3 jsonl-envelope),
// then one line of input.
void tool_input_seeds() {
  const auto as = [](char format, std::string_view unit) { return std::string(1, format) + std::string(unit); };
  put("tool_input", "raw", as(0, "hello, world"));
  put("tool_input", "raw-not-utf8", as(0, "\xff\xfe bytes"));
  put("tool_input", "json-event",
      as(1, R"({"event":"order_placed","order":42,"total":19.99,"items":["sku-1","sku-2"],"paid":true,"note":null})"));
  put("tool_input", "json-bin-ext", as(1, R"([{"$base64":"AAEC/w=="},{"$ext":5,"$base64":"aGk="}])"));
  put("tool_input", "json-numbers", as(1, "[0,-1,18446744073709551615,-9223372036854775808,1e308,5e-324,0.1]"));
  put("tool_input", "json-unicode", as(1, R"("caf\u00e9 \ud83d\ude00 \u0000")"));
  put("tool_input", "json-deep", as(1, std::string(64, '[') + std::string(64, ']')));
  msgpack::sbuffer b;
  pk p(b);
  p.pack_map(2);
  p.pack(std::string("id"));
  p.pack(7);
  p.pack(std::string("tags"));
  p.pack_array(2);
  p.pack(1.5f);
  p.pack_ext(3, 1);
  p.pack_ext_body("x", 1);
  put("tool_input", "msgpack-map", as(2, packed_bytes(b)));
  put("tool_input", "jsonl-envelope",
      as(3, R"({"topic":"orders","headers":{"k":"v","trace":"abc"},"payload":{"order":1}})"));
  put("tool_input", "jsonl-envelope-bin", as(3, R"({"topic":"t","payload":{"$base64":"3q2+7w=="}})"));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus DIR (e.g. tests/fuzz/corpus)\n");
    return 2;
  }
  out_dir = argv[1];
  envelope_seeds();
  journal_seeds();
  forwarder_seeds();
  protocol_seeds();
  file_seeds();
  tool_input_seeds();
  return 0;
}
