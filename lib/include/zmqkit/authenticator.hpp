// authenticator: the ZAP handler (rfc.zeromq.org/spec/27) that decides who
// may complete a CURVE handshake with the sockets of one context.
//
// libzmq's CURVE server encrypts, but without a ZAP handler it lets every
// client key in. zmqkit closes that hole from both sides: a binding socket
// with CURVE sets ZMQ_ZAP_ENFORCE_DOMAIN (see socket_options.hpp), so with no
// handler running every client is refused; and this handler lets in only
// CURVE clients whose public key is in the allow-list directory, from an
// address the policy allows, asking for its domain. NULL and PLAIN clients,
// unknown keys and other domains get status 400.
//
// One per context, made before the first secured bind and destroyed after
// the last secured socket and before the context (it holds a socket of it).
//
// Example:
//   zmq::context_t ctx;
//   zmqkit::authenticator auth(ctx, {"/etc/zmqkit/clients"});
//   zmqkit::publisher::options o;
//   o.socket.curve = zmqkit::curve_options::from(zmqkit::certificate::load("server.key_secret"));
//   o.endpoints = {zmqkit::endpoint::bind("tcp://*:5556")};
//   zmqkit::publisher pub(ctx, o);
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include <zmqkit/curve.hpp>

namespace zmqkit {

struct zap_policy {
  // Client public keys, one NAME.key certificate each. Re-read when the
  // directory changes, so adding or removing a file takes effect at the
  // next handshake without a restart.
  std::string allow_dir;
  // Peer IP addresses as libzmq reports them ("192.0.2.7"). If allow is not
  // empty only those may connect; deny is checked first.
  std::vector<std::string> allow_addresses{};
  std::vector<std::string> deny_addresses{};
};

class authenticator {
 public:
  // Reads the allow list and starts serving the context's ZAP endpoint.
  // Throws key_error if allow_dir is missing or holds a file that is not a
  // certificate, zmqkit::error if the context already has a ZAP handler.
  // on_log (optional, called from the handler's thread) gets one line per
  // refused client and per allow-list problem found on a re-read.
  authenticator(zmq::context_t& context, zap_policy policy,
                std::function<void(const std::string&)> on_log = {},
                std::string domain = default_zap_domain);
  ~authenticator();
  authenticator(const authenticator&) = delete;
  authenticator& operator=(const authenticator&) = delete;

  std::uint64_t accepted() const noexcept;  // handshakes let in so far
  std::uint64_t refused() const noexcept;   // handshakes refused so far

  struct state;

 private:
  std::shared_ptr<state> state_;
  zmq::socket_t stop_;
  std::thread thread_;
};

}  // namespace zmqkit
