// zmq-push: send messages as zmqkit envelopes on a PUSH socket, each to one puller.
#include <zmqkit/pusher.hpp>

#include <algorithm>
#include <chrono>

#include "common/cli.hpp"
#include "common/input.hpp"
#include "common/loops.hpp"
#include "common/option_values.hpp"
#include "common/socket_reporter.hpp"

namespace {

using namespace zmqkit;
using namespace zmqkit::tools;

std::chrono::milliseconds to_ms(double seconds) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::duration<double>(seconds));
}

// pusher::wait_for_pullers in slices, so that a stop signal, or a failed
// handshake reported from the pusher's events, ends the wait at once.
bool wait_for_pullers(pusher& push, std::size_t n, double seconds) {
  using clock = std::chrono::steady_clock;
  constexpr std::chrono::milliseconds slice{200};
  const auto deadline = clock::now() + to_ms(seconds);
  while (!stop_requested()) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0) return false;
    try {
      if (push.wait_for_pullers(n, std::min(left, slice))) return true;
    } catch (const zmqkit::error& e) {
      if (!interrupted(e)) throw;
    }
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
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
  std::size_t wait_pullers = 0;
  double timeout = 10, wait_timeout = 10;
  bool verbose = false;
  app.add_option("--timeout", timeout,
                 "Seconds to wait for a puller to take a message (then exit 4)")
      ->check(seconds_in_range())
      ->capture_default_str();
  app.add_option("--wait-pullers", wait_pullers,
                 "Before sending, wait until N pullers are connected, so that the first "
                 "messages are shared among them")
      ->check(whole_number_in(0, 1000000));
  app.add_option("--wait-timeout", wait_timeout, "Seconds --wait-pullers waits (then exit 4)")
      ->check(seconds_in_range())
      ->capture_default_str();
  app.add_flag("-v,--verbose", verbose, "Print the endpoints, then socket events, on stderr");
  app.footer(help_footer(
      "  zmq-push -t jobs -m 'resize img-1' -m 'resize img-2'\n"
      "  cat jobs.txt | zmq-push -t jobs --wait-pullers 3  one job per line, over 3 workers\n"
      "  zmq-push '>tcp://sink:5558' -t results -f report.pdf\n"));

  return run_tool(app, argc, argv, [&]() -> int {
    input.max_size = sock.max_size;
    message_source source(input, [&](const std::string& s) { say(tool, s); });
    pusher::options opts;
    opts.endpoints = endpoints.resolve(endpoint_mode::bind, "tcp://127.0.0.1:5557");
    sock.apply(opts.socket);
    opts.send_timeout = to_ms(timeout);
    zmq::context_t ctx;
    socket_reporter report(verbose, tool, ctx);
    // The pusher monitors its socket itself while it counts pullers (libzmq
    // keeps one monitor per socket) and hands the events on to -v; then the
    // reporter's monitor takes over.
    const auto zap = report.authenticate(sock, opts.endpoints);
    opts.on_event = [&](const socket_event& e) { report.report(e); };
    pusher push(ctx, opts);
    report.ready(opts.endpoints, push.endpoints());
    if (wait_pullers > 0 && !wait_for_pullers(push, wait_pullers, wait_timeout)) {
      if (stop_requested()) return exit_ok;
      throw unavailable_error(std::to_string(push.pullers()) + " of " +
                              std::to_string(wait_pullers) + " pullers connected within " +
                              seconds_text(wait_timeout) + " s (--wait-timeout)");
    }
    report.watch(push.socket());
    (void)push.pullers();  // hands on the events from before the takeover
    return send_loop(tool, source, sending, [&](const outgoing& m) {
      return push.push(m.topic, packed(m.payload), m.headers);
    });
  });
}
