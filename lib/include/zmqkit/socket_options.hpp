// The safe defaults every zmqkit socket starts from (design: "Safe socket
// defaults"): bounded linger, bounded message size, TCP keepalive that
// notices a dead peer, reconnect with backoff, a handshake deadline. Every
// pattern's options carry one of these, so each value can be overridden.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

#include <zmq.hpp>

#include <zmqkit/curve.hpp>
#include <zmqkit/envelope.hpp>

namespace zmqkit {

// Wait without a deadline, where an API takes a timeout.
inline constexpr std::chrono::milliseconds forever{-1};

// CURVE on a socket's tcp endpoints (docs/security.md); ipc and inproc stay
// plain. Empty secret_key: no CURVE at all. A bind makes the socket a CURVE
// server whose clients an authenticator (authenticator.hpp) must let in:
// the domain is enforced, so with no authenticator running every client is
// refused. A connect makes it a CURVE client of server_key.
struct curve_options {
  std::string public_key;  // ours, Z85
  std::string secret_key;  // ours, Z85
  std::string server_key;  // Z85: the server's public key; needed to connect
  std::string zap_domain = default_zap_domain;

  bool enabled() const noexcept { return !secret_key.empty(); }
  // Ours from a certificate with its secret key; throws key_error if it has none.
  static curve_options from(const certificate& own, std::string server_key = {});
};

struct socket_options {
  std::chrono::milliseconds linger{1000};  // close() never waits longer (SUB, PULL: 0)
  std::int64_t max_message_size = default_max_message_size;  // larger frames drop the peer
  // ZMTP heartbeats, off by default: a PING or PONG that reaches a peer
  // which has just closed its socket makes its kernel answer with a reset,
  // and the reset throws away every message still in flight to us
  // (docs/design-notes.md, "Heartbeats off, TCP keepalive on").
  std::chrono::milliseconds heartbeat_interval{0};     // 0: no PING
  std::chrono::milliseconds heartbeat_timeout{5000};   // no traffic: peer is dead
  std::chrono::milliseconds heartbeat_ttl{10000};      // asked of the remote side
  // TCP keepalive notices a dead peer on an idle connection without sending
  // data: after idle, count probes interval apart go unanswered. 0s idle
  // leaves the system's keepalive setting alone.
  std::chrono::seconds tcp_keepalive_idle{10};
  std::chrono::seconds tcp_keepalive_interval{2};
  int tcp_keepalive_count = 5;
  std::chrono::milliseconds reconnect_interval{100};
  std::chrono::milliseconds reconnect_interval_max{5000};
  std::chrono::milliseconds handshake_timeout{5000};
  int send_hwm = 1000;     // messages queued per peer before dropping or blocking
  int receive_hwm = 1000;
  // Queue only to completed connections. Unset: on for PUSH, so a message
  // goes to a live puller instead of waiting for a dead one; off for every
  // other type. Never turn it on for a socket that receives (DEALER, REQ,
  // SUB, PULL...): libzmq 4.3 may then abort the process when a connection
  // drops while a message from it is being read (docs/design-notes.md).
  std::optional<bool> immediate;
  curve_options curve;  // applied per endpoint by attach()
  // Called with the socket once these options are applied, before it binds
  // or connects: the place to attach a socket_monitor that must not miss
  // the first connection.
  std::function<void(zmq::socket_t&)> on_created;
};

// Applies opts to a socket of type type; throws zmqkit::error.
void apply_socket_options(zmq::socket_t& socket, const socket_options& opts,
                          zmq::socket_type type);

}  // namespace zmqkit
