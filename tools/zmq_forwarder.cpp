// zmq-forwarder: the durable store-and-forward device, run as a process.
#include <zmqkit/forwarder.hpp>

#include <iostream>
#include <optional>

#include "common/cli.hpp"
#include "common/metrics_endpoint.hpp"
#include "common/option_values.hpp"
#include "common/socket_reporter.hpp"

namespace {

using namespace zmqkit;
using namespace zmqkit::tools;

// Endpoints from the command line; a bad one is a usage error.
std::vector<endpoint> parsed(const std::vector<std::string>& given, endpoint_mode mode) {
  std::vector<endpoint> out;
  try {
    for (const auto& g : given) {
      auto eps = parse_endpoints(g, mode);
      out.insert(out.end(), eps.begin(), eps.end());
    }
  } catch (const std::invalid_argument& e) {
    throw usage_error(e.what());
  }
  return out;
}

// A role's endpoints: the ones given, or the role's default when none were.
// "none" switches the role off.
std::vector<endpoint> role(const std::vector<std::string>& given, const std::string& fallback) {
  if (given.empty()) return parsed({fallback}, endpoint_mode::bind);
  if (given.size() == 1 && given[0] == "none") return {};
  return parsed(given, endpoint_mode::bind);
}

std::string show(const char* name, const std::vector<std::string>& eps, const std::vector<endpoint>& given) {
  std::string out;
  for (std::size_t i = 0; i < eps.size(); ++i)
    out += std::string(" ") + name + "=" + (given[i].mode == endpoint_mode::bind ? "@" : ">") + eps[i];
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string tool = "zmq-forwarder";
  CLI::App app{"Store messages in a journal on disk and forward them: to plain subscribers (live),\n"
               "to durable subscriptions with acknowledgements (replay), and to another\n"
               "forwarder (--forward-to). Reliable publishers (zmq-pub --reliable) are\n"
               "acknowledged only once their messages are on disk.",
               tool};
  std::string dir;
  std::vector<std::string> intake, frontend, live, replay, control, forward_to;
  std::string fsync = "always";
  std::string metrics;
  std::uint64_t segment_mib = 64, max_mib = 0, max_messages = 0, max_age_s = 0;
  double ack_wait_s = 30, member_timeout_s = 10, link_resend_s = 5, link_heartbeat_s = 1,
         commit_interval_ms = 1;
  bool verbose = false;
  socket_cli_options sock;
  app.add_option("-d,--journal", dir, "Journal directory (created if missing; one forwarder each)")
      ->required();
  app.add_option("--intake", intake, "Reliable publishers' endpoint (ROUTER) [@tcp://127.0.0.1:5560]");
  app.add_option("--replay", replay, "Durable subscriptions' endpoint (ROUTER) [@tcp://127.0.0.1:5561]");
  app.add_option("--live", live, "Plain subscribers' endpoint (XPUB) [@tcp://127.0.0.1:5562]");
  app.add_option("--frontend", frontend, "Plain publishers' endpoint (XSUB) [@tcp://127.0.0.1:5559]");
  app.add_option("--control", control, "Control endpoint (REP): PAUSE RESUME TERMINATE STATISTICS STATS [@tcp://127.0.0.1:5563]");
  app.add_option("--forward-to", forward_to, "Another forwarder's intake to send everything to (connects)");
  app.add_option("--metrics", metrics,
                 "Serve Prometheus metrics at http://HOST:PORT/metrics; HOST an IP address or *, "
                 "PORT 0 for any free one [off]");
  app.add_option("--fsync", fsync, "always | interval:MS | never [always]");
  app.add_option("--commit-interval", commit_interval_ms,
                 "With --fsync always: start a group commit (fdatasync) at most this often, in ms; "
                 "a message arriving at an idle forwarder is committed at once [1]")
      ->check(number_in(0, 100, "milliseconds"));
  app.add_option("--segment-mib", segment_mib, "Roll to a new segment file past this size [64]")
      ->check(whole_number_in(1, 4096));
  app.add_option("--max-mib", max_mib, "Retention: delete oldest segments past this total [no limit]")
      ->check(whole_number_in(0, std::uint64_t{1} << 40));
  app.add_option("--max-messages", max_messages, "Retention: keep about this many messages [no limit]")
      ->check(whole_number_in(0, std::uint64_t{1} << 62));
  app.add_option("--max-age", max_age_s, "Retention: delete segments older than this many seconds [no limit]")
      ->check(number_in(0, 1e9, "seconds"));
  app.add_option("--ack-wait", ack_wait_s, "Replay: send again what is not acknowledged within this many seconds [30]")
      ->check(seconds_in_range());
  app.add_option("--member-timeout", member_timeout_s, "Replay: a silent subscriber is gone after this many seconds [10]")
      ->check(seconds_in_range());
  app.add_option("--link-resend", link_resend_s, "Forward-to: go back to the first unacknowledged after this many seconds [5]")
      ->check(seconds_in_range());
  app.add_option("--link-heartbeat", link_heartbeat_s,
                 "Forward-to: PING the next hop this often; silent for 3 PINGs, it is dropped and "
                 "reconnected (0: off) [1]")
      ->check(number_in(0, 3600, "seconds"));
  sock.add_to(app);
  app.add_flag("-v,--verbose", verbose, "Print the endpoints once ready, and journal events, on stderr");
  app.footer(help_footer(
      "  zmq-forwarder -d ./journal -v\n"
      "      intake :5560, replay :5561, live :5562, frontend :5559, control :5563 on 127.0.0.1\n"
      "  zmq-forwarder -d /var/lib/zmqkit --intake '@tcp://*:5560' --replay '@tcp://*:5561' \\\n"
      "      --forward-to '>tcp://hub.example:5560'           a store-and-forward hop\n"
      "  zmq-forwarder -d ./j --fsync interval:10 --max-mib 1024   faster, bounded on disk\n"
      "  zmq-forwarder -d ./j --metrics 127.0.0.1:9464        Prometheus scrapes :9464/metrics\n"
      "Give 'none' to switch a role off: --live none. Each role takes several endpoints.\n"
      "SIGINT or SIGTERM: stop taking messages, sync, save positions, exit 0.\n"));

  return run_tool(app, argc, argv, [&] {
    if (dir.empty()) throw usage_error("-d: the journal directory is an empty path");
    forwarder::options o;
    o.journal_dir = dir;
    try {
      o.journal_options.sync = durability::parse(fsync);
    } catch (const std::invalid_argument& e) {
      throw usage_error(e.what());
    }
    o.journal_options.segment_bytes = segment_mib << 20;
    o.journal_options.max_bytes = max_mib << 20;
    o.journal_options.max_messages = max_messages;
    o.journal_options.max_age = std::chrono::seconds(max_age_s);
    o.intake = role(intake, "tcp://127.0.0.1:5560");
    o.replay = role(replay, "tcp://127.0.0.1:5561");
    o.live = role(live, "tcp://127.0.0.1:5562");
    o.frontend = role(frontend, "tcp://127.0.0.1:5559");
    o.control = role(control, "tcp://127.0.0.1:5563");
    o.forward_to = parsed(forward_to, endpoint_mode::connect);
    for (const auto& ep : o.forward_to)
      if (ep.mode == endpoint_mode::bind)
        throw usage_error("--forward-to '@" + ep.address +
                          "': the link connects to the next forwarder's intake; give >" +
                          ep.address + " or " + ep.address);
    const std::string metrics_at = metrics.empty() ? "" : parse_metrics_address(metrics);
    if (o.intake.empty() && o.frontend.empty())
      throw usage_error("nothing to take messages from: keep --intake or --frontend");
    const auto secs = [](double s) {
      return std::chrono::milliseconds(static_cast<std::int64_t>(s * 1000));
    };
    o.ack_wait = secs(ack_wait_s);
    o.member_timeout = secs(member_timeout_s);
    o.link_resend = secs(link_resend_s);
    o.link_heartbeat = secs(link_heartbeat_s);
    o.commit_interval = std::chrono::microseconds(static_cast<std::int64_t>(commit_interval_ms * 1000));
    sock.apply(o.socket);
    o.on_log = [&](const std::string& line) { say(tool, line); };  // problems always; they matter

    std::vector<endpoint> all;
    for (const auto* eps : {&o.intake, &o.replay, &o.live, &o.frontend, &o.control, &o.forward_to})
      all.insert(all.end(), eps->begin(), eps->end());

    install_stop_signals();
    zmq::context_t ctx;
    socket_reporter report(verbose, tool, ctx);
    const auto zap = report.secure(sock, o.socket, all);
    forwarder fwd(ctx, o);
    // After the forwarder, so it stops serving before the forwarder goes.
    std::optional<metrics_endpoint> http;
    if (!metrics_at.empty()) http.emplace(metrics_at, [&fwd] { return fwd.metrics(); });
    std::vector<std::string> resolved;
    for (const auto* eps : {&fwd.endpoints().intake, &fwd.endpoints().replay, &fwd.endpoints().live,
                            &fwd.endpoints().frontend, &fwd.endpoints().control,
                            &fwd.endpoints().forward_to})
      resolved.insert(resolved.end(), eps->begin(), eps->end());
    // A failed handshake on the forward-to link ends the forwarder with
    // exit 4, as in the other tools: libzmq would not retry a connection
    // the next forwarder refused, so the link would stay down unseen.
    report.start(all, resolved);
    if (verbose) {
      const auto& b = fwd.endpoints();
      const auto& r = fwd.recovery();
      say(tool, "ready:" + show("intake", b.intake, o.intake) + show("replay", b.replay, o.replay) +
                    show("live", b.live, o.live) + show("frontend", b.frontend, o.frontend) +
                    show("control", b.control, o.control) +
                    show("forward-to", b.forward_to, o.forward_to) +
                    (http ? " metrics=@" + http->url() : std::string()) + " journal=" + dir +
                    " fsync=" + o.journal_options.sync.to_string() +
                    (r.bytes_dropped ? " recovered: " + r.tail_problem : std::string()));
    }
    while (!stop_requested() && !fwd.wait(std::chrono::milliseconds(100))) {
    }
    fwd.stop();
    if (const auto why = fwd.failure()) {
      say(tool, *why + "; restart it to recover the journal");
      return int(exit_failure);
    }
    return int(exit_ok);
  });
}
