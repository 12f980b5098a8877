// The forwarder's protocol codec (forwarder_protocol.hpp, docs/protocol.md).
// Bytes from the wire are read with msgpack_reader, which checks every
// length against the bytes present before trusting it; prefixes go through
// msgpack-c's unpacker with limits on every size, so no frame can make it
// allocate more than the frame's own size allows.
#include "forwarder_protocol.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <stdexcept>

#include <msgpack.hpp>

#include <zmqkit/detail/tsan.hpp>
#include <zmqkit/msgpack_reader.hpp>

namespace zmqkit::protocol {

namespace {

std::string bytes_of(const msgpack::sbuffer& b) { return std::string(b.data(), b.size()); }

bool is(const frames& f, std::string_view cmd, std::size_t n) {
  return f.size() == n && view(f[0]) == cmd;
}

// "CMD" | uint, as CREDIT, and the subscriber's ACK and NACK are.
std::optional<std::uint64_t> decode_numbered(const frames& f, std::string_view cmd) {
  if (!is(f, cmd, 2)) return std::nullopt;
  return decode_uint(view(f[1]));
}

}  // namespace

outgoing::outgoing(std::initializer_list<std::string_view> frames) {
  for (const auto f : frames) add(f);
}

void outgoing::add(std::string_view bytes) { add(zmq::message_t(bytes.data(), bytes.size())); }

void outgoing::add(zmq::message_t frame) {
  if (size_ == capacity) throw std::logic_error("protocol::outgoing: more than 8 frames");
  frames_[size_++] = std::move(frame);
}

std::size_t outgoing::bytes() const noexcept {
  std::size_t n = 0;
  for (std::size_t i = 0; i < size_; ++i) n += frames_[i].size();
  return n;
}

// --- The durable forwarder: frames ------------------------------------------

std::string encode_uint(std::uint64_t v) {
  msgpack::sbuffer b;
  msgpack::pack(b, v);
  return bytes_of(b);
}

std::optional<std::uint64_t> decode_uint(std::string_view bytes) {
  try {
    msgpack_reader r(bytes);
    const auto v = r.read_uint("uint");
    if (r.remaining() != 0) return std::nullopt;
    return v;
  } catch (const decode_error&) {
    return std::nullopt;
  }
}

std::string encode_key(const pub_key& k) {
  msgpack::sbuffer b;
  msgpack::packer<msgpack::sbuffer> pk(b);
  pk.pack_array(k.first ? 3 : 2);
  pk.pack_bin(16);
  pk.pack_bin_body(reinterpret_cast<const char*>(k.key.sender.data()), 16);
  pk.pack(k.key.seq);
  if (k.first) pk.pack(k.first);
  return bytes_of(b);
}

std::optional<pub_key> decode_key(std::string_view bytes) {
  try {
    msgpack_reader r(bytes);
    const auto n = r.read_array_header("key");
    if (n < 2) return std::nullopt;
    const auto id = r.read_bin("key.sender");
    if (id.size() != 16) return std::nullopt;
    pub_key k;
    std::copy(id.begin(), id.end(), k.key.sender.begin());
    k.key.seq = r.read_uint("key.seq");
    if (n >= 3) k.first = r.read_uint("key.first");
    for (auto i = n; i > 3; --i) r.skip_value("key");
    if (r.remaining() != 0 || k.key.seq == 0) return std::nullopt;
    if (n >= 3 && (k.first == 0 || k.first > k.key.seq)) return std::nullopt;
    return k;
  } catch (const decode_error&) {
    return std::nullopt;
  }
}

std::string encode_prefixes(const std::vector<std::string>& prefixes) {
  msgpack::sbuffer b;
  msgpack::packer<msgpack::sbuffer> pk(b);
  pk.pack_array(static_cast<std::uint32_t>(prefixes.size()));
  for (const auto& p : prefixes) {
    pk.pack_bin(static_cast<std::uint32_t>(p.size()));
    pk.pack_bin_body(p.data(), static_cast<std::uint32_t>(p.size()));
  }
  return bytes_of(b);
}

std::optional<std::vector<std::string>> decode_prefixes(std::string_view bytes) {
  try {
    const msgpack::unpack_limit limit(1024, 0, 65535, 65535, 0, 2);
    auto handle = msgpack::unpack(bytes.data(), bytes.size(), nullptr, nullptr, limit);
    const auto& o = handle.get();
    if (o.type != msgpack::type::ARRAY) return std::nullopt;
    std::vector<std::string> out;
    for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
      const auto& e = o.via.array.ptr[i];
      if (e.type == msgpack::type::STR)
        out.emplace_back(e.via.str.ptr, e.via.str.size);
      else if (e.type == msgpack::type::BIN)
        out.emplace_back(e.via.bin.ptr, e.via.bin.size);
      else
        return std::nullopt;
    }
    return out;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string encode_start(const replay_start& s) {
  using kind = replay_start::kind;
  switch (s.what) {
    case kind::first: return "first";
    case kind::only_new: return "new";
    case kind::resume: return "resume";
    case kind::fseq: return "fseq:" + std::to_string(s.fseq);
    case kind::time: {
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(s.time.time_since_epoch()).count();
      if (ns < 0) throw std::invalid_argument("replay start: a time before 1970");
      return "time:" + std::to_string(ns);
    }
  }
  return "resume";
}

std::optional<replay_start> decode_start(std::string_view text) {
  const auto number = [](std::string_view digits) -> std::optional<std::uint64_t> {
    if (digits.empty() || digits.size() > 19) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return v;
  };
  if (text == "first") return replay_start::first();
  if (text == "new") return replay_start::only_new();
  if (text == "resume") return replay_start::resume();
  if (text.substr(0, 5) == "fseq:")
    if (const auto v = number(text.substr(5))) return replay_start::at(*v);
  if (text.substr(0, 5) == "time:")
    if (const auto v = number(text.substr(5))) {
      // 19 digits reach past INT64_MAX: such a time is the end of time.
      const std::chrono::nanoseconds ns(static_cast<std::int64_t>(std::min<std::uint64_t>(*v, INT64_MAX)));
      return replay_start::at(std::chrono::system_clock::time_point(
          std::chrono::duration_cast<std::chrono::system_clock::duration>(ns)));
    }
  return std::nullopt;
}

// --- Intake: acknowledged publishing ----------------------------------------

outgoing encode_pub(std::string_view topic, zmq::message_t envelope, const std::optional<pub_key>& key) {
  outgoing m{command::pub, topic};
  m.add(std::move(envelope));
  if (key) m.add(encode_key(*key));
  return m;
}

std::optional<pub> decode_pub(frames& f) {
  if ((f.size() != 3 && f.size() != 4) || view(f[0]) != command::pub) return std::nullopt;
  std::optional<pub_key> key;
  if (f.size() == 4 && !(key = decode_key(view(f[3])))) return std::nullopt;
  return pub{std::move(f[1]), std::move(f[2]), key};
}

outgoing encode_ack(std::string_view sender, std::uint64_t seq) {
  return {command::ack, sender, encode_uint(seq)};
}

std::optional<intake_ack> decode_ack(const frames& f) {
  if (!is(f, command::ack, 3)) return std::nullopt;
  const auto seq = decode_uint(view(f[2]));
  if (!seq) return std::nullopt;
  return intake_ack{view(f[1]), *seq};
}

outgoing encode_nack(std::string_view reason, std::string_view sender, std::uint64_t seq) {
  return {command::nack, reason, sender, encode_uint(seq)};
}

std::optional<intake_nack> decode_nack(const frames& f) {
  if (!is(f, command::nack, 4)) return std::nullopt;
  const auto seq = decode_uint(view(f[3]));
  if (!seq) return std::nullopt;
  return intake_nack{view(f[1]), view(f[2]), *seq};
}

// --- Replay: durable subscriptions ------------------------------------------

outgoing encode_sub(std::string_view name, const std::vector<std::string>& prefixes, const replay_start& start) {
  return {command::sub, name, encode_prefixes(prefixes), encode_start(start)};
}

sub_decoded decode_sub(const frames& f) {
  if (!is(f, command::sub, 4)) return {std::nullopt, reason::bad_frame};
  std::string name(view(f[1]));
  auto prefixes = decode_prefixes(view(f[2]));
  const auto start = decode_start(view(f[3]));
  // A name durable_subscriber takes is also a cursor's: the position's
  // cursor, "sub." + name, is then a valid name too.
  if (!durable_subscriber::valid_name(name)) return {std::nullopt, reason::bad_name};
  if (!prefixes) return {std::nullopt, reason::bad_prefixes};
  if (!start) return {std::nullopt, reason::bad_start};
  return {sub_request{std::move(name), std::move(*prefixes), *start}, {}};
}

outgoing encode_credit(std::uint64_t n) { return {command::credit, encode_uint(n)}; }
std::optional<std::uint64_t> decode_credit(const frames& f) { return decode_numbered(f, command::credit); }

outgoing encode_replay_ack(std::uint64_t fseq) { return {command::ack, encode_uint(fseq)}; }
std::optional<std::uint64_t> decode_replay_ack(const frames& f) { return decode_numbered(f, command::ack); }

outgoing encode_replay_nack(std::uint64_t fseq) { return {command::nack, encode_uint(fseq)}; }
std::optional<std::uint64_t> decode_replay_nack(const frames& f) { return decode_numbered(f, command::nack); }

outgoing encode_ping() { return {command::ping}; }
bool decode_ping(const frames& f) { return is(f, command::ping, 1); }

outgoing encode_bye() { return {command::bye}; }
bool decode_bye(const frames& f) { return is(f, command::bye, 1); }

outgoing encode_msg(std::string_view topic, std::string_view envelope, const journal_position& p) {
  return {command::msg, topic, envelope, encode_position(p)};
}

delivery decode_msg(frames& f) {
  if (f.size() != 4)
    throw decode_error("frames", "MSG with " + std::to_string(f.size()) + " frames, expected 4");
  const auto position = decode_position(view(f[3]));
  return delivery{std::move(f[1]), std::move(f[2]), position};
}

outgoing encode_err(std::string_view reason) { return {command::err, reason}; }

std::string_view decode_err(const frames& f) {
  if (f.size() != 2) throw decode_error("ERR", std::to_string(f.size()) + " frames, expected 2");
  return view(f[1]);
}

// --- Live fan-out -----------------------------------------------------------

outgoing encode_live(std::string_view topic, std::string_view envelope, const journal_position& p) {
  return {topic, envelope, encode_position(p)};
}

// --- Control ----------------------------------------------------------------

std::string_view decode_control(const frames& f, bool truncated) noexcept {
  return f.size() == 1 && !truncated ? view(f[0]) : "";
}

std::string encode_control_unknown(std::string_view request) {
  return std::string(control::unknown) + std::string(request.substr(0, 64));
}

outgoing encode_statistics(const statistics& v) {
  outgoing m;
  for (const auto n : v) {
    char b[8];
    put_u64_le(b, n);
    m.add(std::string_view(b, 8));
  }
  return m;
}

std::optional<statistics> decode_statistics(const frames& f) {
  statistics v{};
  if (f.size() != v.size()) return std::nullopt;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (f[i].size() != 8) return std::nullopt;
    v[i] = get_u64_le(static_cast<const char*>(f[i].data()));
  }
  return v;
}

void put_u64_le(char* out, std::uint64_t v) noexcept {
  for (int k = 0; k < 8; ++k) out[k] = static_cast<char>(v >> (8 * k));
}

std::uint64_t get_u64_le(const char* in) noexcept {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

// --- Sockets ----------------------------------------------------------------

bool receive_frames(zmq::socket_t& s, frames& out, bool* truncated, std::size_t max_frames,
                    zmq::message_t* routing_id) {
  out.clear();
  if (truncated) *truncated = false;
  zmq::message_t m;
  if (!s.recv(m, zmq::recv_flags::dontwait)) return false;
  detail::received(m);
  bool more = m.more();
  if (routing_id)
    *routing_id = std::move(m);
  else
    out.push_back(std::move(m));
  while (more) {  // the rest of a multipart message is already here
    zmq::message_t next;
    (void)s.recv(next);
    detail::received(next);
    more = next.more();
    if (out.size() < max_frames) {
      out.push_back(std::move(next));
    } else if (truncated) {
      *truncated = true;
    }
  }
  return true;
}

bool send_frames(zmq::socket_t& s, outgoing& m) {
  for (std::size_t i = 0; i < m.size_; ++i) {
    auto flags = zmq::send_flags::dontwait;
    if (i + 1 < m.size_) flags = flags | zmq::send_flags::sndmore;
    // Only the first frame can fail with EAGAIN; the rest of the message follows it.
    if (!s.send(m.frames_[i], flags)) return false;
  }
  return true;
}

bool send_frames(zmq::socket_t& s, std::string_view routing_id, outgoing& m) {
  if (!s.send(zmq::const_buffer(routing_id.data(), routing_id.size()),
              zmq::send_flags::dontwait | zmq::send_flags::sndmore))
    return false;
  return send_frames(s, m);
}

}  // namespace zmqkit::protocol
