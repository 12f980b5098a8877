// zmq-sub: receive zmqkit envelopes on a SUB socket and print them; with
// --replay or --durable, read a forwarder's journal through a durable
// subscription instead, acknowledging each message once it is printed.
#include <algorithm>

#include <zmqkit/durable_subscriber.hpp>
#include <zmqkit/subscriber.hpp>

#include "common/cli.hpp"
#include "common/loops.hpp"
#include "common/option_values.hpp"
#include "common/socket_reporter.hpp"

int main(int argc, char** argv) {
  using namespace zmqkit;
  using namespace zmqkit::tools;
  const std::string tool = "zmq-sub";
  CLI::App app{"Receive messages from publishers (ZeroMQ SUB, zmqkit envelopes) and print them.\n"
               "Default endpoint: >tcp://127.0.0.1:5556; with --replay or --durable, a forwarder's\n"
               "replay endpoint, >tcp://127.0.0.1:5561.",
               tool};
  endpoint_options endpoints;
  endpoints.add_to(app);
  std::vector<std::string> topics;
  one_word_each(*app.add_option("-t,--topic", topics, "Receive topics starting with this prefix "
                                                      "(repeatable; default: every topic)"));
  receive_options receiving;
  receiving.add_to(app, "raw");
  socket_cli_options sock;
  sock.add_to(app);
  std::string replay, durable;
  app.add_option("--replay", replay,
                 "Read a forwarder's journal from: first, new, resume, a position (FSEQ), an ISO "
                 "8601 time (2026-11-23T10:00:00Z) or an age (-30s, -5m, -2h); each message is "
                 "acknowledged once printed");
  app.add_option("--durable", durable,
                 "Join the forwarder's durable subscription NAME, which resumes where it stopped "
                 "(start: --replay, default resume)");
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose,
               "Print the endpoints, socket events and each malformed message on stderr");
  app.footer(help_footer(
      "  zmq-sub -t greetings                          print payloads\n"
      "  zmq-sub --out-format jsonl -C 10              10 messages as JSON lines, then exit\n"
      "  zmq-sub -F '{{time}} {{topic}} {{payload}}'     a template per message\n"
      "  zmq-sub -W 5 --stats                          stop after 5 idle seconds, print stats\n"
      "  zmq-sub --durable billing -t order_           a forwarder's stored orders, resuming\n"
      "  zmq-sub --replay -1h --out-format jsonl -W 2   the last hour from the journal, with fseq\n"));

  return run_tool(app, argc, argv, [&] {
    const auto on_error = [&](const decode_error& e) { say(tool, std::string("dropped: ") + e.what()); };
    zmq::context_t ctx;
    socket_reporter report(verbose, tool, ctx);
    if (app.count("--replay") > 0 || app.count("--durable") > 0) {
      durable_subscriber::options opts;
      if (app.count("--durable") > 0 &&
          (durable.empty() || !durable_subscriber::valid_name(durable)))
        throw usage_error("--durable '" + durable + "': a name is 1 to 128 of A-Z a-z 0-9 . _ -, "
                          "not starting with '.' nor ending in .tmp or .corrupt");
      opts.name = durable;
      opts.start = app.count("--replay") > 0
                       ? parse_replay_start(replay, std::chrono::system_clock::now())
                       : replay_start::resume();
      opts.endpoints = endpoints.resolve(endpoint_mode::connect, "tcp://127.0.0.1:5561");
      opts.prefixes = topics;
      // No more credit than -C will take: the rest stays with the forwarder.
      if (receiving.count > 0)
        opts.window = static_cast<std::uint32_t>(std::min<std::int64_t>(receiving.count, opts.window));
      sock.apply(opts.socket);
      if (verbose) opts.on_error = on_error;
      const auto zap = report.secure(sock, opts.socket, opts.endpoints);
      durable_subscriber sub(ctx, opts);
      report.ready(opts.endpoints, sub.endpoints());
      return receive_loop(tool, sub, receiving, [&](std::uint64_t fseq) { sub.ack(fseq); });
    }
    subscriber::options opts;
    opts.endpoints = endpoints.resolve(endpoint_mode::connect, "tcp://127.0.0.1:5556");
    opts.topics = topics.empty() ? std::vector<std::string>{""} : topics;
    sock.apply(opts.socket);
    if (verbose) opts.on_error = on_error;
    const auto zap = report.secure(sock, opts.socket, opts.endpoints);
    subscriber sub(ctx, opts);
    report.ready(opts.endpoints, sub.endpoints());
    return receive_loop(tool, sub, receiving);
  });
}
