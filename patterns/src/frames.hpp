// Frame helpers shared by the patterns that speak the forwarder's protocol
// (docs/protocol.md): the forwarder, reliable_publisher, durable_subscriber.
// Internal to zmqkit::patterns.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include <zmqkit/journal.hpp>

namespace zmqkit::detail {

inline std::string_view view(const zmq::message_t& m) noexcept {
  return {static_cast<const char*>(m.data()), m.size()};
}

// One msgpack unsigned integer, the encoding of seq, fseq and credit frames.
std::string pack_uint(std::uint64_t v);
std::optional<std::uint64_t> unpack_uint(std::string_view bytes);
// The key frame of a PUB: msgpack [sender_id (bin 16), seq, first], where
// first, the sender's oldest unacknowledged seq when it sent this, may be
// left out (docs/protocol.md, Intake). Elements after the third are skipped.
struct pub_key {
  record_key key;
  std::uint64_t first = 0;  // 0: not given
};
std::string pack_key(const record_key& k, std::uint64_t first = 0);
std::optional<pub_key> unpack_key(std::string_view bytes);

// Reads one whole multipart message without waiting; false when none is
// there. Frames past max_frames are read and dropped (*truncated set), so a
// hostile peer cannot make it hold an unbounded list.
bool receive_frames(zmq::socket_t& s, std::vector<zmq::message_t>& out, bool* truncated,
                    std::size_t max_frames = 8);
// Sends the frames as one message without waiting. False on EAGAIN; throws
// zmq::error_t for other errors (EHOSTUNREACH on a mandatory ROUTER).
bool send_frames(zmq::socket_t& s, std::initializer_list<std::string_view> frames);
bool send_frames(zmq::socket_t& s, const std::vector<std::string>& frames);


}  // namespace zmqkit::detail
