// Fuzz target: the forwarder's protocol codec (patterns/src/
// forwarder_protocol.hpp, docs/protocol.md), without sockets. Input: one
// message's frames, separated by the byte 0x1f, at most 8. Every decoder
// gets the whole message, and the frame decoders (uint, key, prefixes,
// start, position) get each frame. Decoders may refuse (nullopt) and the
// MSG and ERR decoders may throw decode_error, nothing else; what one
// accepts keeps the protocol's rules (a key's first from 1 to seq, at most
// 1 024 prefixes, a valid subscription name...) and, encoded again,
// decodes to the same value.
#include <optional>
#include <string>
#include <vector>

#include "forwarder_protocol.hpp"
#include "fuzz_support.hpp"

namespace {

using namespace zmqkit;
using fuzz::check;

constexpr char frame_separator = 0x1f;
constexpr std::size_t max_frames = 8;

std::vector<std::string_view> split(std::string_view input) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto f = input.find(frame_separator);
    out.push_back(input.substr(0, f));
    if (f == std::string_view::npos || out.size() == max_frames) break;
    input.remove_prefix(f + 1);
  }
  return out;
}

// A fresh copy of the message: some decoders take frames out of it.
protocol::frames copy(const std::vector<std::string_view>& parts) {
  protocol::frames out;
  for (const auto p : parts) out.emplace_back(p.data(), p.size());
  return out;
}

protocol::frames received(const protocol::outgoing& m) {
  protocol::frames out;
  for (std::size_t i = 0; i < m.size(); ++i) out.emplace_back(m[i].data(), m[i].size());
  return out;
}

bool same(const protocol::pub_key& a, const protocol::pub_key& b) {
  return a.key.sender == b.key.sender && a.key.seq == b.key.seq && a.first == b.first;
}

bool same(const replay_start& a, const replay_start& b) {
  return a.what == b.what && a.fseq == b.fseq && a.time == b.time;
}

bool same(const journal_position& a, const journal_position& b) {
  return a.journal == b.journal && a.fseq == b.fseq && a.stored_ns == b.stored_ns && a.last_fseq == b.last_fseq;
}

void one_frame(std::string_view f) {
  if (const auto v = protocol::decode_uint(f))
    check(protocol::decode_uint(protocol::encode_uint(*v)) == v, "uint: encode(decode(x)) decodes to the same");

  if (const auto k = protocol::decode_key(f)) {
    check(k->key.seq >= 1, "key: seq >= 1");
    check(k->first == 0 || (k->first >= 1 && k->first <= k->key.seq), "key: first from 1 to seq, or not given");
    const auto again = protocol::decode_key(protocol::encode_key(*k));
    check(again && same(*again, *k), "key: encode(decode(x)) decodes to the same");
  }

  if (const auto p = protocol::decode_prefixes(f)) {
    check(p->size() <= 1024, "prefixes: at most 1 024");
    for (const auto& s : *p) check(s.size() <= 65535, "prefixes: each at most 65 535 bytes");
    check(protocol::decode_prefixes(protocol::encode_prefixes(*p)) == p,
          "prefixes: encode(decode(x)) decodes to the same");
  }

  if (const auto s = protocol::decode_start(f)) {
    const auto text = protocol::encode_start(*s);  // never a time before 1970
    const auto again = protocol::decode_start(text);
    check(again && same(*again, *s), "start: encode(decode(x)) decodes to the same");
  }

  try {
    const auto p = protocol::decode_position(f);
    check(same(protocol::decode_position(protocol::encode_position(p)), p),
          "position: encode(decode(x)) decodes to the same");
  } catch (const decode_error&) {
  }
}

