// zmq-pub: publish messages as zmqkit envelopes on a PUB (XPUB) socket.
#include <zmqkit/publisher.hpp>

#include "common/cli.hpp"
#include "common/input.hpp"
#include "common/loops.hpp"

int main(int argc, char** argv) {
  using namespace zmqkit;
  using namespace zmqkit::tools;
  const std::string tool = "zmq-pub";
  CLI::App app{"Publish messages to subscribers (ZeroMQ PUB, zmqkit envelopes).\n"
               "Default endpoint: @tcp://127.0.0.1:5556. Reads stdin lines unless -m/-f/-s.",
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
  std::size_t wait_subscribers = 0;
  double wait_timeout = 10;
  bool drop = false, verbose = false;
  app.add_option("--wait-subscribers", wait_subscribers,
                 "Before sending, wait until N subscriptions have arrived");
  app.add_option("--wait-timeout", wait_timeout, "Seconds --wait-subscribers waits (then exit 4)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_flag("--drop", drop,
               "Let slow subscribers miss messages (PUB's way) instead of waiting for them");
  app.add_flag("-v,--verbose", verbose, "Print the bound endpoints, then socket events, on stderr");
  app.footer(help_footer(
      "  zmq-pub -t greetings -m hello                      one message\n"
      "  seq 5 | zmq-pub -t numbers --wait-subscribers 1    each line a message\n"
      "  zmq-pub -t order_placed --in-format json -m '{\"id\": {{seq}}}' -n 100 --rate 10\n"
      "  zmq-sub --out-format jsonl | zmq-pub '@tcp://*:6000' --in-format jsonl-envelope\n"));

  return run_tool(app, argc, argv, [&] {
    message_source source(input, [&](const std::string& s) { say(tool, s); });
    publisher::options opts;
    opts.endpoints = endpoints.resolve(endpoint_mode::bind, "tcp://127.0.0.1:5556");
    sock.apply(opts.socket);
    opts.drop_when_full = drop;
    zmq::context_t ctx;
    verbose_reporter report(verbose, tool, ctx);
    report.watch(opts.socket);
    publisher pub(ctx, opts);
    report.ready(opts.endpoints, pub.endpoints());
    if (wait_subscribers > 0 &&
        !pub.wait_for_subscribers(wait_subscribers,
                                  std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::duration<double>(wait_timeout))))
      throw unavailable_error(std::to_string(pub.subscriptions()) + " of " +
                              std::to_string(wait_subscribers) + " subscriptions arrived within " +
                              seconds_text(wait_timeout) + " s (--wait-timeout)");
    return send_loop(tool, source, sending, [&](const outgoing& m) {
      return pub.publish(m.topic, packed(m.payload), m.headers);
    });
  });
}
