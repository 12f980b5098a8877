// Envelope v1: the two frames every zmqkit message is made of.
//
//   frame 0  topic, bytes (SUB prefix filtering acts on it)
//   frame 1  msgpack [1, producer_id, seq, time_ns, headers, payload]
//
// docs/protocol.md is the normative description. This header has the
// encoder (envelope_writer), the decoded view (message) and the two socket
// calls that move them (send_message, receive_message).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <msgpack.hpp>
#include <zmq.hpp>

#include <zmqkit/error.hpp>

namespace zmqkit {

inline constexpr std::uint8_t envelope_version = 1;
inline constexpr std::size_t max_topic_size = 65535;  // the journal stores it as u16
inline constexpr std::size_t max_header_count = 1024;
inline constexpr std::size_t default_max_message_size = 16 * 1024 * 1024;
// The most frame 1 adds around a str or bin payload when there are no
// headers: array and version (2), producer id (18), seq and time_ns (9
// each), the empty map (1) and the payload's own str/bin header (5). A
// payload up to max_message_size - envelope_overhead always fits.
inline constexpr std::size_t envelope_overhead = 44;

using producer_id = std::array<std::uint8_t, 16>;
using headers = std::vector<std::pair<std::string, std::string>>;

// A fresh random producer id (from std::random_device).
producer_id make_producer_id();
// 32 lowercase hex digits.
std::string to_hex(const producer_id& id);

// Payload wrappers. Any other T is packed with msgpack-c's adaptors
// (MSGPACK_DEFINE structs, std::map, std::string as str...).
struct binary {  // packs as msgpack bin: raw bytes, e.g. a file
  std::string_view bytes;
};
class packed {  // an already-encoded msgpack value, written verbatim
 public:
  // Checks that bytes hold exactly one bounded msgpack value; throws decode_error.
  explicit packed(std::string_view bytes);
  std::string_view bytes() const noexcept { return bytes_; }

 private:
  std::string_view bytes_;
};

// Encodes envelopes for one producer: owns its id, its sequence counter and
// a reusable buffer. Not thread-safe.
class envelope_writer {
 public:
  envelope_writer() : envelope_writer(make_producer_id()) {}
  explicit envelope_writer(const producer_id& id) : id_(id) {}

  const producer_id& producer() const noexcept { return id_; }
  // The seq of the last message committed; 0 before the first.
  std::uint64_t last_seq() const noexcept { return seq_; }

  // Encodes frame 1 for the next message (seq = last_seq() + 1). The seq is
  // only used up by commit(), so a send that times out leaves no gap.
  template <class T>
  zmq::message_t encode(const T& payload, const headers& hdrs = {});
  void commit() noexcept { ++seq_; }

 private:
  void begin(const headers& hdrs);
  // The buffer's bytes, then tail, as one frame.
  zmq::message_t frame(std::string_view tail) const;

  producer_id id_;
  std::uint64_t seq_ = 0;
  msgpack::sbuffer buf_;
};

// Where a durable forwarder stored a message: the third frame it adds,
// msgpack [journal_id (bin 16), fseq, stored_ns, last_fseq] (docs/protocol.md).
struct journal_position {
  producer_id journal{};
  std::uint64_t fseq = 0;
  std::int64_t stored_ns = 0;    // the forwarder's clock when it stored it; 0: not sent
  std::uint64_t last_fseq = 0;   // the journal's newest message when sent; 0: not sent
  // Messages stored after this one when it was sent: the subscription's backlog.
  std::uint64_t backlog() const noexcept { return last_fseq > fseq ? last_fseq - fseq : 0; }
};
std::string encode_position(const journal_position& p);
// Throws decode_error on "position".
journal_position decode_position(std::string_view bytes);

// A received message, decoded and checked. Owns its frames; topic, headers
// and payload are views into them (no copies), valid while the message lives.
class message {
 public:
  // Checks and decodes the two frames; throws decode_error naming the field.
  // A body larger than max_size is refused before it is parsed.
  static message decode(zmq::message_t topic, zmq::message_t body,
                        std::size_t max_size = default_max_message_size);

  std::string_view topic() const noexcept { return view(topic_frame_, 0, topic_frame_.size()); }
  const producer_id& producer() const noexcept { return producer_; }
  std::uint64_t seq() const noexcept { return seq_; }
  std::int64_t time_ns() const noexcept { return time_ns_; }

  std::size_t header_count() const noexcept { return headers_.size(); }
  std::pair<std::string_view, std::string_view> header(std::size_t i) const;
  // The value of the first header named key, if any.
  std::optional<std::string_view> find_header(std::string_view key) const;

