#include <cstdio>

#include <msgpack.hpp>

#include <zmqkit/detail/tsan.hpp>
#include <zmqkit/envelope.hpp>
#include <zmqkit/msgpack_reader.hpp>

#include "frames.hpp"

namespace zmqkit::detail {

std::string pack_uint(std::uint64_t v) {
  msgpack::sbuffer b;
  msgpack::pack(b, v);
  return std::string(b.data(), b.size());
}

std::optional<std::uint64_t> unpack_uint(std::string_view bytes) {
  try {
    msgpack_reader r(bytes);
    const auto v = r.read_uint("uint");
    if (r.remaining() != 0) return std::nullopt;
    return v;
  } catch (const decode_error&) {
    return std::nullopt;
  }
}

std::string pack_key(const record_key& k, std::uint64_t first) {
  msgpack::sbuffer b;
  msgpack::packer<msgpack::sbuffer> pk(b);
  pk.pack_array(first ? 3 : 2);
  pk.pack_bin(16);
  pk.pack_bin_body(reinterpret_cast<const char*>(k.sender.data()), 16);
  pk.pack(k.seq);
  if (first) pk.pack(first);
  return std::string(b.data(), b.size());
}

std::optional<pub_key> unpack_key(std::string_view bytes) {
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

bool receive_frames(zmq::socket_t& s, std::vector<zmq::message_t>& out, bool* truncated,
                    std::size_t max_frames) {
  out.clear();
  if (truncated) *truncated = false;
  zmq::message_t m;
  if (!s.recv(m, zmq::recv_flags::dontwait)) return false;
  received(m);
  bool more = m.more();
  out.push_back(std::move(m));
  while (more) {  // the rest of a multipart message is already here
    zmq::message_t next;
    (void)s.recv(next);
    received(next);
    more = next.more();
    if (out.size() < max_frames) {
      out.push_back(std::move(next));
    } else if (truncated) {
      *truncated = true;
    }
  }
  return true;
}

namespace {
template <class Frames>
bool send_all(zmq::socket_t& s, const Frames& frames) {
  std::size_t i = 0;
  for (const auto& f : frames) {
    const bool last = ++i == frames.size();
    auto flags = zmq::send_flags::dontwait;
    if (!last) flags = flags | zmq::send_flags::sndmore;
    // Only the first frame can fail with EAGAIN; the rest of the message follows it.
    if (!s.send(zmq::const_buffer(f.data(), f.size()), flags)) return false;
  }
  return true;
}
}  // namespace

bool send_frames(zmq::socket_t& s, std::initializer_list<std::string_view> frames) {
  return send_all(s, frames);
}

bool send_frames(zmq::socket_t& s, const std::vector<std::string>& frames) {
  return send_all(s, frames);
}

}  // namespace zmqkit::detail
