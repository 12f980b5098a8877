#include <zmqkit/endpoint.hpp>

#include <array>
#include <stdexcept>

#include <zmq.hpp>

#include <zmqkit/error.hpp>

namespace zmqkit {
namespace {

constexpr std::array<std::string_view, 7> transports{"tcp", "ipc", "inproc", "pgm",
                                                     "epgm", "ws", "wss"};

std::string in_quotes(std::string_view s) { return "'" + std::string(s) + "'"; }

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

std::vector<std::string> attach(zmq::socket_t& socket, const std::vector<endpoint>& endpoints) {
  std::vector<std::string> resolved;
  for (const auto& ep : endpoints) {
    const bool binding = ep.mode == endpoint_mode::bind;
    const auto what = std::string(binding ? "bind " : "connect ") + ep.address;
    detail::translate(what.c_str(), [&] {
      if (binding) {
        socket.bind(ep.address);
        resolved.push_back(socket.get(zmq::sockopt::last_endpoint));
      } else {
        socket.connect(ep.address);
        resolved.push_back(ep.address);
      }
    });
  }
  return resolved;
}

}  // namespace zmqkit
