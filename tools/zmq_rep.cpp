// zmq-rep: answer requests (zmqkit envelopes on REP): echo them, reply with
// a fixed message, or run a command per request.
#include <zmqkit/replier.hpp>

#include <algorithm>

#include "common/cli.hpp"
#include "common/exec.hpp"
#include "common/input.hpp"
#include "common/loops.hpp"
#include "common/option_values.hpp"
#include "common/output.hpp"
#include "common/socket_reporter.hpp"

int main(int argc, char** argv) {
  using namespace zmqkit;
  using namespace zmqkit::tools;
  const std::string tool = "zmq-rep";
  CLI::App app{"Answer requests from requesters (ZeroMQ REP, zmqkit envelopes), printing each "
               "request.\nDefault endpoint: @tcp://127.0.0.1:5558. Replies with the request "
               "itself unless -m or --exec.",
               tool};
  endpoint_options endpoints;
  endpoints.add_to(app);
  bool echo = false, quiet = false, verbose = false;
  std::string fixed, command, reply_format = "raw";
  double exec_timeout = 30;
  auto* echo_opt = app.add_flag("--echo", echo, "Reply with the request's payload and headers (the default)");
  auto* fixed_opt = app.add_option("-m,--message", fixed,
                                   "Reply with this message (templates as in zmq-pub)");
  auto* exec_opt = app.add_option("--exec", command,
                                  "Run this shell command per request: request payload on its "
                                  "stdin, reply is its stdout; a failing command gives an error reply");
  echo_opt->excludes(fixed_opt)->excludes(exec_opt);
  fixed_opt->excludes(exec_opt);
  app.add_option("--in-format", reply_format, "How -m is read: raw, json, msgpack")
      ->check(CLI::IsMember({"raw", "json", "msgpack"}))
      ->capture_default_str();
  app.add_option("--exec-timeout", exec_timeout, "Seconds a --exec command may run")
      ->check(seconds_in_range())
      ->capture_default_str();
  receive_options receiving;
  receiving.add_to(app, "raw");
  socket_cli_options sock;
  sock.add_to(app);
  app.add_flag("-q,--quiet", quiet, "Do not print requests");
  app.add_flag("-v,--verbose", verbose,
               "Print the endpoints, socket events and each malformed request on stderr");
  app.footer(help_footer(
      "  zmq-rep --echo                                answer each request with itself\n"
      "  zmq-rep -m pong -C 1                          answer one request with \"pong\"\n"
      "  zmq-rep --exec 'tr a-z A-Z'                   reply with the request upper-cased\n"
      "  zmq-rep --exec ./lookup.sh -W 60              env: ZMQ_TOPIC, ZMQ_SEQ, ZMQ_PRODUCER\n"));

  return run_tool(app, argc, argv, [&] {
    replier::options opts;
    opts.endpoints = endpoints.resolve(endpoint_mode::bind, "tcp://127.0.0.1:5558");
    sock.apply(opts.socket);
    if (verbose) opts.on_error = [&](const decode_error& e) { say(tool, std::string("bad request: ") + e.what()); };
    if (!fixed.empty()) {
      try {
        (void)parse_input(expand_template(fixed, 1), reply_format, "", {});
      } catch (const std::exception& e) {
        throw usage_error(std::string("-m: ") + e.what());
      }
    }
    zmq::context_t ctx;
    socket_reporter report(verbose, tool, ctx);
    const auto zap = report.secure(sock, opts.socket, opts.endpoints);
    replier rep(ctx, opts);
    report.ready(opts.endpoints, rep.endpoints());

    const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::duration<double>(exec_timeout));
    // The most stdout a reply can carry: --max-size less the envelope around it.
    const auto limit = static_cast<std::size_t>(opts.socket.max_message_size);
    const std::size_t max_output = limit - std::min(limit, envelope_overhead);
    std::uint64_t served = 0;
    // The request stream is printed by the shared loop; this adapter answers
    // each request as the loop takes it, before it is printed.
    struct answering {
      replier& rep;
      const std::function<void(const message&)>& answer;
      const std::string& tool;
      std::optional<message> receive(std::chrono::milliseconds t) {
        auto m = rep.receive(t);
        try {
          if (m) answer(*m);
        } catch (const zmqkit::error& e) {
          // The replier answered with an error in its place; serving goes on.
          if (e.code() != std::errc::message_size) throw;
          say(tool, "reply to seq " + std::to_string(m->seq()) + ": " + too_large_text(e));
        }
        return m;
      }
      const counters& stats() const { return rep.stats(); }
    };
    const std::function<void(const message&)> answer = [&](const message& request) {
      ++served;
      if (!command.empty()) {
        const auto in = request.payload_bytes() ? std::string(*request.payload_bytes()) : [&] {
          std::string json;
          append_payload_json(request, json);
          return json;
        }();
        const auto r = run_command(command, in,
                                   {"ZMQ_TOPIC=" + std::string(request.topic()),
                                    "ZMQ_SEQ=" + std::to_string(request.seq()),
                                    "ZMQ_PRODUCER=" + to_hex(request.producer())},
                                   timeout, max_output);
        using ending = command_result::ending;
        if (r.how == ending::exited && r.exit_status == 0) {
          rep.reply(request.topic(), packed(pack_raw(r.out)));
        } else {
          std::string why;
          if (r.how == ending::timed_out) {
            why = "command timed out after " + seconds_text(exec_timeout) + " s";
          } else if (r.how == ending::too_big) {
            why = "command output over " + std::to_string(max_output) + " bytes, too big for a reply";
          } else if (r.how == ending::stopped) {
            why = "zmq-rep was stopped before the command finished";
          } else {
            const auto line = r.err.substr(0, r.err.find('\n'));
            why = "command exited with status " + std::to_string(r.exit_status) + (line.empty() ? "" : ": " + line);
          }
          rep.reply_error(request.topic(), why);
          if (verbose) say(tool, "--exec failed for request " + std::to_string(served) + ": " + why);
        }
      } else if (!fixed.empty()) {
        const auto m = parse_input(expand_template(fixed, served), reply_format, "", {});
        rep.reply(request.topic(), packed(m.payload), m.headers);
      } else {
        headers echoed;
        for (std::size_t i = 0; i < request.header_count(); ++i) {
          const auto [k, v] = request.header(i);
          echoed.emplace_back(k, v);
        }
        rep.reply(request.topic(), packed(request.payload_msgpack()), echoed);
      }
    };
    answering source{rep, answer, tool};
    receiving.quiet = quiet;
    return receive_loop(tool, source, receiving);
  });
}
