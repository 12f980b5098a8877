// A plain-socket HTTP/1.0 GET for tests that read an HTTP endpoint (the
// forwarder's /metrics, Prometheus's query API): one request, one
// connection, the whole answer read to EOF within a 5 s deadline. Not a
// client for anything else: no redirects, no chunked decoding (HTTP/1.0
// answers are not chunked).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace zmqkit::test {

struct http_response {
  int status = 0;  // 0: no connection or no answer
  std::string body;
};

// url: "http://127.0.0.1:PORT/path?query" (an IPv4 address, no name lookup).
inline http_response http_get(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) throw std::invalid_argument("http_get: not an http:// URL: " + url);
  const auto slash = url.find('/', scheme.size());
  const std::string authority = url.substr(scheme.size(), slash - scheme.size());
  const std::string path = slash == std::string::npos ? "/" : url.substr(slash);
  const auto colon = authority.rfind(':');
  const std::string host = authority.substr(0, colon);
  const int port = colon == std::string::npos ? 80 : std::stoi(authority.substr(colon + 1));

  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::inet_pton(AF_INET, host == "0.0.0.0" ? "127.0.0.1" : host.c_str(), &addr.sin_addr) != 1)
    throw std::invalid_argument("http_get: not an IPv4 address: " + host);
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("http_get: socket failed");
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } close_it{fd};
  const timeval five_s{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &five_s, sizeof five_s);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &five_s, sizeof five_s);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) return {};
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: " + authority + "\r\nConnection: close\r\n\r\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) return {};
  std::string raw;
  char buf[16384];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) raw.append(buf, static_cast<std::size_t>(n));
  http_response r;
  const auto head_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/", 0) != 0 || head_end == std::string::npos) return r;
  const auto space = raw.find(' ');
  r.status = std::stoi(raw.substr(space + 1, 3));
  r.body = raw.substr(head_end + 4);
  return r;
}

}  // namespace zmqkit::test
