// replier: the answering side of request/reply.
//
// Owns one REP socket. Either call receive() and then reply() (or
// reply_error()) exactly once per request, or hand serve_one() a handler.
// A handler that throws gets the request an error reply (header "error"),
// and a malformed request is answered with one too, so a requester is
// never left waiting and the replier keeps serving. Not thread-safe, and
// not movable: one replier per thread; share the zmq::context_t.
//
// Example:
//   zmqkit::replier rep(ctx, {{zmqkit::endpoint::bind("tcp://*:5558")}});
//   while (true)
//     (void)rep.serve_one([](const zmqkit::message& m) { return m.payload_as<int>() * 2; });
#pragma once

#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include <zmq.hpp>

#include <zmqkit/counters.hpp>
#include <zmqkit/endpoint.hpp>
#include <zmqkit/envelope.hpp>
#include <zmqkit/inbox.hpp>
#include <zmqkit/socket_options.hpp>

namespace zmqkit {

class replier {
 public:
  struct options {
    std::vector<endpoint> endpoints;  // usually bind
    socket_options socket{};
    error_hook on_error{};  // malformed requests (each is answered with an error)
  };

  // Creates the socket and attaches it. Throws zmqkit::error.
  replier(zmq::context_t& context, options opts);
  replier(const replier&) = delete;
  replier& operator=(const replier&) = delete;

  // Waits up to timeout (forever if negative) for a request; nullopt on
  // timeout. After a request, reply() or reply_error() must come before the
  // next receive() (std::logic_error otherwise). Throws zmqkit::error.
  [[nodiscard]] std::optional<message> receive(std::chrono::milliseconds timeout = forever);

  // Answers the request last received, under topic (usually the request's).
  // A reply larger than socket.max_message_size (check_sendable) is not
  // sent: the requester gets an error reply in its place, and then this
  // throws zmqkit::error with EMSGSIZE.
  template <class T>
  void reply(std::string_view topic, const T& payload, const headers& hdrs = {}) {
    auto body = writer_.encode(payload, hdrs);
    send(topic, body);
  }
  // Answers with an empty payload and header "error" = reason.
  void reply_error(std::string_view topic, std::string_view reason);

  // Receives one request, calls handler(const message&) and replies with its
  // result under the request's topic. A handler that throws, or whose result
  // is too large to send, counts in stats().handler_errors and its request
  // gets an error reply. Returns false on timeout.
  template <class Handler>
  [[nodiscard]] bool serve_one(Handler&& handler, std::chrono::milliseconds timeout = forever);

  const std::vector<std::string>& endpoints() const noexcept { return endpoints_; }
  const counters& stats() const noexcept { return stats_; }

 private:
  void send(std::string_view topic, zmq::message_t& body);

  zmq::socket_t socket_;
  std::vector<std::string> endpoints_;
  error_hook user_on_error_;
  inbox inbox_;
  envelope_writer writer_;
  counters stats_;
  std::size_t max_size_;
  bool awaiting_reply_ = false;
};

template <class Handler>
bool replier::serve_one(Handler&& handler, std::chrono::milliseconds timeout) {
  using result_t = std::decay_t<std::invoke_result_t<Handler&, const message&>>;
  auto request = receive(timeout);
  if (!request) return false;
  std::optional<result_t> result;
  try {
    result.emplace(handler(*request));
  } catch (const std::exception& e) {
    ++stats_.handler_errors;
    reply_error(request->topic(), e.what());
    return true;
  }
  try {
    reply(request->topic(), *result);
  } catch (const error& e) {
    if (e.code() != std::errc::message_size) throw;
    ++stats_.handler_errors;  // answered with an error in its place
  }
  return true;
}

}  // namespace zmqkit
