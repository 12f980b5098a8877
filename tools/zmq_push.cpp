// zmq-push: send messages as zmqkit envelopes on a PUSH socket, each to one puller.
#include <zmqkit/pusher.hpp>

#include "common/cli.hpp"
#include "common/input.hpp"
#include "common/loops.hpp"

int main(int argc, char** argv) {
  using namespace zmqkit;
  using namespace zmqkit::tools;
  const std::string tool = "zmq-push";
  CLI::App app{"Send messages to pullers, each to one of them, round-robin (ZeroMQ PUSH, zmqkit "
               "envelopes).\nDefault endpoint: @tcp://127.0.0.1:5557. Reads stdin lines unless "
               "-m/-f/-s.",
               tool};
  endpoint_options endpoints;
  endpoints.add_to(app);
  input_options input;
  input.add_to(app);
  send_options sending;
  sending.add_to(app);
  socket_cli_options sock;
  // At EOF the last messages may still be queued for a slow reader: give
  // them longer than the library's 1 s before exit drops them (still bounded).
  sock.linger_ms = 5000;
  sock.add_to(app);
  double timeout = 10;
  bool verbose = false;
  app.add_option("--timeout", timeout,
                 "Seconds to wait for a puller to take a message (then exit 4)")
      ->check(seconds_in_range())
      ->capture_default_str();
  app.add_flag("-v,--verbose", verbose, "Print the endpoints, then socket events, on stderr");
  app.footer(help_footer(
      "  zmq-push -t jobs -m 'resize img-1' -m 'resize img-2'\n"
      "  cat jobs.txt | zmq-push -t jobs                   one job per line\n"
      "  zmq-push '>tcp://sink:5558' -t results -f report.pdf\n"));

  return run_tool(app, argc, argv, [&] {
    input.max_size = sock.max_size;
    message_source source(input, [&](const std::string& s) { say(tool, s); });
    pusher::options opts;
    opts.endpoints = endpoints.resolve(endpoint_mode::bind, "tcp://127.0.0.1:5557");
    sock.apply(opts.socket);
    opts.send_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::duration<double>(timeout));
    zmq::context_t ctx;
    socket_reporter report(verbose, tool, ctx);
    const auto zap = report.secure(sock, opts.socket, opts.endpoints);
    pusher push(ctx, opts);
    report.ready(opts.endpoints, push.endpoints());
    return send_loop(tool, source, sending, [&](const outgoing& m) {
      return push.push(m.topic, packed(m.payload), m.headers);
    });
  });
}
