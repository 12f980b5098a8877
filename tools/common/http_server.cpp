// One thread, one poll() over the listening socket, a wake-up eventfd and
// every connection, all non-blocking: no connection waits for another.
// A connection reads its request (bounded), gets its answer written as the
// client takes it, then half-closes and waits for the client to close, so
// that unread request bytes cannot turn the close into a reset that would
// destroy the answer on its way. Each step is bounded by the connection's
// deadline, and the number of connections by max_connections.
#include "common/http_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <list>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <vector>

namespace zmqkit::tools {

namespace {

using clock_type = std::chrono::steady_clock;

struct connection {
  int fd = -1;
  clock_type::time_point deadline;
  std::string in;        // the request so far
  std::string out;       // the answer, once there is one
  std::size_t sent = 0;  // bytes of out written
  bool answered = false;  // out is complete
  bool finishing = false;  // out sent and our side shut down: waiting for the client's close
};

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    default: return "Internal Server Error";
  }
}

std::string answer(int status, const std::string& content_type, const std::string& body) {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " + reason(status) + "\r\nContent-Type: " +
                     content_type + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  if (status == 405) head += "Allow: GET\r\n";
  return head + "Connection: close\r\n\r\n" + body;
}

// A socket bound and listening on address (see the header), non-blocking.
int listen_on(const std::string& address) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  const auto colon = address.rfind(':');
  const std::string host = colon == std::string::npos ? "" : address.substr(0, colon);
  const std::string port_text = colon == std::string::npos ? address : address.substr(colon + 1);
  const auto port = htons(static_cast<std::uint16_t>(std::stoul(port_text)));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    auto& a = reinterpret_cast<sockaddr_in6&>(ss);
    a.sin6_family = AF_INET6;
    a.sin6_port = port;
    if (::inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &a.sin6_addr) != 1)
      throw std::runtime_error("not an IPv6 address: " + host);
    len = sizeof a;
  } else {
    auto& a = reinterpret_cast<sockaddr_in&>(ss);
    a.sin_family = AF_INET;
    a.sin_port = port;
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    if (!host.empty() && ::inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1)
      throw std::runtime_error("not an IPv4 address: " + host);
    len = sizeof a;
  }
  const int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::strerror(errno));
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);  // restart while old connections linger
  if (ss.ss_family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, SOMAXCONN) != 0) {
    const int e = errno;
    ::close(fd);
    throw std::runtime_error(std::strerror(e));
  }
  return fd;
}

}  // namespace

struct http_server::impl {
  std::string path, content_type;
  document body;
  limits lim;
  int listener = -1;
  int wake = -1;  // eventfd: the destructor's stop
  std::uint16_t port = 0;
  std::list<connection> connections;  // oldest first
  clock_type::time_point accept_paused_until{};
  std::thread thread;

  void run();
  void accept_all(clock_type::time_point now);
  void on_readable(connection& c);
  void on_request(connection& c, std::string_view head);
  void respond(connection& c, int status, const std::string& text);
  void on_writable(connection& c);
  void close(std::list<connection>::iterator it) {
    ::close(it->fd);
    connections.erase(it);
  }
};

void http_server::impl::run() {
  std::vector<pollfd> fds;
  std::vector<std::list<connection>::iterator> of;  // the connection of fds[i + 2]
  while (true) {
    const auto now = clock_type::now();
    fds.assign({{wake, POLLIN, 0}, {now >= accept_paused_until ? listener : -1, POLLIN, 0}});
    of.clear();
    auto wait = accept_paused_until > now ? accept_paused_until - now : clock_type::duration::max();
    for (auto it = connections.begin(); it != connections.end(); ++it) {
      const short events = it->answered && !it->finishing ? POLLOUT : POLLIN;
      fds.push_back({it->fd, events, 0});
      of.push_back(it);
      wait = std::min(wait, it->deadline - now);
    }
    const int timeout = wait == clock_type::duration::max()
                            ? -1
                            : static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(
                                                   std::max(wait, clock_type::duration::zero()))
                                                   .count());
    if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) return;
    if (fds[0].revents) return;
    for (std::size_t i = 0; i < of.size(); ++i) {
      auto& c = *of[i];
      const auto ev = fds[i + 2].revents;
      if (ev & (POLLERR | POLLNVAL)) {
        c.deadline = clock_type::time_point{};  // closed below
      } else if (ev & POLLOUT) {
        on_writable(c);
      } else if (ev & (POLLIN | POLLHUP)) {
        on_readable(c);
      }
    }
    const auto after = clock_type::now();
    for (auto it = connections.begin(); it != connections.end();) {
      if (it->fd >= 0 && after < it->deadline) {
        ++it;
        continue;
      }
      if (it->fd >= 0) ::close(it->fd);
      it = connections.erase(it);
    }
    if (fds[1].revents & POLLIN) accept_all(after);
  }
}

