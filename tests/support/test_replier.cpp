// A replier in its own process, for tests that kill -9 it and restart it.
//
//   test_replier ENDPOINT [--crash-after N]
//
// Binds ENDPOINT, prints the resolved endpoint on one stdout line (the
// readiness signal tests wait for), then answers each request with its
// payload unchanged. With --crash-after N it answers N requests and on the
// next one dies by SIGKILL before replying: a replier lost mid-request.
#include <zmqkit/replier.hpp>

#include <signal.h>

#include <cstdlib>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2 && argc != 4) {
    std::cerr << "usage: test_replier ENDPOINT [--crash-after N]\n";
    return 2;
  }
  long crash_after = argc == 4 ? std::strtol(argv[3], nullptr, 10) : -1;
  zmq::context_t ctx;
  zmqkit::replier rep(ctx, {{zmqkit::endpoint::bind(argv[1])}});
  std::cout << rep.endpoints().at(0) << std::endl;
  for (long served = 0;; ++served) {
    auto request = rep.receive();
    if (!request) continue;
    if (served == crash_after) ::raise(SIGKILL);
    rep.reply(request->topic(), zmqkit::packed(request->payload_msgpack()));
  }
}
