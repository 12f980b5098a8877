// The forwarder's wire protocol in one codec: every frame the intake, the
// replay socket, the forward-to link and the control socket exchange is
// encoded and decoded here, and nowhere else. docs/protocol.md ("The
// durable forwarder") is the specification; each declaration below names
// the section it implements, in the order that file has them, so the two
// read side by side. Internal to zmqkit::patterns: the forwarder,
// reliable_publisher and durable_subscriber speak it.
//
// A received message is its frames without the ROUTER's routing id
// (receive_frames takes it off); an outgoing one is built by an encoder and
// sent with send_frames. Decoders never throw for a malformed message:
// std::nullopt means "not this command, well formed", and the caller counts
// it as a bad frame. Only the durable subscriber's MSG and ERR throw
// decode_error naming the field, since it reports that to its user. Nothing
// here touches a socket but receive_frames and send_frames.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include <zmqkit/durable_subscriber.hpp>
#include <zmqkit/envelope.hpp>
#include <zmqkit/journal.hpp>

namespace zmqkit::protocol {

// --- The durable forwarder: frames ------------------------------------------

// Commands and reasons: ASCII text, in capitals.
namespace command {
inline constexpr std::string_view pub = "PUB";        // Intake
inline constexpr std::string_view ack = "ACK";        // Intake (reply) and Replay
inline constexpr std::string_view nack = "NACK";      // Intake (reply) and Replay
inline constexpr std::string_view sub = "SUB";        // Replay
inline constexpr std::string_view credit = "CREDIT";  // Replay
inline constexpr std::string_view ping = "PING";      // Replay
inline constexpr std::string_view bye = "BYE";        // Replay
inline constexpr std::string_view msg = "MSG";        // Replay (forwarder to subscriber)
inline constexpr std::string_view err = "ERR";        // Replay (forwarder to subscriber)
}  // namespace command

namespace reason {
inline constexpr std::string_view full = "FULL";                  // NACK: the journal's disk is full
inline constexpr std::string_view too_big = "TOO_BIG";            // NACK: topic over 65 535 bytes
inline constexpr std::string_view bad_frame = "BAD_FRAME";        // NACK, ERR: frames do not form the command
inline constexpr std::string_view unknown = "UNKNOWN";            // ERR: not a member
inline constexpr std::string_view bad_name = "BAD_NAME";          // ERR: SUB's name
inline constexpr std::string_view bad_prefixes = "BAD_PREFIXES";  // ERR: SUB's prefixes
inline constexpr std::string_view bad_start = "BAD_START";        // ERR: SUB's start
}  // namespace reason

using frames = std::vector<zmq::message_t>;  // one received message

inline std::string_view view(const zmq::message_t& m) noexcept {
  return {static_cast<const char*>(m.data()), m.size()};
}
// The command frame of a received message; "" when it has none.
inline std::string_view command_of(const frames& f) noexcept { return f.empty() ? "" : view(f[0]); }

// A message to send: its frames in order, at most 8. Bytes given as
// string_view are copied once, into the frame; a zmq::message_t is taken
// as it is (no copy). Move-only; send_frames consumes it.
class outgoing {
 public:
  static constexpr std::size_t capacity = 8;
  outgoing() = default;
  outgoing(std::initializer_list<std::string_view> frames);
  void add(std::string_view bytes);
  void add(zmq::message_t frame);
  std::size_t size() const noexcept { return size_; }
  std::string_view operator[](std::size_t i) const noexcept { return view(frames_[i]); }
  std::size_t bytes() const noexcept;  // all frames together

