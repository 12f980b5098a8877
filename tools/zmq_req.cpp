// zmq-req: send requests (zmqkit envelopes on REQ, retried Lazy Pirate style)
// and print the replies.
#include <zmqkit/requester.hpp>

#include "common/cli.hpp"
#include "common/input.hpp"
#include "common/loops.hpp"
#include "common/option_values.hpp"
#include "common/output.hpp"
#include "common/socket_reporter.hpp"

int main(int argc, char** argv) {
  using namespace zmqkit;
  using namespace zmqkit::tools;
  const std::string tool = "zmq-req";
  CLI::App app{"Send requests to a replier and print each reply (ZeroMQ REQ, zmqkit envelopes).\n"
               "Default endpoint: >tcp://127.0.0.1:5558. Reads stdin lines unless -m/-f/-s.",
               tool};
  endpoint_options endpoints;
  endpoints.add_to(app);
  input_options input;
  input.add_to(app);
  send_options sending;
  sending.add_to(app);
  output_options output;
  output.add_to(app, "raw");
  socket_cli_options sock;
  sock.add_to(app);
  double timeout = 2.5;
  int retries = 3;
  bool verbose = false;
  app.add_option("--timeout", timeout, "Seconds to wait for each reply before retrying")
      ->check(seconds_in_range())
      ->capture_default_str();
  app.add_option("--retries", retries, "Times to resend on a fresh socket before giving up (exit 4)")
      ->check(whole_number_in(0, 1000))
      ->capture_default_str();
  app.add_flag("-v,--verbose", verbose, "Print the endpoints and each retry on stderr");
  app.footer(help_footer(
      "  zmq-req -t price -m sku-42                    one request, print the reply\n"
      "  zmq-req -t double --in-format json -m 21 --out-format jsonl\n"
      "  cat queries.txt | zmq-req -t lookup --timeout 1 --retries 5\n"));

  return run_tool(app, argc, argv, [&] {
    input.max_size = sock.max_size;
    message_source source(input, [&](const std::string& s) { say(tool, s); });
    requester::options opts;
    opts.endpoints = endpoints.resolve(endpoint_mode::connect, "tcp://127.0.0.1:5558");
    sock.apply(opts.socket);
    opts.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::duration<double>(timeout));
    opts.retries = retries;
    if (verbose)
      opts.on_retry = [&](int attempt) {
        say(tool, "no reply in time, retrying on a new socket (attempt " + std::to_string(attempt) +
                      " of " + std::to_string(retries + 1) + ")");
      };
    zmq::context_t ctx;
    socket_reporter report(verbose, tool, ctx);
    const auto zap = report.secure(sock, opts.socket, opts.endpoints);
    requester req(ctx, opts);
    report.ready(opts.endpoints, req.endpoints());

    const formatter format(output);
    stdout_writer out;
    std::uint64_t error_replies = 0;
    const int status = send_loop(tool, source, sending, [&](const outgoing& m) {
      auto reply = req.request(m.topic, packed(m.payload), m.headers);
      if (!reply)
        throw unavailable_error("no reply after " + std::to_string(retries + 1) +
                                (retries == 0 ? " attempt of " : " attempts of ") +
                                seconds_text(timeout) + " s");
      if (const auto error = reply->find_header("error")) {
        ++error_replies;
        say(tool, "error reply: " + std::string(*error));
        return true;
      }
      format.append(*reply, out.buffer());
      out.flush();
      return true;
    });
    if (status == exit_ok && error_replies > 0) return int(exit_failure);
    return status;
  });
}
