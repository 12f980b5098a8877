// zmq-pull: receive zmqkit envelopes on a PULL socket and print them.
#include <zmqkit/puller.hpp>

#include "common/cli.hpp"
#include "common/loops.hpp"
#include "common/socket_reporter.hpp"

int main(int argc, char** argv) {
  using namespace zmqkit;
  using namespace zmqkit::tools;
  const std::string tool = "zmq-pull";
  CLI::App app{"Receive messages from pushers, fair-queued (ZeroMQ PULL, zmqkit envelopes), and "
               "print them.\nDefault endpoint: >tcp://127.0.0.1:5557.",
               tool};
  endpoint_options endpoints;
  endpoints.add_to(app);
  receive_options receiving;
  receiving.add_to(app, "raw");
  socket_cli_options sock;
  sock.add_to(app);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose,
               "Print the endpoints, socket events and each malformed message on stderr");
  app.footer(help_footer(
      "  zmq-pull                                      print each job's payload\n"
      "  zmq-pull '@tcp://*:5558' --out-format jsonl   a sink that pushers connect to\n"
      "  zmq-pull -C 100 --stats                       take 100 jobs, print stats\n"));

  return run_tool(app, argc, argv, [&] {
    puller::options opts;
    opts.endpoints = endpoints.resolve(endpoint_mode::connect, "tcp://127.0.0.1:5557");
    sock.apply(opts.socket);
    if (verbose) opts.on_error = [&](const decode_error& e) { say(tool, std::string("dropped: ") + e.what()); };
    zmq::context_t ctx;
    socket_reporter report(verbose, tool, ctx);
    const auto zap = report.secure(sock, opts.socket, opts.endpoints);
    puller pull(ctx, opts);
    report.ready(opts.endpoints, pull.endpoints());
    return receive_loop(tool, pull, receiving);
  });
}