 private:
  friend bool send_frames(zmq::socket_t& s, outgoing& m);
  std::array<zmq::message_t, capacity> frames_;
  std::size_t size_ = 0;
};

// seq, fseq, n: one msgpack unsigned integer. Any encoding of the value is
// read; the shortest is written. nullopt for anything else, trailing bytes
// included.
std::string encode_uint(std::uint64_t v);
std::optional<std::uint64_t> decode_uint(std::string_view bytes);

// sender_id in ACK and NACK: the id's 16 bytes, raw (not msgpack).
inline std::string_view sender_bytes(const std::array<std::uint8_t, 16>& id) noexcept {
  return {reinterpret_cast<const char*>(id.data()), id.size()};
}

// key: msgpack [sender_id (bin 16), seq (>= 1)] or [sender_id, seq, first]
// with first from 1 to seq; written with first only when first is not 0.
// Decoding skips elements after the third and refuses a seq of 0, a first
// of 0 or above seq, and an id that is not 16 bytes.
struct pub_key {
  record_key key;
  std::uint64_t first = 0;  // the sender's oldest unacknowledged seq; 0: not given
};
std::string encode_key(const pub_key& k);
std::optional<pub_key> decode_key(std::string_view bytes);

// prefixes: a msgpack array of str or bin, at most 1 024, each at most
// 65 535 bytes. Written as bin (topics are bytes).
std::string encode_prefixes(const std::vector<std::string>& prefixes);
std::optional<std::vector<std::string>> decode_prefixes(std::string_view bytes);

// start: "first", "new", "resume", or "fseq:" or "time:" and 1 to 19
// decimal digits (time: Unix ns, read up to INT64_MAX). Encoding throws
// std::invalid_argument for a time before 1970; an fseq of 10^19 or more
// is written but refused when read (BAD_START).
std::string encode_start(const replay_start& s);
std::optional<replay_start> decode_start(std::string_view text);

// --- Journal position: the third frame --------------------------------------
// msgpack [journal_id, fseq, stored_ns, last_fseq]. Its codec is lib's
// (zmqkit/envelope.hpp), since any subscriber reads it from the live output:
// decode_position throws decode_error on "position".
using zmqkit::decode_position;
using zmqkit::encode_position;

// --- Intake: acknowledged publishing ----------------------------------------

// "PUB" | topic | envelope [ | key ]
struct pub {
  zmq::message_t topic, envelope;  // taken from the received frames
  std::optional<pub_key> key;
};
outgoing encode_pub(std::string_view topic, zmq::message_t envelope, const std::optional<pub_key>& key = {});
// nullopt (answered NACK BAD_FRAME, unattributed): not 3 or 4 frames, not
// "PUB", or a key frame that is not a key. Moves topic and envelope out of f.
std::optional<pub> decode_pub(frames& f);

// "ACK" | sender_id | seq. Decoded views point into f.
struct intake_ack {
  std::string_view sender;  // raw bytes, as received: any length
  std::uint64_t seq = 0;
};
outgoing encode_ack(std::string_view sender, std::uint64_t seq);
std::optional<intake_ack> decode_ack(const frames& f);

// "NACK" | reason | sender_id | seq; sender "" and seq 0: not attributed.
// Decoded views point into f.
struct intake_nack {
  std::string_view reason, sender;
  std::uint64_t seq = 0;
};
outgoing encode_nack(std::string_view reason, std::string_view sender, std::uint64_t seq);
std::optional<intake_nack> decode_nack(const frames& f);

// --- Replay: durable subscriptions ------------------------------------------

// "SUB" | name | prefixes | start
struct sub_request {
  std::string name;  // "" or a durable_subscriber::valid_name
  std::vector<std::string> prefixes;
  replay_start start;
};
// A SUB, or the reason to refuse it (ERR BAD_FRAME: not four frames, then
// BAD_NAME, BAD_PREFIXES, BAD_START, checked in that order).
struct sub_decoded {
  std::optional<sub_request> sub;
  std::string_view refused;  // "" when sub is set
};
// Throws std::invalid_argument for a start before 1970 (encode_start).
outgoing encode_sub(std::string_view name, const std::vector<std::string>& prefixes, const replay_start& start);
sub_decoded decode_sub(const frames& f);

// "CREDIT" | n
outgoing encode_credit(std::uint64_t n);
std::optional<std::uint64_t> decode_credit(const frames& f);

// "ACK" | fseq (from a subscriber)
outgoing encode_replay_ack(std::uint64_t fseq);
std::optional<std::uint64_t> decode_replay_ack(const frames& f);

// "NACK" | fseq (from a subscriber)
outgoing encode_replay_nack(std::uint64_t fseq);
std::optional<std::uint64_t> decode_replay_nack(const frames& f);

// "PING", "BYE": one frame each.
outgoing encode_ping();
bool decode_ping(const frames& f);
outgoing encode_bye();
bool decode_bye(const frames& f);

// "MSG" | topic | envelope | position
struct delivery {
  zmq::message_t topic, envelope;  // taken from the received frames, not decoded
  journal_position position;
};
outgoing encode_msg(std::string_view topic, std::string_view envelope, const journal_position& p);
// Throws decode_error on "frames" (not four) or "position". Moves topic and
// envelope out of f.
delivery decode_msg(frames& f);

// "ERR" | reason
outgoing encode_err(std::string_view reason);
// The reason (a view into f); throws decode_error on "ERR" when there are
// not two frames.
std::string_view decode_err(const frames& f);

// --- Live fan-out -----------------------------------------------------------

// topic | envelope | position. Subscribers decode it with lib's
// receive_message (zmqkit/envelope.hpp), as a two-frame message with a
// position.
outgoing encode_live(std::string_view topic, std::string_view envelope, const journal_position& p);

// --- Control ----------------------------------------------------------------

namespace control {
inline constexpr std::string_view pause = "PAUSE";
inline constexpr std::string_view resume = "RESUME";
inline constexpr std::string_view terminate = "TERMINATE";
inline constexpr std::string_view statistics = "STATISTICS";
inline constexpr std::string_view stats = "STATS";
inline constexpr std::string_view ok = "OK";
inline constexpr std::string_view unknown = "ERROR unknown command: ";  // then the command, at most 64 bytes
}  // namespace control

// A request is one frame; "" for anything else (answered as unknown).
std::string_view decode_control(const frames& f, bool truncated) noexcept;
std::string encode_control_unknown(std::string_view request);

// STATISTICS: 8 frames, each a little-endian uint64, as libzmq's proxy.
using statistics = std::array<std::uint64_t, 8>;
outgoing encode_statistics(const statistics& v);
std::optional<statistics> decode_statistics(const frames& f);

// Little-endian uint64: STATISTICS' frames, and the forward-to link's
// position file (docs/journal.md), which is two of them.
void put_u64_le(char* out, std::uint64_t v) noexcept;
std::uint64_t get_u64_le(const char* in) noexcept;

// --- Sockets ----------------------------------------------------------------

// Reads one whole multipart message without waiting; false when none is
// there. With routing_id (a ROUTER), the first frame goes there and the
// rest into out. Frames past max_frames are read and dropped (*truncated
// set), so a hostile peer cannot make it hold an unbounded list.
bool receive_frames(zmq::socket_t& s, frames& out, bool* truncated, std::size_t max_frames,
                    zmq::message_t* routing_id = nullptr);
// Sends m as one message without waiting, behind routing_id on a ROUTER.
// False on EAGAIN, m then untouched; throws zmq::error_t for other errors
// (EHOSTUNREACH on a mandatory ROUTER). Consumes m's frames once sent.
bool send_frames(zmq::socket_t& s, outgoing& m);
bool send_frames(zmq::socket_t& s, std::string_view routing_id, outgoing& m);
inline bool send_frames(zmq::socket_t& s, outgoing&& m) { return send_frames(s, m); }
inline bool send_frames(zmq::socket_t& s, std::string_view routing_id, outgoing&& m) {
  return send_frames(s, routing_id, m);
}

}  // namespace zmqkit::protocol