  // Frame 1 exactly as received: the whole msgpack envelope.
  std::string_view envelope() const noexcept { return view(body_frame_, 0, body_frame_.size()); }
  // The payload's msgpack encoding, exactly as received.
  std::string_view payload_msgpack() const noexcept;
  // The payload's bytes when it is bin or str (raw data, no copy); else nullopt.
  std::optional<std::string_view> payload_bytes() const;
  // The payload unpacked by msgpack-c (already bounds-checked).
  msgpack::object_handle payload_object() const;
  // The payload converted to T; throws decode_error if it does not convert.
  template <class T>
  T payload_as() const;

  // The journal position a forwarder added as a third frame, if any.
  const std::optional<journal_position>& position() const noexcept { return position_; }
  void set_position(const journal_position& p) noexcept { position_ = p; }

  // Both frames' sizes, as counted on the wire.
  std::size_t wire_size() const noexcept { return topic_frame_.size() + body_frame_.size(); }

 private:
  struct span {
    std::uint32_t offset, size;
  };
  // Views are rebuilt from offsets on every call because a small zmq message
  // stores its bytes inside the message_t itself, so they move when it does.
  static std::string_view view(const zmq::message_t& m, std::size_t off, std::size_t n) noexcept {
    return {static_cast<const char*>(m.data()) + off, n};
  }
  std::string_view body(span s) const noexcept { return view(body_frame_, s.offset, s.size); }

  zmq::message_t topic_frame_;
  zmq::message_t body_frame_;
  producer_id producer_{};
  std::uint64_t seq_ = 0;
  std::int64_t time_ns_ = 0;
  std::vector<std::pair<span, span>> headers_;
  span payload_{0, 0};
  std::optional<journal_position> position_;
};

// Throws zmqkit::error with EMSGSIZE if a receiver would refuse this
// message: a topic over max_topic_size, or a body over max_size (the
// MAXMSGSIZE receivers enforce, which drops the whole connection, and with
// it the messages queued behind this one).
void check_sendable(std::string_view topic, std::size_t body_size, std::size_t max_size);

// Sends topic + body as one two-frame message. Returns false if the send
// would block (EAGAIN: HWM reached with dontwait, or the socket's send
// timeout expired). A message check_sendable refuses throws before any
// frame is sent; other failures throw zmqkit::error too.
[[nodiscard]] bool send_message(zmq::socket_t& socket, std::string_view topic,
                                zmq::message_t& body,
                                zmq::send_flags flags = zmq::send_flags::none,
                                std::size_t max_size = default_max_message_size);

// Receives one message within the socket's receive timeout. Returns nullopt
// on EAGAIN. A malformed message is read to its last frame, so the socket
// stays usable, and then reported with decode_error.
[[nodiscard]] std::optional<message> receive_message(
    zmq::socket_t& socket, zmq::recv_flags flags = zmq::recv_flags::none,
    std::size_t max_size = default_max_message_size);

// ----------------------------------------------------------------------------

template <class T>
zmq::message_t envelope_writer::encode(const T& payload, const headers& hdrs) {
  begin(hdrs);
  // Bytes given as bytes are copied once, straight into the frame, after
  // the head; any other value is packed into the buffer first.
  if constexpr (std::is_same_v<T, binary>) {
    msgpack::packer<msgpack::sbuffer>(buf_).pack_bin(static_cast<std::uint32_t>(payload.bytes.size()));
    return frame(payload.bytes);
  } else if constexpr (std::is_same_v<T, packed>) {
    return frame(payload.bytes());
  } else {
    msgpack::pack(buf_, payload);
    return frame({});
  }
}

template <class T>
T message::payload_as() const {
  auto handle = payload_object();
  try {
    return handle.get().as<T>();
  } catch (const msgpack::type_error&) {
    throw decode_error("payload", "does not convert to the requested type");
  }
}

}  // namespace zmqkit

namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
namespace adaptor {

template <>
struct pack<zmqkit::binary> {
  template <class Stream>
  packer<Stream>& operator()(packer<Stream>& o, const zmqkit::binary& v) const {
    o.pack_bin(static_cast<std::uint32_t>(v.bytes.size()));
    o.pack_bin_body(v.bytes.data(), static_cast<std::uint32_t>(v.bytes.size()));
    return o;
  }
};

template <>
struct pack<zmqkit::packed> {
  // pack_bin_body appends bytes as they are; after a pack_bin header they
  // would be a bin body, here they are the whole (already checked) value.
  template <class Stream>
  packer<Stream>& operator()(packer<Stream>& o, const zmqkit::packed& v) const {
    o.pack_bin_body(v.bytes().data(), static_cast<std::uint32_t>(v.bytes().size()));
    return o;
  }
};

}  // namespace adaptor
}  // MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS)
}  // namespace msgpack
