// requester: the asking side of request/reply, as a Lazy Pirate client.
//
// Owns one REQ socket. request() sends, waits for the reply, and when none
// comes within options::timeout it throws the socket away, builds a fresh
// one and sends again, up to options::retries times. It therefore never
// wedges on a dead replier or a lost reply; the price is that a replier may
// see a request more than once (at-least-once). Not thread-safe: one
// requester per thread; share the zmq::context_t, not the object.
//
// Example:
//   zmqkit::requester req(ctx, {{zmqkit::endpoint::connect("tcp://localhost:5558")}});
//   if (auto reply = req.request("price", std::string("sku-42"))) use(*reply);
//   else std::cerr << "no reply after retries\n";
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include <zmqkit/counters.hpp>
#include <zmqkit/endpoint.hpp>
#include <zmqkit/envelope.hpp>
#include <zmqkit/inbox.hpp>
#include <zmqkit/socket_options.hpp>

namespace zmqkit {

class requester {
 public:
  struct options {
    std::vector<endpoint> endpoints;  // usually connect
    socket_options socket{};  // except linger: always 0 (a request nobody awaits is dropped)
    // Each attempt waits up to this long to hand the request to a replier,
    // and again up to this long for the reply.
    std::chrono::milliseconds timeout{2500};
    int retries = 3;  // attempts after the first
    error_hook on_error{};  // malformed replies (each counts as a failed attempt)
    // Called before each resend with the attempt number (2 for the first retry).
    std::function<void(int attempt)> on_retry{};
  };

  // Creates the socket and attaches it. Throws zmqkit::error.
  requester(zmq::context_t& context, options opts);

  // Sends payload and returns the reply, or nullopt when every attempt
  // timed out. A reply carrying an "error" header is the replier's report
  // of a failed request. Throws zmqkit::error; with EMSGSIZE, before
  // sending anything, for a request larger than socket.max_message_size.
  template <class T>
  [[nodiscard]] std::optional<message> request(std::string_view topic, const T& payload,
                                               const headers& hdrs = {}) {
    auto body = writer_.encode(payload, hdrs);
    check_sendable(topic, body.size(), static_cast<std::size_t>(opts_.socket.max_message_size));
    writer_.commit();  // retries resend this seq; the replier sees them as duplicates
    return exchange(topic, body);
  }

  const std::vector<std::string>& endpoints() const noexcept { return endpoints_; }
  const counters& stats() const noexcept { return stats_; }
  const producer_id& producer() const noexcept { return writer_.producer(); }

 private:
  std::optional<message> exchange(std::string_view topic, zmq::message_t& body);
  void build();

  zmq::context_t& context_;
  options opts_;
  zmq::socket_t socket_;
  std::vector<std::string> endpoints_;
  envelope_writer writer_;
  counters stats_;
};

}  // namespace zmqkit