void http_server::impl::accept_all(clock_type::time_point now) {
  while (true) {
    const int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: make room, or stop accepting for a moment
        // rather than spin on a listener that stays readable.
        if (!connections.empty()) close(connections.begin());
        else accept_paused_until = now + std::chrono::milliseconds(100);
      }
      return;  // EAGAIN: none left
    }
    if (connections.size() >= lim.max_connections) close(connections.begin());
    connection c;
    c.fd = fd;
    c.deadline = now + lim.deadline;
    connections.push_back(std::move(c));
  }
}

void http_server::impl::on_readable(connection& c) {
  char buf[4096];
  const auto n = ::recv(c.fd, buf, sizeof buf, 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {  // closed by the client (after its answer: done) or failed
    ::close(c.fd);
    c.fd = -1;
    return;
  }
  if (c.answered) return;  // finishing: what comes after the request is read and dropped
  const auto before = c.in.size();
  c.in.append(buf, std::min(static_cast<std::size_t>(n), lim.max_request + 1 - c.in.size()));
  // The end of the head may straddle two reads: look from 3 bytes back.
  const auto from = before >= 3 ? before - 3 : 0;
  auto end = c.in.find("\r\n\r\n", from);
  if (end == std::string::npos) end = c.in.find("\n\n", from);
  if (end != std::string::npos && end <= lim.max_request) {
    on_request(c, std::string_view(c.in).substr(0, end));
  } else if (c.in.size() > lim.max_request) {
    respond(c, 431, "request over " + std::to_string(lim.max_request) + " bytes\n");
  }
}

void http_server::impl::on_request(connection& c, std::string_view head) {
  const auto line = head.substr(0, head.find_first_of("\r\n"));
  const auto sp1 = line.find(' ');
  const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.substr(sp2 + 1).rfind("HTTP/1.", 0) != 0) {
    respond(c, 400, "not an HTTP/1.x request\n");
    return;
  }
  const auto method = line.substr(0, sp1);
  const auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (target.substr(0, target.find('?')) != path) {
    respond(c, 404, "not found: GET " + path + "\n");
  } else if (method != "GET") {
    respond(c, 405, "only GET " + path + "\n");
  } else {
    try {
      const auto text = body();
      c.out = answer(200, content_type, text);
      c.answered = true;
      on_writable(c);
    } catch (const std::exception& e) {
      respond(c, 500, std::string(e.what()) + "\n");
    }
  }
}

void http_server::impl::respond(connection& c, int status, const std::string& text) {
  c.out = answer(status, "text/plain; charset=utf-8", text);
  c.answered = true;
  on_writable(c);
}

void http_server::impl::on_writable(connection& c) {
  while (c.sent < c.out.size()) {
    const auto n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;  // the client reads slowly: poll for room
    if (n < 0) {
      ::close(c.fd);
      c.fd = -1;
      return;
    }
    c.sent += static_cast<std::size_t>(n);
  }
  std::string().swap(c.out);
  std::string().swap(c.in);
  ::shutdown(c.fd, SHUT_WR);
  c.finishing = true;
}

http_server::http_server(const std::string& address, std::string path, std::string content_type, document body,
                         limits l)
    : p_(std::make_unique<impl>()) {
  p_->path = std::move(path);
  p_->content_type = std::move(content_type);
  p_->body = std::move(body);
  p_->lim = l;
  p_->listener = listen_on(address);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(p_->listener, reinterpret_cast<sockaddr*>(&ss), &len);
  p_->port = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(ss).sin6_port
                                            : reinterpret_cast<sockaddr_in&>(ss).sin_port);
  p_->wake = ::eventfd(0, EFD_CLOEXEC);
  if (p_->wake < 0) {
    const int e = errno;
    ::close(p_->listener);
    throw std::runtime_error(std::strerror(e));
  }
  p_->thread = std::thread([p = p_.get()] { p->run(); });
}

http_server::~http_server() {
  const std::uint64_t one = 1;
  (void)!::write(p_->wake, &one, sizeof one);
  p_->thread.join();
  for (auto& c : p_->connections)
    if (c.fd >= 0) ::close(c.fd);
  ::close(p_->listener);
  ::close(p_->wake);
}

std::uint16_t http_server::port() const noexcept { return p_->port; }

}  // namespace zmqkit::tools
