#include <zmqkit/envelope.hpp>

#include <zmqkit/detail/tsan.hpp>
#include <zmqkit/detail/zmq_error.hpp>
#include <zmqkit/msgpack_reader.hpp>

#include <cassert>
#include <cerrno>
#include <cstring>
#include <random>

namespace zmqkit {

producer_id make_producer_id() {
  std::random_device rd;
  producer_id id;
  for (std::size_t i = 0; i < id.size(); i += 4) {
    const auto r = rd();
    for (std::size_t k = 0; k < 4; ++k) id[i + k] = static_cast<std::uint8_t>(r >> (8 * k));
  }
  return id;
}

std::string to_hex(const producer_id& id) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(32);
  for (auto b : id) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 0x0f]);
  }
  return out;
}

packed::packed(std::string_view bytes) : bytes_(bytes) { check_msgpack(bytes, "payload"); }

void envelope_writer::begin(const headers& hdrs) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  buf_.clear();
  msgpack::packer<msgpack::sbuffer> pk(buf_);
  pk.pack_array(6);
  pk.pack_uint8(envelope_version);
  pk.pack_bin(static_cast<std::uint32_t>(id_.size()));
  pk.pack_bin_body(reinterpret_cast<const char*>(id_.data()), id_.size());
  pk.pack(seq_ + 1);
  pk.pack(static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()));
  pk.pack_map(static_cast<std::uint32_t>(hdrs.size()));
  for (const auto& [key, value] : hdrs) {
    pk.pack(key);
    pk.pack(value);
  }
}

zmq::message_t envelope_writer::frame(std::string_view tail) const {
  zmq::message_t m(buf_.size() + tail.size());
  auto* out = static_cast<char*>(m.data());
  std::memcpy(out, buf_.data(), buf_.size());
  if (!tail.empty()) std::memcpy(out + buf_.size(), tail.data(), tail.size());
  detail::wrote(m);
  return m;
}

message message::decode(zmq::message_t topic, zmq::message_t body, std::size_t max_size) {
  if (topic.size() > max_topic_size)
    throw decode_error("topic", std::to_string(topic.size()) + " bytes, more than the " +
                                    std::to_string(max_topic_size) + " allowed");
  if (body.size() > max_size)
    throw decode_error("envelope", std::to_string(body.size()) + " bytes, more than the " +
                                       std::to_string(max_size) + " allowed");
  message m;
  m.topic_frame_ = std::move(topic);
  m.body_frame_ = std::move(body);

  const std::string_view bytes = view(m.body_frame_, 0, m.body_frame_.size());
  const auto span_of = [&](std::string_view part) {
    return span{static_cast<std::uint32_t>(part.data() - bytes.data()),
                static_cast<std::uint32_t>(part.size())};
  };

  msgpack_reader r(bytes);
  const auto count = r.read_array_header("envelope");
  if (count < 6)
    throw decode_error("envelope", "array of " + std::to_string(count) +
                                       " elements, a v1 envelope has at least 6");
  const auto version = r.read_uint("envelope.version");
  if (version != envelope_version)
    throw decode_error("envelope.version",
                       "unsupported version " + std::to_string(version) + " (this build reads 1)");
  const auto id = r.read_bin("envelope.producer_id");
  if (id.size() != m.producer_.size())
    throw decode_error("envelope.producer_id",
                       std::to_string(id.size()) + " bytes, expected 16");
  std::copy(id.begin(), id.end(), m.producer_.begin());
  m.seq_ = r.read_uint("envelope.seq");
  if (m.seq_ == 0) throw decode_error("envelope.seq", "0 is not a valid sequence number");
  m.time_ns_ = r.read_int("envelope.time_ns");

  const auto header_count = r.read_map_header("envelope.headers");
  if (header_count > max_header_count)
    throw decode_error("envelope.headers", std::to_string(header_count) + " headers, more than the " +
                                               std::to_string(max_header_count) + " allowed");
  m.headers_.reserve(header_count);
  for (std::uint32_t i = 0; i < header_count; ++i) {
    const auto key = r.read_str("envelope.headers");
    const auto value = r.read_str("envelope.headers");
    m.headers_.emplace_back(span_of(key), span_of(value));
  }

  m.payload_ = span_of(r.skip_value("payload"));
  for (std::uint32_t i = 6; i < count; ++i) r.skip_value("envelope");  // newer fields
  if (r.remaining() != 0)
    throw decode_error("envelope", std::to_string(r.remaining()) + " trailing bytes");
  return m;
}

std::pair<std::string_view, std::string_view> message::header(std::size_t i) const {
  const auto& [key, value] = headers_.at(i);
  return {body(key), body(value)};
}

