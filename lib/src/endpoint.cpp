#include <zmqkit/endpoint.hpp>

#include <array>
#include <stdexcept>

#include <zmq.hpp>

#include <zmqkit/detail/zmq_error.hpp>
#include <zmqkit/error.hpp>
#include <zmqkit/socket_options.hpp>

namespace zmqkit {
namespace {

constexpr std::array<std::string_view, 7> transports{"tcp", "ipc", "inproc", "pgm",
                                                     "epgm", "ws", "wss"};

std::string in_quotes(std::string_view s) { return "'" + std::string(s) + "'"; }

// Stable since libzmq 4.3 but listed among the drafts in its header.
constexpr int zap_enforce_domain = 93;

// libzmq copies a socket's options into each bind and connect as it is
// made, so setting the mechanism just before each one secures endpoints
// one by one. ZMQ_CURVE_SERVER 0 means the NULL mechanism until a server
// key makes the socket a CURVE client. A ZAP domain, once set, cannot be
// cleared (libzmq refuses ""), and a NULL bind with a domain would ask the
// authenticator; so attach() makes the plain endpoints first.
void secure(zmq::socket_t& s, const curve_options& c, const endpoint& ep) {
  const bool server = ep.mode == endpoint_mode::bind;
  s.set(zmq::sockopt::curve_server, ep.is_tcp() && server);
  if (!ep.is_tcp()) return;
  // As 32 bytes: libzmq 4.3 takes Z85 text only with its terminating NUL.
  s.set(zmq::sockopt::curve_publickey, zmq::buffer(z85_key_bytes(c.public_key)));
  s.set(zmq::sockopt::curve_secretkey, zmq::buffer(z85_key_bytes(c.secret_key)));
  if (!server) {
    s.set(zmq::sockopt::curve_serverkey, zmq::buffer(z85_key_bytes(c.server_key)));
    return;
  }
  s.set(zmq::sockopt::zap_domain, c.zap_domain);
  const int enforce = 1;
  if (zmq_setsockopt(s.handle(), zap_enforce_domain, &enforce, sizeof enforce) != 0)
    throw zmq::error_t();
}

}  // namespace

endpoint endpoint::parse(std::string_view text, endpoint_mode fallback) {
  endpoint ep;
  ep.mode = fallback;
  std::string_view rest = text;
  if (!rest.empty() && (rest.front() == '@' || rest.front() == '>')) {
    ep.mode = rest.front() == '@' ? endpoint_mode::bind : endpoint_mode::connect;
    rest.remove_prefix(1);
  }
  const auto sep = rest.find("://");
  if (sep == std::string_view::npos)
    throw std::invalid_argument("endpoint " + in_quotes(text) +
                                ": expected transport://address, e.g. tcp://127.0.0.1:5556");
  const auto transport = rest.substr(0, sep);
  bool known = false;
  for (auto t : transports) known = known || t == transport;
  if (!known)
    throw std::invalid_argument("endpoint " + in_quotes(text) + ": unknown transport " +
                                in_quotes(transport) + " (use tcp, ipc or inproc)");
  if (rest.size() == sep + 3)
    throw std::invalid_argument("endpoint " + in_quotes(text) + ": address after " +
                                in_quotes(std::string(transport) + "://") + " is empty");
  if (transport == "tcp") {  // libzmq would quietly take 99999 modulo 65536
    const auto colon = rest.rfind(':');
    const auto port = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    bool digits = !port.empty() && port.size() <= 5;
    for (char c : port) digits = digits && c >= '0' && c <= '9';
    if (port != "*" && (!digits || std::stoul(std::string(port)) > 65535))
      throw std::invalid_argument("endpoint " + in_quotes(text) +
                                  ": tcp needs a port from 0 to 65535, or *");
  }
  ep.address = std::string(rest);
  return ep;
}

std::string endpoint::to_string() const {
  return (mode == endpoint_mode::bind ? "@" : ">") + address;
}

bool operator==(const endpoint& a, const endpoint& b) {
  return a.mode == b.mode && a.address == b.address;
}

std::vector<endpoint> parse_endpoints(std::string_view text, endpoint_mode fallback) {
  std::vector<endpoint> out;
  while (true) {
    const auto comma = text.find(',');
    out.push_back(endpoint::parse(text.substr(0, comma), fallback));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

std::vector<std::string> attach(zmq::socket_t& socket, const std::vector<endpoint>& endpoints,
                                const curve_options& curve) {
  std::vector<std::string> resolved(endpoints.size());
  const auto attach_one = [&](std::size_t i) {
    const auto& ep = endpoints[i];
    const bool binding = ep.mode == endpoint_mode::bind;
    const auto what = std::string(binding ? "bind " : "connect ") + ep.address;
    if (curve.enabled() && !binding && ep.is_tcp() && curve.server_key.empty())
      throw key_error(what + ": CURVE needs the server's public key to connect");
    detail::translate(what.c_str(), [&] {
      if (curve.enabled()) secure(socket, curve, ep);
      if (binding) {
        socket.bind(ep.address);
        resolved[i] = socket.get(zmq::sockopt::last_endpoint);
      } else {
        socket.connect(ep.address);
        resolved[i] = ep.address;
      }
    });
  };
  for (std::size_t i = 0; i < endpoints.size(); ++i)
    if (!curve.enabled() || !endpoints[i].is_tcp()) attach_one(i);
  for (std::size_t i = 0; i < endpoints.size(); ++i)
    if (curve.enabled() && endpoints[i].is_tcp()) attach_one(i);
  return resolved;
}

}  // namespace zmqkit
