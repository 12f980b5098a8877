// A small HTTP/1.x server for one document (zmq-forwarder --metrics): GET
// of one path, answered from a thread of its own that polls every
// connection at once. A client that connects and sends nothing, sends half
// a request or never reads its answer holds its own connection only, never
// another client's answer. Every connection gets one answer and is closed.
//
// Example:
//   http_server http("127.0.0.1:0", "/metrics", "text/plain", [] { return std::string("up 1\n"); });
//   // http://127.0.0.1:<http.port()>/metrics
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace zmqkit::tools {

class http_server {
 public:
  struct limits {
    // Request line and headers; a longer request is answered 431 and closed.
    std::size_t max_request = 8192;
    // From accepting a connection to its end (request read, answer sent and
    // the client's close seen); then it is closed whatever its state.
    std::chrono::milliseconds deadline{10000};
    // Open connections; a new one past this closes the oldest.
    std::size_t max_connections = 64;
  };
  // Makes the body of each GET of path, on the server's thread. A throw
  // answers 500 with what() in the body.
  using document = std::function<std::string()>;

  // Listens on address: "HOST:PORT" (an IPv4 address), "[IPv6]:PORT" or
  // "PORT" (every IPv4 interface); port 0 lets the kernel choose. Throws
  // std::runtime_error with the system's reason ("Address already in use")
  // when it cannot listen.
  http_server(const std::string& address, std::string path, std::string content_type, document body,
              limits l);
  http_server(const std::string& address, std::string path, std::string content_type, document body)
      : http_server(address, std::move(path), std::move(content_type), std::move(body), limits{}) {}
  // Stops the thread and closes every connection.
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  // The port bound.
  std::uint16_t port() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> p_;
};

}  // namespace zmqkit::tools
