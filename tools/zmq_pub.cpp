// zmq-pub: publish messages as zmqkit envelopes on a PUB (XPUB) socket; with
// --reliable, to a forwarder's intake, waiting for its acknowledgements.
#include <zmqkit/publisher.hpp>
#include <zmqkit/reliable_publisher.hpp>

#include "common/cli.hpp"
#include "common/input.hpp"
#include "common/loops.hpp"
#include "common/option_values.hpp"
#include "common/socket_reporter.hpp"

namespace {

using namespace zmqkit;
using namespace zmqkit::tools;

// Thrown out of the send loop when the outbox stayed full for --ack-timeout.
struct outbox_full {};

std::string shortened(std::string_view topic) {
  return topic.size() <= 40 ? std::string(topic) : std::string(topic.substr(0, 40)) + "...";
}

std::chrono::milliseconds to_ms(double seconds) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::duration<double>(seconds));
}

// --reliable: every message goes into reliable_publisher's outbox; at the
// end, wait for the forwarder to acknowledge all of them.
int publish_reliably(const std::string& tool, message_source& source, const send_options& sending,
                     reliable_publisher::options opts, zmq::context_t& ctx,
                     socket_reporter& report, double ack_timeout, bool stats) {
  std::uint64_t refused = 0;
  opts.send_timeout = to_ms(ack_timeout);
  const auto max_size = static_cast<std::size_t>(opts.socket.max_message_size);
  opts.on_rejected = [&](const reliable_publisher::rejection& r) {
    if (r.seq == 0) return;  // refused before sending: the send loop reports it
    ++refused;
    say(tool, "message seq " + std::to_string(r.seq) + " on topic '" + shortened(r.topic) +
                  "' rejected by the forwarder: " + r.reason);
  };
  reliable_publisher pub(ctx, opts);
  report.ready(opts.endpoints, pub.endpoints());

  int code = exit_ok;
  bool full = false;
  try {
    code = send_loop(tool, source, sending, [&](const outgoing& m) {
      const auto before = pub.stats().rejected;
      if (pub.publish(m.topic, packed(m.payload), m.headers)) return true;
      if (pub.stats().rejected > before) {  // too large: refused before it was numbered
        check_sendable(m.topic, 0, max_size);  // throws for the topic
        throw zmqkit::error(EMSGSIZE, "envelope is over the " + std::to_string(max_size) +
                                          "-byte message size limit");
      }
      throw outbox_full{};
    });
  } catch (const outbox_full&) {
    full = true;
  }
  bool all = false;
  if (!full) {
    try {
      // After a stop signal, take what has arrived but do not wait for more.
      all = pub.flush(stop_requested() ? std::chrono::milliseconds(0) : to_ms(ack_timeout));
    } catch (const zmqkit::error& e) {
      if (!interrupted(e)) throw;
      all = pub.outstanding() == 0;
    }
  }
  const auto& c = pub.stats();
  if (stats)
    say(tool, "stats: sent " + std::to_string(c.sent) + ", acked " + std::to_string(c.acked) +
                  ", resent " + std::to_string(c.resent) + ", nacked " + std::to_string(c.nacked) +
                  ", rejected " + std::to_string(c.rejected) + ", unacknowledged " +
                  std::to_string(pub.outstanding()));
  if (full) {
    say(tool, "no acknowledgement for " + seconds_text(ack_timeout) + " s (--ack-timeout) with " +
                  std::to_string(pub.outstanding()) +
                  " messages unacknowledged; stopped reading input");
    return exit_unavailable;
  }
  if (!all) {
    say(tool, std::to_string(pub.outstanding()) + " of " + std::to_string(c.acked + pub.outstanding()) +
                  " messages not acknowledged " +
                  (stop_requested() ? std::string("when stopped by a signal")
                                    : "within " + seconds_text(ack_timeout) + " s (--ack-timeout)"));
    return exit_unavailable;
  }
  if (refused > 0) {
    say(tool, std::to_string(refused) + " message(s) rejected, " + std::to_string(c.acked) +
                  " acknowledged");
    return exit_failure;
  }
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string tool = "zmq-pub";
  CLI::App app{"Publish messages to subscribers (ZeroMQ PUB, zmqkit envelopes).\n"
               "Default endpoint: @tcp://127.0.0.1:5556; with --reliable, a forwarder's intake,\n"
               ">tcp://127.0.0.1:5560. Reads stdin lines unless -m/-f/-s.",
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
  double wait_timeout = 10, ack_timeout = 10;
  bool drop = false, verbose = false, reliable = false, stats = false;
  app.add_option("--wait-subscribers", wait_subscribers,
                 "Before sending, wait until N subscriptions have arrived")
      ->check(whole_number_in(0, 1000000));
  app.add_option("--wait-timeout", wait_timeout, "Seconds --wait-subscribers waits (then exit 4)")
      ->check(seconds_in_range())
      ->capture_default_str();
  app.add_flag("--drop", drop,
               "Let slow subscribers miss messages (PUB's way) instead of waiting for them");
  app.add_flag("--reliable", reliable,
               "Publish to a forwarder's intake and wait for it to acknowledge (store) every "
               "message: exit 0 if all were, 4 if not in time, 1 if some were rejected");
  app.add_option("--ack-timeout", ack_timeout,
                 "With --reliable: seconds to wait for acknowledgements at the end, or for room "
                 "when 10000 are outstanding (then exit 4)")
      ->check(seconds_in_range())
      ->capture_default_str();
  app.add_flag("--stats", stats,
               "On exit, print what was sent (with --reliable: sent, acked, resent, nacked, "
               "rejected, unacknowledged) on stderr");
  app.add_flag("-v,--verbose", verbose, "Print the bound endpoints, then socket events, on stderr");
  app.footer(help_footer(
      "  zmq-pub -t greetings -m hello                      one message\n"
      "  seq 5 | zmq-pub -t numbers --wait-subscribers 1    each line a message\n"
      "  zmq-pub -t order_placed --in-format json -m '{\"id\": {{seq}}}' -n 100 --rate 10\n"
      "  zmq-sub --out-format jsonl | zmq-pub '@tcp://*:6000' --in-format jsonl-envelope\n"
      "  zmq-pub --reliable -t order_placed -f order.json --in-format json   stored by a forwarder\n"
      "  tail -F app.log | zmq-pub --reliable -t app.log --stats\n"));

  return run_tool(app, argc, argv, [&] {
    if (reliable && app.count("--wait-subscribers") > 0)
      throw usage_error("--wait-subscribers has no meaning with --reliable: the forwarder "
                        "acknowledges each message instead");
    if (reliable && drop) throw usage_error("--drop has no meaning with --reliable");
    if (!reliable && app.count("--ack-timeout") > 0)
      throw usage_error("--ack-timeout needs --reliable");
    input.max_size = sock.max_size;
    message_source source(input, [&](const std::string& s) { say(tool, s); });
    zmq::context_t ctx;
    socket_reporter report(verbose, tool, ctx);
    if (reliable) {
      reliable_publisher::options opts;
      opts.endpoints = endpoints.resolve(endpoint_mode::connect, "tcp://127.0.0.1:5560");
      sock.apply(opts.socket);
      // Acknowledgements, not the socket's queue, tell what was delivered:
      // at exit everything was acknowledged, or what was not is reported,
      // and --ack-timeout was the wait. Lingering would only add to it.
      if (app.count("--linger") == 0) opts.socket.linger = std::chrono::milliseconds(0);
      const auto zap = report.secure(sock, opts.socket, opts.endpoints);
      return publish_reliably(tool, source, sending, std::move(opts), ctx, report, ack_timeout,
                              stats);
    }
    publisher::options opts;
    opts.endpoints = endpoints.resolve(endpoint_mode::bind, "tcp://127.0.0.1:5556");
    sock.apply(opts.socket);
    opts.drop_when_full = drop;
    const auto zap = report.secure(sock, opts.socket, opts.endpoints);
    publisher pub(ctx, opts);
    report.ready(opts.endpoints, pub.endpoints());
    if (wait_subscribers > 0 &&
        !pub.wait_for_subscribers(wait_subscribers, to_ms(wait_timeout)))
      throw unavailable_error(std::to_string(pub.subscriptions()) + " of " +
                              std::to_string(wait_subscribers) + " subscriptions arrived within " +
                              seconds_text(wait_timeout) + " s (--wait-timeout)");
    const int code = send_loop(tool, source, sending, [&](const outgoing& m) {
      return pub.publish(m.topic, packed(m.payload), m.headers);
    });
    if (stats) say(tool, "stats: sent " + std::to_string(pub.stats().sent));
    return code;
  });
}
