#include "support/transports.hpp"

#include <unistd.h>

#include <atomic>

namespace zmqkit::test {

const std::vector<transport>& all_transports() {
  static const std::vector<transport> all{transport::inproc, transport::ipc, transport::tcp};
  return all;
}

const char* name(transport t) {
  switch (t) {
    case transport::inproc: return "inproc";
    case transport::ipc: return "ipc";
    case transport::tcp: return "tcp";
  }
  return "?";
}

std::string bind_address(transport t) {
  static std::atomic<unsigned> counter{0};
  const auto unique = std::to_string(::getpid()) + "-" + std::to_string(++counter);
  switch (t) {
    case transport::inproc: return "inproc://zmqkit-test-" + unique;
    case transport::ipc: return "ipc:///tmp/zmqkit-test-" + unique + ".ipc";
    case transport::tcp: return "tcp://127.0.0.1:*";
  }
  return {};
}

}  // namespace zmqkit::test
