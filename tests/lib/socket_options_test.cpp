#include <doctest/doctest.h>

#include <zmqkit/socket_options.hpp>

#include <string>

#include <zmq.hpp>

using namespace std::chrono_literals;
using zmqkit::apply_socket_options;
using zmqkit::socket_options;

TEST_CASE("socket_options: SHALL set every value on the socket") {
  zmq::context_t ctx;
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  socket_options opts;
  opts.linger = 250ms;
  opts.max_message_size = 4096;
  opts.heartbeat_interval = 300ms;
  opts.heartbeat_timeout = 1500ms;
  opts.heartbeat_ttl = 2500ms;  // libzmq keeps it in deciseconds
  opts.reconnect_interval = 20ms;
  opts.reconnect_interval_max = 900ms;
  opts.handshake_timeout = 700ms;
  opts.send_hwm = 17;
  opts.receive_hwm = 23;
  opts.tcp_keepalive_idle = 7s;
  opts.tcp_keepalive_interval = 3s;
  opts.tcp_keepalive_count = 4;
  apply_socket_options(s, opts, zmq::socket_type::dealer);

  CHECK(s.get(zmq::sockopt::linger) == 250);
  CHECK(s.get(zmq::sockopt::maxmsgsize) == 4096);
  CHECK(s.get(zmq::sockopt::heartbeat_ivl) == 300);
  CHECK(s.get(zmq::sockopt::heartbeat_timeout) == 1500);
  CHECK(s.get(zmq::sockopt::heartbeat_ttl) == 2500);
  CHECK(s.get(zmq::sockopt::reconnect_ivl) == 20);
  CHECK(s.get(zmq::sockopt::reconnect_ivl_max) == 900);
  CHECK(s.get(zmq::sockopt::handshake_ivl) == 700);
  CHECK(s.get(zmq::sockopt::sndhwm) == 17);
  CHECK(s.get(zmq::sockopt::rcvhwm) == 23);
  CHECK(s.get(zmq::sockopt::tcp_keepalive_idle) == 7);
  CHECK(s.get(zmq::sockopt::tcp_keepalive_intvl) == 3);
  CHECK(s.get(zmq::sockopt::tcp_keepalive_cnt) == 4);
}

TEST_CASE("socket_options: SHALL leave the system's keepalive alone when idle is 0s") {
  zmq::context_t ctx;
  zmq::socket_t s(ctx, zmq::socket_type::pull);
  socket_options opts;
  opts.tcp_keepalive_idle = 0s;
  apply_socket_options(s, opts, zmq::socket_type::pull);
  CHECK(s.get(zmq::sockopt::tcp_keepalive) == -1);
}

TEST_CASE("socket_options: SHALL default to the safe values of the design") {
  zmq::context_t ctx;
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  apply_socket_options(s, socket_options{}, zmq::socket_type::dealer);

  CHECK(s.get(zmq::sockopt::linger) == 1000);
  CHECK(s.get(zmq::sockopt::maxmsgsize) == 16 * 1024 * 1024);
  CHECK(s.get(zmq::sockopt::heartbeat_ivl) == 0);
  CHECK(s.get(zmq::sockopt::tcp_keepalive) == 1);
  CHECK(s.get(zmq::sockopt::tcp_keepalive_idle) == 10);
  CHECK(s.get(zmq::sockopt::tcp_keepalive_intvl) == 2);
  CHECK(s.get(zmq::sockopt::tcp_keepalive_cnt) == 5);
  CHECK(s.get(zmq::sockopt::heartbeat_timeout) == 5000);
  CHECK(s.get(zmq::sockopt::heartbeat_ttl) == 10000);
  CHECK(s.get(zmq::sockopt::reconnect_ivl) == 100);
  CHECK(s.get(zmq::sockopt::reconnect_ivl_max) == 5000);
  CHECK(s.get(zmq::sockopt::handshake_ivl) == 5000);
  CHECK(s.get(zmq::sockopt::sndhwm) == 1000);
  CHECK(s.get(zmq::sockopt::rcvhwm) == 1000);
}

