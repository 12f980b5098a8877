// Example (a), user events: an accounts service publishes user_registered
// and order_placed; a consumer registers one handler per event type on an
// event_bus and each handler gets its own typed payload.
//
//   accounts (publisher) --user_registered, order_placed--> event_bus (subscriber)
//                                                             welcome mailer  <- user_registered
//                                                             billing         <- order_placed
//
// Run it: ./build/examples/example-user-events
#include <zmqkit/event_bus.hpp>
#include <zmqkit/publisher.hpp>

#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "events.hpp"

using namespace std::chrono_literals;
using zmqkit::endpoint;

int main() {
  zmq::context_t ctx;
  zmqkit::publisher accounts(ctx, {{endpoint::bind("tcp://127.0.0.1:*")}});

  // The consumer: one bus, one handler per event type.
  zmqkit::event_bus bus(ctx, zmqkit::subscriber::options{{endpoint::connect(accounts.endpoints().at(0))},
                                                         {"user_", "order_"}});
  std::vector<std::string> welcomed;
  std::map<std::string, double> billed;  // user -> total
  bus.on<shop::user_registered>("user_registered", [&](const shop::user_registered& u) {
    std::cout << "[welcome] mail to " << u.email << "\n";
    welcomed.push_back(u.user);
  });
  bus.on<shop::order_placed>("order_placed", [&](const shop::order_placed& o) {
    std::cout << "[billing] " << o.order_id << ": charge " << o.user << " " << o.total << "\n";
    billed[o.user] += o.total;
  });

  // Both prefixes must have reached the publisher before it publishes:
  // PUB/SUB drops what is sent before a subscription arrives.
  std::thread service([&] {
    if (!accounts.wait_for_subscribers(2, 10s)) return;
    for (const std::string user : {"ada", "grace", "linus"})
      (void)accounts.publish("user_registered", shop::user_registered{user, user + "@example.org"});
    (void)accounts.publish("order_placed", shop::order_placed{"ord-1", "ada", 42.5});
    (void)accounts.publish("order_placed", shop::order_placed{"ord-2", "grace", 7});
  });
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (bus.stats().handled < 5 && std::chrono::steady_clock::now() < deadline) (void)bus.poll(100ms);
  service.join();

  const bool ok = welcomed == std::vector<std::string>{"ada", "grace", "linus"} && billed["ada"] == 42.5 &&
                  billed["grace"] == 7 && bus.stats().failures == 0;
  std::cout << "user events: " << welcomed.size() << " user_registered handled by welcome, "
            << billed.size() << " order_placed handled by billing\n"
            << bus.metrics().to_text() << "\n";
  if (!ok) {
    std::cerr << "example-user-events: FAILED, not every event reached its handler\n";
    return 1;
  }
  return 0;
}
