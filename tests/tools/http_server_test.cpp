// tools/common/http_server: the HTTP side of zmq-forwarder --metrics, with
// real TCP clients, well-behaved and not: idle, half a request, oversized,
// never reading. zmq_forwarder_metrics_test.cpp has the forwarder's side.
#include "common/http_server.hpp"

#include <doctest/doctest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "support/http_get.hpp"
#include "support/raw_tcp.hpp"

using zmqkit::tools::http_server;
using namespace zmqkit::test;
using namespace std::chrono_literals;

namespace {

const std::string document = "up 1\n";

std::string address(const http_server& s) { return "127.0.0.1:" + std::to_string(s.port()); }
std::string url(const http_server& s, const std::string& path = "/metrics") {
  return "http://" + address(s) + path;
}

// Sends a whole request and reads the answer to the server's close.
std::string exchange(const http_server& s, const std::string& request) {
  const int fd = tcp_connect(address(s));
  REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size()));
  const auto got = read_until_closed(fd, 5s);
  ::close(fd);
  return got;
}

// Closes the file descriptors of the clients a test opened.
struct clients {
  std::vector<int> fds;
  ~clients() {
    for (const int fd : fds) ::close(fd);
  }
};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST_CASE("http_server: SHALL answer GET of its path with the document, and 404, 405 or 400 otherwise") {
  http_server s("127.0.0.1:0", "/metrics", "text/plain; version=0.0.4; charset=utf-8", [] { return document; });
  CHECK(s.port() != 0);
  const auto ok = http_get(url(s));
  CHECK(ok.status == 200);
  CHECK(ok.body == document);
  CHECK(http_get(url(s, "/metrics?x=1")).body == document);

  const auto full = exchange(s, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(full.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(full.find("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n") != std::string::npos);
  CHECK(full.find("\r\nContent-Length: 5\r\n") != std::string::npos);
  CHECK(full.find("\r\nConnection: close\r\n") != std::string::npos);
  CHECK(full.substr(full.size() - document.size()) == document);

  CHECK(http_get(url(s, "/")).status == 404);
  CHECK(http_get(url(s, "/metricsx")).status == 404);
  CHECK(exchange(s, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n").rfind("HTTP/1.1 405 ", 0) == 0);
  CHECK(exchange(s, "hello\r\n\r\n").rfind("HTTP/1.1 400 ", 0) == 0);
  CHECK(exchange(s, "GET /metrics SPDY/3\r\n\r\n").rfind("HTTP/1.1 400 ", 0) == 0);
  CHECK(exchange(s, "GET /metrics HTTP/1.0\n\n").rfind("HTTP/1.1 200 ", 0) == 0);  // bare newlines
}

TEST_CASE("http_server: SHALL answer within a second while ten clients hold half a request and ten send "
          "nothing") {
  // Behind civetweb's two worker threads, two such clients held every
  // scrape for its 30 s request timeout.
  http_server s("127.0.0.1:0", "/metrics", "text/plain", [] { return document; });
  clients idle;
  for (int i = 0; i < 20; ++i) {
    idle.fds.push_back(tcp_connect(address(s)));
    if (i % 2 == 0) {
      const std::string half = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n";
      REQUIRE(::send(idle.fds.back(), half.data(), half.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(half.size()));
    }
  }
  for (int scrape = 0; scrape < 3; ++scrape) {
    const auto start = std::chrono::steady_clock::now();
    const auto r = http_get(url(s));
    const auto took = seconds_since(start);
    CHECK(r.status == 200);
    CHECK(took < 2.0);  // about a millisecond when the machine is idle
  }
}

TEST_CASE("http_server: SHALL refuse a request over max_request with 431 and close the connection") {
  http_server s("127.0.0.1:0", "/metrics", "text/plain", [] { return document; });
  const std::string huge = "GET /metrics HTTP/1.1\r\nX-Filler: " + std::string(64 * 1024, 'a') + "\r\n\r\n";
  const auto got = exchange(s, huge);
  CHECK(got.rfind("HTTP/1.1 431 ", 0) == 0);
  CHECK(http_get(url(s)).status == 200);  // and serves on

  SUBCASE("also when it never ends its head") {
    const int fd = tcp_connect(address(s));
    const std::string endless(16 * 1024, 'b');
    REQUIRE(::send(fd, endless.data(), endless.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(endless.size()));
    CHECK(read_until_closed(fd, 5s).rfind("HTTP/1.1 431 ", 0) == 0);
    ::close(fd);
  }
}

TEST_CASE("http_server: SHALL serve others while a client never reads its answer") {
  // 16 MiB: more than the socket buffers hold, so the server is left with
  // an answer it cannot finish writing.
  const std::string big(16 << 20, 'm');
  http_server s("127.0.0.1:0", "/metrics", "text/plain", [&] { return big; });
  clients stuck;
  for (int i = 0; i < 3; ++i) {
    stuck.fds.push_back(tcp_connect(address(s)));
    const std::string request = "GET /metrics HTTP/1.1\r\n\r\n";
    REQUIRE(::send(stuck.fds.back(), request.data(), request.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(request.size()));
  }
  const auto start = std::chrono::steady_clock::now();
  const auto r = http_get(url(s));
  CHECK(r.status == 200);
  CHECK(r.body.size() == big.size());
  CHECK(seconds_since(start) < 5.0);
}

TEST_CASE("http_server: SHALL close a connection at its deadline, and the oldest past max_connections") {
  http_server::limits l;
  l.deadline = 500ms;
  l.max_connections = 4;
  http_server s("127.0.0.1:0", "/metrics", "text/plain", [] { return document; }, l);

  SUBCASE("a client that sends nothing is closed at its deadline") {
    const int fd = tcp_connect(address(s));
    const auto start = std::chrono::steady_clock::now();
    CHECK(read_until_closed(fd, 5s).empty());
    CHECK(seconds_since(start) < 4.0);
    ::close(fd);
  }
  SUBCASE("a fifth connection closes the first") {
    l.deadline = 60s;
    http_server patient("127.0.0.1:0", "/metrics", "text/plain", [] { return document; }, l);
    clients idle;
    for (int i = 0; i < 4; ++i) idle.fds.push_back(tcp_connect(address(patient)));
    CHECK(http_get(url(patient)).status == 200);
    CHECK(read_until_closed(idle.fds.front(), 5s).empty());
  }
}