std::optional<std::string_view> message::find_header(std::string_view key) const {
  for (const auto& [k, v] : headers_)
    if (body(k) == key) return body(v);
  return std::nullopt;
}

std::string_view message::payload_msgpack() const noexcept { return body(payload_); }

std::optional<std::string_view> message::payload_bytes() const {
  msgpack_reader r(payload_msgpack());
  const auto b = static_cast<std::uint8_t>(payload_msgpack().front());
  if (b >= 0xc4 && b <= 0xc6) return r.read_bin("payload");
  if ((b >= 0xa0 && b <= 0xbf) || (b >= 0xd9 && b <= 0xdb)) return r.read_str("payload");
  return std::nullopt;
}

msgpack::object_handle message::payload_object() const {
  const auto bytes = payload_msgpack();
  return msgpack::unpack(bytes.data(), bytes.size());
}

void check_sendable(std::string_view topic, std::size_t body_size, std::size_t max_size) {
  if (topic.size() > max_topic_size)
    throw error(EMSGSIZE, "topic of " + std::to_string(topic.size()) + " bytes is over the " +
                              std::to_string(max_topic_size) + "-byte limit");
  if (body_size > max_size)
    throw error(EMSGSIZE, "envelope of " + std::to_string(body_size) + " bytes is over the " +
                              std::to_string(max_size) + "-byte message size limit");
}

bool send_message(zmq::socket_t& socket, std::string_view topic, zmq::message_t& body,
                  zmq::send_flags flags, std::size_t max_size) {
  check_sendable(topic, body.size(), max_size);
  return detail::translate("send", [&] {
    zmq::message_t topic_frame(topic.data(), topic.size());
    // The first frame decides: once it is queued, libzmq queues the rest
    // of the message atomically, so the second send never blocks.
    if (!socket.send(topic_frame, flags | zmq::send_flags::sndmore)) return false;
    const auto sent = socket.send(body, flags);
    assert(sent);
    return sent.has_value();
  });
}

std::string encode_position(const journal_position& p) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_array(4);
  pk.pack_bin(static_cast<std::uint32_t>(p.journal.size()));
  pk.pack_bin_body(reinterpret_cast<const char*>(p.journal.data()), p.journal.size());
  pk.pack(p.fseq);
  pk.pack(p.stored_ns);
  pk.pack(p.last_fseq);
  return std::string(buf.data(), buf.size());
}

journal_position decode_position(std::string_view bytes) {
  msgpack_reader r(bytes);
  // [journal_id, fseq] from the first forwarders, [.., stored_ns, last_fseq]
  // since; later elements are skipped, as in the envelope.
  const auto n = r.read_array_header("position");
  if (n < 2) throw decode_error("position", "fewer than 2 elements");
  const auto id = r.read_bin("position.journal_id");
  if (id.size() != 16) throw decode_error("position.journal_id", "not 16 bytes");
  journal_position p;
  std::copy(id.begin(), id.end(), p.journal.begin());
  p.fseq = r.read_uint("position.fseq");
  if (n >= 3) p.stored_ns = r.read_int("position.stored_ns");
  if (n >= 4) p.last_fseq = r.read_uint("position.last_fseq");
  for (std::uint32_t i = 4; i < n; ++i) (void)r.skip_value("position");
  if (r.remaining() != 0) throw decode_error("position", "trailing bytes");
  return p;
}

std::optional<message> receive_message(zmq::socket_t& socket, zmq::recv_flags flags,
                                       std::size_t max_size) {
  return detail::translate("receive", [&]() -> std::optional<message> {
    zmq::message_t topic;
    if (!socket.recv(topic, flags)) return std::nullopt;
    // The rest of a multipart message is already here: recv never waits.
    if (!topic.more()) throw decode_error("frames", "1 frame, a zmqkit message has 2");
    zmq::message_t body;
    (void)socket.recv(body);
    detail::received(topic);
    detail::received(body);
    std::optional<zmq::message_t> third;
    if (body.more()) {
      third.emplace();
      (void)socket.recv(*third);
      detail::received(*third);
    }
    if (third && third->more()) {
      std::size_t frames = 3;
      zmq::message_t extra;
      do {
        (void)socket.recv(extra);
        ++frames;
      } while (extra.more());
      throw decode_error("frames", std::to_string(frames) + " frames, a zmqkit message has 2 (3 from a forwarder)");
    }
    if (third) {
      const auto pos = decode_position(std::string_view(static_cast<const char*>(third->data()), third->size()));
      auto m = message::decode(std::move(topic), std::move(body), max_size);
      m.set_position(pos);
      return m;
    }
    return message::decode(std::move(topic), std::move(body), max_size);
  });
}

}  // namespace zmqkit