void intake(const std::vector<std::string_view>& parts) {
  auto f = copy(parts);
  if (const auto p = protocol::decode_pub(f)) {
    check(parts.size() == 3 || parts.size() == 4, "PUB: 3 or 4 frames");
    check(p->topic.size() == parts[1].size() && p->envelope.size() == parts[2].size(), "PUB: frames taken whole");
    zmq::message_t envelope(p->envelope.data(), p->envelope.size());
    auto g = received(protocol::encode_pub(protocol::view(p->topic), std::move(envelope), p->key));
    const auto again = protocol::decode_pub(g);
    check(again && protocol::view(again->topic) == parts[1] && protocol::view(again->envelope) == parts[2] &&
              again->key.has_value() == p->key.has_value() && (!p->key || same(*again->key, *p->key)),
          "PUB: encode(decode(x)) decodes to the same");
  }
  f = copy(parts);
  if (const auto a = protocol::decode_ack(f)) {
    const auto g = received(protocol::encode_ack(a->sender, a->seq));  // the views point into it
    const auto again = protocol::decode_ack(g);
    check(again && again->sender == a->sender && again->seq == a->seq, "ACK: encode(decode(x)) decodes to the same");
  }
  if (const auto n = protocol::decode_nack(f)) {
    const auto g = received(protocol::encode_nack(n->reason, n->sender, n->seq));
    const auto again = protocol::decode_nack(g);
    check(again && again->reason == n->reason && again->sender == n->sender && again->seq == n->seq,
          "NACK: encode(decode(x)) decodes to the same");
  }
}

void replay(const std::vector<std::string_view>& parts) {
  auto f = copy(parts);
  const auto s = protocol::decode_sub(f);
  check(s.sub.has_value() != !s.refused.empty(), "SUB: a subscription or a reason, not both");
  if (s.sub) {
    check(durable_subscriber::valid_name(s.sub->name), "SUB: a valid name");
    const auto again = protocol::decode_sub(received(protocol::encode_sub(s.sub->name, s.sub->prefixes, s.sub->start)));
    check(again.sub && again.sub->name == s.sub->name && again.sub->prefixes == s.sub->prefixes &&
              same(again.sub->start, s.sub->start),
          "SUB: encode(decode(x)) decodes to the same");
  } else {
    namespace r = protocol::reason;
    check(s.refused == r::bad_frame || s.refused == r::bad_name || s.refused == r::bad_prefixes ||
              s.refused == r::bad_start,
          "SUB: refused with an ERR reason");
  }
  if (const auto n = protocol::decode_credit(f))
    check(protocol::decode_credit(received(protocol::encode_credit(*n))) == n, "CREDIT: round trip");
  if (const auto n = protocol::decode_replay_ack(f))
    check(protocol::decode_replay_ack(received(protocol::encode_replay_ack(*n))) == n, "ACK fseq: round trip");
  if (const auto n = protocol::decode_replay_nack(f))
    check(protocol::decode_replay_nack(received(protocol::encode_replay_nack(*n))) == n, "NACK fseq: round trip");
  if (protocol::decode_ping(f)) check(parts.size() == 1, "PING: one frame");
  if (protocol::decode_bye(f)) check(parts.size() == 1, "BYE: one frame");

  if (protocol::command_of(f) == protocol::command::msg) {
    try {
      auto g = copy(parts);
      const auto d = protocol::decode_msg(g);
      auto h = received(protocol::encode_msg(protocol::view(d.topic), protocol::view(d.envelope), d.position));
      const auto again = protocol::decode_msg(h);
      check(protocol::view(again.topic) == parts[1] && protocol::view(again.envelope) == parts[2] &&
                same(again.position, d.position),
            "MSG: encode(decode(x)) decodes to the same");
    } catch (const decode_error&) {
      // documented: not four frames, or a bad position
    }
  }
  if (protocol::command_of(f) == protocol::command::err) {
    try {
      const auto why = protocol::decode_err(f);
      const auto g = received(protocol::encode_err(why));
      check(protocol::decode_err(g) == why, "ERR: round trip");
    } catch (const decode_error&) {
      // documented: not two frames
    }
  }
}

void control(const std::vector<std::string_view>& parts) {
  const auto f = copy(parts);
  const auto cmd = protocol::decode_control(f, false);
  check(cmd.empty() || parts.size() == 1, "control: one frame");
  check(protocol::encode_control_unknown(cmd).size() <= protocol::control::unknown.size() + 64,
        "control: the unknown command is cut to 64 bytes");
  if (const auto v = protocol::decode_statistics(f))
    check(protocol::decode_statistics(received(protocol::encode_statistics(*v))) == v, "STATISTICS: round trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parts = split(fuzz::as_view(data, size));
  for (const auto p : parts) one_frame(p);
  intake(parts);
  replay(parts);
  control(parts);
  return 0;
}
