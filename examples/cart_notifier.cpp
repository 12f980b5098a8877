// Example (b), shopping cart: a cart service publishes cart_updated events
// through a durable forwarder, and a notifier fires when a cart's quantity
// reaches 10: exactly once per crossing, even though the forwarder
// redelivers events to it.
//
//   cart service (reliable_publisher) --> forwarder (journal) --> notifier (event_bus,
//                                                                  durable subscription)
//
// The notifier's notification is slow (a mail server), slower than the
// forwarder's ack wait, so events queued behind it are redelivered while
// it works: the bus's dedup window recognises each copy. Then the notifier
// "restarts" and reads the whole journal again from the start: with its
// dedup file every event is known, and nobody is notified twice.
//
// Run it: ./build/examples/example-cart-notifier [JOURNAL_PARENT_DIR]
#include <zmqkit/event_bus.hpp>
#include <zmqkit/forwarder.hpp>
#include <zmqkit/reliable_publisher.hpp>

#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "events.hpp"

using namespace std::chrono_literals;
using zmqkit::endpoint;

namespace {

constexpr int threshold = 10;

// The notifier's state: each cart's last quantity (a real one would keep it
// in its database) and the notifications it sent.
struct notifier {
  std::map<std::string, int> quantity;
  std::vector<std::string> sent;

  void on(const shop::cart_updated& c) {
    const int before = quantity[c.cart];
    quantity[c.cart] = c.quantity;
    if (before < threshold && c.quantity >= threshold) {
      std::this_thread::sleep_for(150ms);  // allow-sleep: the mail server is slow
      sent.push_back(c.cart + "@" + std::to_string(c.quantity));
      std::cout << "[notifier] " << c.cart << " reached " << c.quantity << " items: mail sent\n";
    }
  }
};

// Polls until n events were handled or skipped as duplicates, and nothing
// more came for a while.
void drain(zmqkit::event_bus& bus, std::uint64_t n) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!bus.poll(500ms) && bus.stats().handled + bus.stats().duplicates >= n) return;
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string parent = argc > 1 ? argv[1] : std::filesystem::temp_directory_path().string();
  const std::string dir = parent + "/zmqkit-cart-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);

  zmq::context_t ctx;
  zmqkit::forwarder::options fo;
  fo.journal_dir = dir + "/journal";
  fo.intake = {endpoint::bind("tcp://127.0.0.1:*")};
  fo.replay = {endpoint::bind("tcp://127.0.0.1:*")};
  fo.ack_wait = 100ms;  // redeliver what is not acknowledged within 100 ms
  zmqkit::forwarder fwd(ctx, fo);

  // The cart service: every update acknowledged by the forwarder (on disk).
  const std::vector<shop::cart_updated> updates{
      {"cart-1", 4}, {"cart-1", 8}, {"cart-1", 10}, {"cart-2", 9},  {"cart-1", 12}, {"cart-1", 6},
      {"cart-2", 10}, {"cart-3", 3}, {"cart-1", 11}, {"cart-1", 9}, {"cart-3", 5},  {"cart-1", 15}};
  const std::vector<std::string> crossings{"cart-1@10", "cart-2@10", "cart-1@11", "cart-1@15"};
  {
    zmqkit::reliable_publisher carts(ctx, {{endpoint::connect(fwd.endpoints().intake.at(0))}});
    for (const auto& u : updates) (void)carts.publish("cart_updated", u);
    if (!carts.flush(10s)) {
      std::cerr << "example-cart-notifier: the forwarder did not acknowledge the updates\n";
      return 1;
    }
  }
  std::cout << "[carts] " << updates.size() << " cart_updated events stored by the forwarder\n";

  const auto subscription = [&](const std::string& name) {
    zmqkit::durable_subscriber::options s;
    s.endpoints = {endpoint::connect(fwd.endpoints().replay.at(0))};
    s.name = name;
    s.prefixes = {"cart_"};
    s.start = zmqkit::replay_start::first();
    return s;
  };
  zmqkit::event_bus::options bo;
  bo.dedup_file = dir + "/notifier.dedup";  // the window outlives the process

  notifier n;
  std::uint64_t redelivered = 0;
  {
    zmqkit::event_bus bus(ctx, subscription("cart-notifier"), bo);
    bus.on<shop::cart_updated>("cart_updated", [&](const shop::cart_updated& c) { n.on(c); });
    drain(bus, updates.size());
    redelivered = bus.stats().duplicates;
    std::cout << "[notifier] handled " << bus.stats().handled << ", skipped " << redelivered
              << " redelivered copies\n";
  }
  // The notifier restarts and reads the journal again from the start.
  std::uint64_t known = 0;
  {
    zmqkit::event_bus bus(ctx, subscription("cart-notifier-rebuild"), bo);
    bus.on<shop::cart_updated>("cart_updated", [&](const shop::cart_updated& c) { n.on(c); });
    drain(bus, updates.size());
    known = bus.stats().duplicates;
    std::cout << "[notifier] after a restart, replayed " << bus.stats().received << " events, "
              << known << " already handled\n";
  }
  std::filesystem::remove_all(dir);

  std::cout << "cart notifier: " << n.sent.size() << " notifications for " << crossings.size()
            << " crossings of " << threshold << " items, " << redelivered
            << " redelivered copies skipped, " << known << " events known after the restart\n";
  if (n.sent != crossings || redelivered == 0 || known != updates.size()) {
    std::cerr << "example-cart-notifier: FAILED\n";
    return 1;
  }
  return 0;
}
