// One request over a fresh REQ socket, for control endpoints (the
// forwarder's PAUSE, STATS...): the reply's frames, or a failed test if none
// comes within 5 s.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <zmq.hpp>

namespace zmqkit::test {

inline std::vector<std::string> request(const std::string& endpoint, const std::string& command) {
  static zmq::context_t ctx;
  zmq::socket_t req(ctx, zmq::socket_type::req);
  req.set(zmq::sockopt::linger, 0);
  req.set(zmq::sockopt::rcvtimeo, 5000);
  req.connect(endpoint);
  (void)req.send(zmq::buffer(command), zmq::send_flags::none);
  std::vector<std::string> frames;
  do {
    zmq::message_t m;
    REQUIRE_MESSAGE(req.recv(m), "no reply to " << command << " from " << endpoint);
    frames.emplace_back(static_cast<const char*>(m.data()), m.size());
  } while (req.get(zmq::sockopt::rcvmore));
  return frames;
}

}  // namespace zmqkit::test