TEST_CASE("socket_options: SHALL turn immediate on for PUSH only, off for DEALER, REQ and every other type") {
  zmq::context_t ctx;
  SUBCASE("on") {
    zmq::socket_t s(ctx, zmq::socket_type::push);
    s.set(zmq::sockopt::linger, 0);
    apply_socket_options(s, socket_options{}, zmq::socket_type::push);
    CHECK(s.get(zmq::sockopt::immediate));
  }
  SUBCASE("off") {
    for (auto type : {zmq::socket_type::dealer, zmq::socket_type::req, zmq::socket_type::sub,
                      zmq::socket_type::pull, zmq::socket_type::pub, zmq::socket_type::rep,
                      zmq::socket_type::router, zmq::socket_type::pair}) {
      INFO(static_cast<int>(type));
      zmq::socket_t s(ctx, type);
      s.set(zmq::sockopt::linger, 0);
      s.set(zmq::sockopt::immediate, true);  // so the default is seen to be applied
      apply_socket_options(s, socket_options{}, type);
      CHECK_FALSE(s.get(zmq::sockopt::immediate));
    }
  }
}

TEST_CASE("socket_options: SHALL let an explicit immediate override the default") {
  zmq::context_t ctx;
  SUBCASE("off on PUSH") {
    zmq::socket_t s(ctx, zmq::socket_type::push);
    socket_options opts;
    opts.immediate = false;
    apply_socket_options(s, opts, zmq::socket_type::push);
    CHECK_FALSE(s.get(zmq::sockopt::immediate));
  }
  SUBCASE("on on PUB") {
    zmq::socket_t s(ctx, zmq::socket_type::pub);
    socket_options opts;
    opts.immediate = true;
    apply_socket_options(s, opts, zmq::socket_type::pub);
    CHECK(s.get(zmq::sockopt::immediate));
  }
}

TEST_CASE("socket_options: SHALL close SUB and PULL at once (linger 0): they send nothing of "
          "their user's, and subscriptions go again on every connection") {
  zmq::context_t ctx;
  for (const auto type : {zmq::socket_type::sub, zmq::socket_type::pull}) {
    zmq::socket_t s(ctx, type);
    apply_socket_options(s, socket_options{}, type);
    CHECK(s.get(zmq::sockopt::linger) == 0);
  }
  for (const auto type : {zmq::socket_type::pub, zmq::socket_type::push, zmq::socket_type::req,
                          zmq::socket_type::rep, zmq::socket_type::router}) {
    zmq::socket_t s(ctx, type);
    apply_socket_options(s, socket_options{}, type);
    CHECK(s.get(zmq::sockopt::linger) == 1000);
  }
}

TEST_CASE("socket_options: SHALL throw zmqkit::error on a value libzmq refuses") {
  zmq::context_t ctx;
  zmq::socket_t s(ctx, zmq::socket_type::push);
  socket_options opts;
  opts.linger = -5ms;
  try {
    apply_socket_options(s, opts, zmq::socket_type::push);
    FAIL("a linger of -5 ms accepted");
  } catch (const zmqkit::error& e) {
    CHECK(e.code() == std::errc::invalid_argument);
    CHECK(std::string(e.what()).find("socket options") != std::string::npos);
  }
}

TEST_CASE("socket_options: SHALL hand the socket to on_created before it is attached") {
  zmq::context_t ctx;
  zmq::socket_t s(ctx, zmq::socket_type::pull);
  s.set(zmq::sockopt::linger, 0);
  socket_options opts;
  int calls = 0;
  opts.on_created = [&](zmq::socket_t& socket) {
    ++calls;
    CHECK(socket.get(zmq::sockopt::rcvhwm) == 1000);  // options already applied
  };
  apply_socket_options(s, opts, zmq::socket_type::pull);
  CHECK(calls == 1);
}
