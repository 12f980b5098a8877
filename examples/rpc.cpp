// Example (d), request/reply with timeouts and retries: a price service
// answers a shop's requests. Its first answer for one item is slower than
// the requester's timeout, as an overloaded service's would be: the
// requester gives up on that socket, builds a fresh one and asks again
// (Lazy Pirate), and the retry is answered. A second requester asks a
// service that is not running: after its retries it reports "unavailable"
// instead of hanging.
//
//   shop (requester, 300 ms timeout, 2 retries) --price--> price service (replier)
//
// Run it: ./build/examples/example-rpc
#include <zmqkit/replier.hpp>
#include <zmqkit/requester.hpp>

#include <atomic>
#include <iostream>
#include <map>
#include <string>
#include <thread>

using namespace std::chrono_literals;
using zmqkit::endpoint;

int main() {
  zmq::context_t ctx;
  zmqkit::replier service(ctx, {{endpoint::bind("tcp://127.0.0.1:*")}});
  const auto address = service.endpoints().at(0);
  const std::map<std::string, double> prices{{"sku-1", 9.5}, {"sku-2", 120}, {"sku-3", 3.25}};

  std::atomic<bool> done{false};
  int slow_once = 0;
  std::thread server([&] {
    while (!done) {
      (void)service.serve_one(
          [&](const zmqkit::message& m) {
            const auto sku = m.payload_as<std::string>();
            if (sku == "sku-2" && slow_once++ == 0)
              std::this_thread::sleep_for(500ms);  // allow-sleep: longer than the requester waits
            const auto it = prices.find(sku);
            if (it == prices.end()) throw std::runtime_error("unknown item " + sku);
            return it->second;
          },
          100ms);
    }
  });

  zmqkit::requester::options ro;
  ro.endpoints = {endpoint::connect(address)};
  ro.timeout = 300ms;
  ro.retries = 2;
  zmqkit::requester shop(ctx, ro);
  int answered = 0, errors = 0;
  for (const std::string sku : {"sku-1", "sku-2", "sku-3", "sku-9"}) {
    const auto reply = shop.request("price", sku);
    if (!reply) {
      std::cout << "[shop] " << sku << ": price service unavailable\n";
    } else if (auto error = reply->find_header("error")) {
      std::cout << "[shop] " << sku << ": refused: " << *error << "\n";
      ++errors;
    } else {
      std::cout << "[shop] " << sku << ": " << reply->payload_as<double>() << "\n";
      ++answered;
    }
  }
  const auto retried = shop.stats().retries;

  // Nobody serves this address: a bound and closed port.
  std::string nowhere;
  {
    zmq::socket_t probe(ctx, zmq::socket_type::rep);
    probe.bind("tcp://127.0.0.1:*");
    nowhere = probe.get(zmq::sockopt::last_endpoint);
  }
  zmqkit::requester::options lost = ro;
  lost.endpoints = {endpoint::connect(nowhere)};
  zmqkit::requester stranded(ctx, lost);
  const auto start = std::chrono::steady_clock::now();
  const bool unavailable = !stranded.request("price", std::string("sku-1"));
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  std::cout << "[shop] with the service down: " << (unavailable ? "unavailable" : "answered?") << " after "
            << stranded.stats().retries << " retries, " << waited.count() << " ms\n";

  done = true;
  server.join();
  std::cout << "rpc: " << answered << " prices answered, " << errors << " refused, " << retried
            << " retry after a timeout; service down reported after "
            << stranded.stats().retries << " retries\n";
  if (answered != 3 || errors != 1 || retried != 1 || !unavailable || stranded.stats().retries != 2) {
    std::cerr << "example-rpc: FAILED\n";
    return 1;
  }
  return 0;
}
