// zmqkit demo: the patterns of an event-driven shop, in one program.
//
//   publisher  "accounts"  --user_registered, order_placed-->  subscribers "audit" (all)
//                                                              and "mailer" (user_ only)
//   pusher     "orders"    --fulfil jobs-->                    pullers "worker-1", "worker-2"
//   requester  "frontend"  --order_status-->                   replier "order-service"
//
// Each role runs in its own thread with its own socket (sockets belong to one
// thread; the context is shared). Run it: ./build/examples/zmqkit-demo
#include <zmqkit/zmqkit.hpp>

#include <unistd.h>

#include <atomic>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "events.hpp"

using namespace std::chrono_literals;
using zmqkit::endpoint;

namespace {

using shop::order_placed;
using shop::user_registered;

std::mutex print_mutex;

void print(const std::string& role, const zmqkit::message& m) {
  std::ostringstream line;
  line << "[" << role << std::string(13 - std::min<std::size_t>(13, role.size()), ' ') << "] "
       << m.topic() << " seq=" << m.seq() << " " << m.payload_object().get() << "\n";
  std::lock_guard<std::mutex> lock(print_mutex);
  std::cout << line.str() << std::flush;
}

// Receives until the "demo.end" topic; returns how many events came before it.
int listen(zmqkit::subscriber& sub, const std::string& role) {
  int events = 0;
  while (auto m = sub.receive(10s)) {
    if (m->topic() == "demo.end") break;
    print(role, *m);
    ++events;
  }
  return events;
}

}  // namespace

int main() {
  zmq::context_t ctx;
  const auto ipc = "ipc:///tmp/zmqkit-demo-" + std::to_string(::getpid()) + ".ipc";

  // --- publish/subscribe -----------------------------------------------------
  zmqkit::publisher accounts(ctx, {{endpoint::bind("tcp://127.0.0.1:*")}});
  const auto events_at = accounts.endpoints().at(0);
  std::atomic<int> audit_count{0}, mailer_count{0};
  std::thread audit([&] {
    zmqkit::subscriber sub(ctx, {{endpoint::connect(events_at)}, {""}});
    audit_count = listen(sub, "audit");
  });
  std::thread mailer([&] {
    zmqkit::subscriber sub(ctx, {{endpoint::connect(events_at)}, {"user_", "demo.end"}});
    mailer_count = listen(sub, "mailer");
  });

  // --- push/pull -------------------------------------------------------------
  zmqkit::pusher orders(ctx, {{endpoint::bind(ipc)}});
  std::atomic<int> fulfilled{0};
  std::vector<std::thread> workers;
  for (const char* name : {"worker-1", "worker-2"}) {
    workers.emplace_back([&, name] {
      zmqkit::puller jobs(ctx, {{endpoint::connect(ipc)}});
      while (auto m = jobs.receive(10s)) {
        if (m->topic() == "demo.end") break;
        print(name, *m);
        ++fulfilled;
      }
    });
  }

  // --- request/reply ---------------------------------------------------------
  zmqkit::replier order_service(ctx, {{endpoint::bind("tcp://127.0.0.1:*")}});
  const auto service_at = order_service.endpoints().at(0);
  std::thread service([&] {
    while (auto request = order_service.receive(10s)) {
      print("order-service", *request);
      const bool last = request->topic() == "demo.end";
      order_service.reply(request->topic(),
                          std::map<std::string, std::string>{
                              {"order_id", request->payload_as<std::string>()},
                              {"status", last ? "bye" : "shipped"}});
      if (last) break;
    }
  });

  // Publish once all three subscriptions (audit "", mailer "user_" and
  // "demo.end") have reached the publisher: nothing is lost to slow joining.
  if (!accounts.wait_for_subscribers(3, 10s)) {
    std::cerr << "zmqkit-demo: subscribers did not arrive within 10 s\n";
    return 1;
  }
  const std::vector<user_registered> users{
      {"ada", "ada@example.org"}, {"grace", "grace@example.org"}, {"linus", "linus@example.org"}};
  std::vector<order_placed> placed;
  for (std::size_t i = 0; i < users.size(); ++i) {
    accounts.publish("user_registered", users[i], {{"source", "signup"}});
    placed.push_back({"ord-" + std::to_string(1001 + i), users[i].user, 19.5 * double(i + 1)});
    accounts.publish("order_placed", placed.back(), {{"source", "checkout"}});
  }
  accounts.publish("demo.end", true);

  for (const auto& order : placed) {
    for (int copy = 0; copy < 2; ++copy)  // each order has two jobs: pick and pack
      if (!orders.push(copy == 0 ? "fulfil.pick" : "fulfil.pack", order)) {
        std::cerr << "zmqkit-demo: no worker took a job within 5 s\n";
        return 1;
      }
  }
  for (std::size_t i = 0; i < workers.size(); ++i) (void)orders.push("demo.end", false);

  zmqkit::requester frontend(ctx, {{endpoint::connect(service_at)}});
  int replies = 0;
  for (const auto& order : placed) {
    auto reply = frontend.request("order_status", order.order_id);
    if (!reply) {
      std::cerr << "zmqkit-demo: order-service did not answer\n";
      return 1;
    }
    print("frontend", *reply);
    ++replies;
  }
  (void)frontend.request("demo.end", std::string("-"));

  audit.join();
  mailer.join();
  for (auto& w : workers) w.join();
  service.join();
  std::cout << "demo finished: " << accounts.stats().sent - 1 << " events published, "
            << audit_count << " received by audit, " << mailer_count << " by mailer; "
            << fulfilled / 2 << " orders fulfilled; " << replies << " status replies\n";
  return 0;
}
