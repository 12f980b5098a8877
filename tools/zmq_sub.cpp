// zmq-sub: receive zmqkit envelopes on a SUB socket and print them.
#include <zmqkit/subscriber.hpp>

#include "common/cli.hpp"
#include "common/loops.hpp"

int main(int argc, char** argv) {
  using namespace zmqkit;
  using namespace zmqkit::tools;
  const std::string tool = "zmq-sub";
  CLI::App app{"Receive messages from publishers (ZeroMQ SUB, zmqkit envelopes) and print them.\n"
               "Default endpoint: >tcp://127.0.0.1:5556.",
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
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose,
               "Print the endpoints, socket events and each malformed message on stderr");
  app.footer(help_footer(
      "  zmq-sub -t greetings                          print payloads\n"
      "  zmq-sub --out-format jsonl -C 10              10 messages as JSON lines, then exit\n"
      "  zmq-sub -F '{{time}} {{topic}} {{payload}}'     a template per message\n"
      "  zmq-sub -W 5 --stats                          stop after 5 idle seconds, print stats\n"));

  return run_tool(app, argc, argv, [&] {
    subscriber::options opts;
    opts.endpoints = endpoints.resolve(endpoint_mode::connect, "tcp://127.0.0.1:5556");
    opts.topics = topics.empty() ? std::vector<std::string>{""} : topics;
    sock.apply(opts.socket);
    if (verbose) opts.on_error = [&](const decode_error& e) { say(tool, std::string("dropped: ") + e.what()); };
    zmq::context_t ctx;
    verbose_reporter report(verbose, tool, ctx);
    report.watch(opts.socket);
    subscriber sub(ctx, opts);
    report.ready(opts.endpoints, sub.endpoints());
    return receive_loop(tool, sub, receiving);
  });
}
