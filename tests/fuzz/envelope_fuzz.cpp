// Fuzz target: the envelope decoder (docs/protocol.md). Input: one byte N,
// N bytes of topic (fewer if the input ends), then frame 1. The same frame-1
// bytes also go through decode_position. A message that decodes must give
// views inside its frames, a payload that msgpack-c unpacks without
// complaint, and the same headers and payload when encoded again.
#include <zmqkit/envelope.hpp>
#include <zmqkit/msgpack_reader.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fuzz_support.hpp"

namespace {

using namespace zmqkit;
using fuzz::check;

bool inside(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

template <class T>
void try_as(const message& m) {
  try {
    (void)m.payload_as<T>();
  } catch (const decode_error&) {
    // documented: the payload does not convert to T
  }
}

void position_round_trip(std::string_view bytes) {
  journal_position p;
  try {
    p = decode_position(bytes);
  } catch (const decode_error&) {
    return;
  }
  const auto q = decode_position(encode_position(p));
  check(q.journal == p.journal && q.fseq == p.fseq && q.stored_ns == p.stored_ns &&
            q.last_fseq == p.last_fseq,
        "position: encode(decode(x)) decodes to the same position");
}

void exercise(const message& m, std::string_view topic, std::string_view body) {
  check(m.topic() == topic && m.envelope() == body, "message: frames kept as received");
  check(m.seq() >= 1, "message: seq >= 1");
  const auto payload = m.payload_msgpack();
  check(!payload.empty() && inside(payload, m.envelope()), "message: payload inside frame 1");
  check(m.header_count() <= max_header_count, "message: header count bounded");
  headers hdrs;
  for (std::size_t i = 0; i < m.header_count(); ++i) {
    const auto [k, v] = m.header(i);
    check(inside(k, m.envelope()) && inside(v, m.envelope()), "message: header inside frame 1");
    check(m.find_header(k).has_value(), "message: find_header finds each header");
    hdrs.emplace_back(k, v);
  }
  if (const auto b = m.payload_bytes()) check(inside(*b, payload), "message: payload bytes inside payload");

  // Bounds-checked above, so msgpack-c must take it as it is.
  const auto handle = m.payload_object();
  (void)handle;
  try_as<std::string>(m);
  try_as<std::int64_t>(m);
  try_as<double>(m);
  try_as<bool>(m);
  try_as<std::vector<std::string>>(m);
  try_as<std::vector<std::int64_t>>(m);
  try_as<std::map<std::string, std::string>>(m);
  try_as<std::map<std::string, std::vector<int>>>(m);

  // Encoded again by the writer, the same headers and payload come back.
  envelope_writer w(m.producer());
  auto frame = w.encode(packed(payload), hdrs);
  const auto again = message::decode(zmq::message_t(topic.data(), topic.size()), std::move(frame));
  check(again.producer() == m.producer() && again.payload_msgpack() == payload &&
            again.header_count() == m.header_count(),
        "message: re-encoded message decodes to the same content");
  for (std::size_t i = 0; i < m.header_count(); ++i)
    check(again.header(i) == m.header(i), "message: re-encoded headers are the same");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t topic_len = std::min<std::size_t>(data[0], size - 1);
  const auto topic = fuzz::as_view(data + 1, topic_len);
  const auto body = fuzz::as_view(data + 1 + topic_len, size - 1 - topic_len);

  position_round_trip(body);
  try {
    check_msgpack(body, "fuzz");
  } catch (const decode_error&) {
  }

  std::optional<message> m;
  try {
    m = message::decode(zmq::message_t(topic.data(), topic.size()),
                        zmq::message_t(body.data(), body.size()));
  } catch (const decode_error&) {
    return 0;
  }
  exercise(*m, topic, body);
  return 0;
}
