// Endpoint strings as the zmqkit tools write them: "@tcp://*:5556" binds,
// ">tcp://host:5556" connects, a bare address takes the role's default.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace zmq {
class socket_t;
}

namespace zmqkit {

enum class endpoint_mode { bind, connect };

struct endpoint {
  endpoint_mode mode = endpoint_mode::connect;
  std::string address;  // "tcp://127.0.0.1:5556", passed to zmq_bind/zmq_connect

  // Parses "@addr", ">addr" or "addr" (then fallback decides). Accepts the
  // transports libzmq 4.3 offers here: tcp, ipc, inproc, pgm, epgm, ws, wss.
  // Throws std::invalid_argument with a one-line reason on a malformed string.
  static endpoint parse(std::string_view text, endpoint_mode fallback);

  // "@addr" or ">addr": the form parse() reads back.
  std::string to_string() const;
  // A tcp:// address: the transport CURVE secures (docs/security.md).
  bool is_tcp() const noexcept { return address.rfind("tcp://", 0) == 0; }

  static endpoint bind(std::string address) { return {endpoint_mode::bind, std::move(address)}; }
  static endpoint connect(std::string address) {
    return {endpoint_mode::connect, std::move(address)};
  }
};

bool operator==(const endpoint& a, const endpoint& b);

// Parses a comma-separated list ("@tcp://*:1,>ipc:///tmp/x") as parse() does.
std::vector<endpoint> parse_endpoints(std::string_view text, endpoint_mode fallback);

struct curve_options;

// Binds or connects socket to each endpoint in order. Returns the resolved
// addresses (a bound "tcp://127.0.0.1:*" comes back with its kernel-chosen
// port; connects come back as given). Throws zmqkit::error naming the
// endpoint. With curve enabled, each tcp endpoint is secured as it is
// attached (server to bind, client to connect) and the others stay plain;
// connecting over tcp then needs curve.server_key (else key_error).
std::vector<std::string> attach(zmq::socket_t& socket, const std::vector<endpoint>& endpoints,
                                const curve_options& curve);

}  // namespace zmqkit
