// A raw TCP peer for hostile-input tests: connect to a zmqkit endpoint with
// plain sockets and send whatever bytes a test wants, ZMTP or not.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>

#include <doctest/doctest.h>

namespace zmqkit::test {

// Connects to "tcp://127.0.0.1:PORT"; the file descriptor.
inline int tcp_connect(const std::string& address) {
  const auto colon = address.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1))));
  ::inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  return fd;
}

// Reads what the peer sends until it closes or deadline; returns the bytes.
inline std::string read_until_closed(int fd, std::chrono::milliseconds deadline) {
  std::string got;
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    const auto n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return got;
    got.append(buf, static_cast<std::size_t>(n));
  }
  FAIL("the server kept the connection open past the deadline");
  return got;
}

// ZMTP 3.0 (RFC 23) as a NULL-mechanism peer of the given socket type: the
// 64-byte greeting, then the READY command with its Socket-Type.
inline std::string zmtp_null_handshake(const std::string& socket_type) {
  std::string g(64, '\0');
  g[0] = '\xff';
  g[9] = '\x7f';
  g[10] = 3;  // version 3.0
  g.replace(12, 4, "NULL");
  std::string ready = std::string("\x05READY", 6) + "\x0bSocket-Type";
  const auto n = static_cast<std::uint32_t>(socket_type.size());
  ready += std::string{char(n >> 24), char(n >> 16), char(n >> 8), char(n)} + socket_type;
  return g + std::string{'\x04', static_cast<char>(ready.size())} + ready;
}

// A frame header announcing size bytes (the long form: flags 0x02, 8-byte size).
inline std::string zmtp_long_frame_header(std::uint64_t size, bool more = false) {
  std::string h(1, static_cast<char>(0x02 | (more ? 0x01 : 0)));
  for (int i = 7; i >= 0; --i) h += static_cast<char>(size >> (8 * i));
  return h;
}

}  // namespace zmqkit::test
