// Example (c), work queue: a producer puts jobs through a durable
// forwarder, and workers share one durable subscription ("jobs"): each job
// goes to one worker, which acknowledges it when done. A worker killed in
// the middle of a job never acknowledges it, so the forwarder gives the job
// to another worker: nothing is lost. examples/work_queue.sh runs the whole
// scene with zmq-forwarder and kill -9.
//
//   example-work-queue produce INTAKE COUNT
//   example-work-queue worker NAME REPLAY DONE_DIR
//
// A worker prints "NAME started job N" and "NAME finished job N", and
// records each finished job as the file DONE_DIR/job-N holding its name.
// It works until SIGTERM or SIGINT.
#include <zmqkit/event_bus.hpp>
#include <zmqkit/reliable_publisher.hpp>

#include <csignal>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "events.hpp"

using namespace std::chrono_literals;
using zmqkit::endpoint;

namespace {

zmqkit::event_bus* running = nullptr;

extern "C" void on_signal(int) {
  if (running) running->stop();  // an atomic store
}

int produce(const std::string& intake, int count) {
  zmq::context_t ctx;
  zmqkit::reliable_publisher producer(ctx, {{endpoint::connect(intake)}});
  for (int i = 1; i <= count; ++i) (void)producer.publish("job", shop::job{i, "resize image " + std::to_string(i)});
  if (!producer.flush(10s)) {
    std::cerr << "producer: " << producer.outstanding() << " jobs not acknowledged\n";
    return 1;
  }
  std::cout << "producer: " << count << " jobs acknowledged by the forwarder\n";
  return 0;
}

int work(const std::string& name, const std::string& replay, const std::string& done_dir) {
  zmq::context_t ctx;
  zmqkit::durable_subscriber::options source;
  source.endpoints = {endpoint::connect(replay)};
  source.name = "jobs";  // one subscription, shared by every worker
  source.start = zmqkit::replay_start::first();
  source.window = 1;  // hold one job at a time, so the others share the rest
  zmqkit::event_bus::options o;
  o.dedup_file = done_dir + "/" + name + ".dedup";
  zmqkit::event_bus bus(ctx, source, o);
  bus.on<shop::job>("job", [&](const shop::job& j) {
    std::cout << name << " started job " << j.id << std::endl;
    std::this_thread::sleep_for(200ms);  // allow-sleep: the work
    const std::string file = done_dir + "/job-" + std::to_string(j.id);
    std::ofstream(file + ".tmp") << name << "\n";
    std::rename((file + ".tmp").c_str(), file.c_str());
    std::cout << name << " finished job " << j.id << std::endl;
  });
  running = &bus;
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  bus.run();
  std::cout << name << ": " << bus.stats().handled << " jobs done\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  try {
    if (mode == "produce" && argc == 4) return produce(argv[2], std::stoi(argv[3]));
    if (mode == "worker" && argc == 5) return work(argv[2], argv[3], argv[4]);
  } catch (const std::exception& e) {
    std::cerr << "example-work-queue: " << e.what() << "\n";
    return 1;
  }
  std::cerr << "usage: example-work-queue produce INTAKE COUNT | worker NAME REPLAY DONE_DIR\n";
  return 2;
}
