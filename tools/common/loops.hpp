// The main loops the tools share: receive-and-print (zmq-sub, zmq-pull) and
// read-and-send (zmq-pub, zmq-push). Each tool only builds its pattern and
// hands it here.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <zmqkit/envelope.hpp>
#include <zmqkit/error.hpp>
#include <zmqkit/socket_options.hpp>

#include "common/cli.hpp"
#include "common/input.hpp"
#include "common/option_values.hpp"
#include "common/output.hpp"

namespace zmqkit::tools {

struct receive_options {
  std::int64_t count = -1;    // -C: stop after this many
  double idle_seconds = 0;    // -W: give up after this long without a message
  bool stats = false;         // --stats
  bool quiet = false;         // receive, but print nothing
  output_options output;
  void add_to(CLI::App& app, const std::string& default_format);
};

struct send_options {
  double rate = 0;         // --rate: messages per second
  double interval_ms = 0;  // --interval
  void add_to(CLI::App& app);
};

// Waits up to idle (forever if negative) for a message, in slices, so that a
// stop signal landing just before a wait cannot leave the tool blocked.
template <class Receiver>
std::optional<zmqkit::message> receive_until_stopped(Receiver& receiver,
                                                     std::chrono::milliseconds idle) {
  using namespace std::chrono;
  constexpr milliseconds slice{200};
  const auto deadline = steady_clock::now() + idle;
  while (!stop_requested()) {
    auto wait = slice;
    if (idle.count() >= 0) {
      const auto left = duration_cast<milliseconds>(deadline - steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      wait = std::min(wait, left);
    }
    if (auto m = receiver.receive(wait)) return m;
  }
  return std::nullopt;
}

// For a zmqkit::error with EMSGSIZE (check_sendable): "envelope of N bytes
// is over the M-byte message size limit (--max-size): not sent".
std::string too_large_text(const zmqkit::error& e);

// The default for receive_loop's written: nothing to settle.
struct nothing_to_settle {
  void operator()(std::uint64_t) const noexcept {}
};

// Receives until the count, the idle timeout (exit 3), a stop signal or a
// closed stdout; prints each message; prints --stats at the end.
// written(fseq) is called for each message with a journal position once its
// output has reached stdout (never for output lost to a closed stdout), so a
// durable subscriber can acknowledge it there and a killed tool loses nothing.
template <class Receiver, class Written = nothing_to_settle>
int receive_loop(const std::string& tool, Receiver& receiver, const receive_options& opts,
                 Written written = {}) {
  using namespace std::chrono;
  const formatter format(opts.output);
  stdout_writer out;
  receive_stats stats;
  std::vector<std::uint64_t> unsettled;  // printed into the buffer, not yet written
  const auto settle = [&] {
    if (!out.buffer().empty() || out.closed()) return;
    for (const auto fseq : unsettled) written(fseq);
    unsettled.clear();
  };
  const auto idle = opts.idle_seconds > 0
                        ? duration_cast<milliseconds>(duration<double>(opts.idle_seconds))
                        : zmqkit::forever;
  bool timed_out = false;
  std::uint64_t n = 0;
  while (opts.count < 0 || n < static_cast<std::uint64_t>(opts.count)) {
    if (stop_requested()) break;
    std::optional<zmqkit::message> m;
    try {
      m = receiver.receive(milliseconds(0));
      if (!m) {  // about to block: let the reader see what we have first
        if (!out.flush()) break;
        settle();
        m = receive_until_stopped(receiver, idle);
        if (!m) {
          timed_out = !stop_requested();
          break;
        }
      }
    } catch (const zmqkit::error& e) {
      if (interrupted(e)) break;
      throw;
    }
    if (!opts.quiet) {
      format.append(*m, out.buffer());
      if (m->position()) unsettled.push_back(m->position()->fseq);
      out.maybe_flush();
      settle();
      if (out.closed()) break;
    } else if (m->position()) {
      written(m->position()->fseq);
    }
    if (opts.stats) stats.record(*m);
    ++n;
  }
  out.flush();
  settle();
  if (opts.stats) {
    const auto& c = receiver.stats();
    const auto text = stats.summary(c.received, c.gaps, c.duplicates, c.decode_errors);
    for (std::size_t at = 0; at <= text.size();) {  // each line with the tool's name
      const auto end = std::min(text.find('\n', at), text.size());
      say(tool, text.substr(at, end - at));
      at = end + 1;
    }
  }
  if (timed_out) {
    // Messages that came but could not be read are worth a word: they
    // point at a peer that speaks something else.
    const auto malformed = receiver.stats().decode_errors;
    say(tool, "no message for " + seconds_text(opts.idle_seconds) + " s (-W), " +
                  std::to_string(n) + " received" +
                  (malformed == 0 ? std::string()
                                  : ", " + std::to_string(malformed) +
                                        " malformed dropped (-v shows why)"));
    return exit_timeout;
  }
  return exit_ok;
}

// Sends every message the source yields, paced. send(outgoing) returns false
// when the peer did not take it in time: exit 4. Rejected input, and a
// message too large to send (zmqkit::error EMSGSIZE, thrown before anything
// went out), are reported with their position and skipped: exit 1 at the end.
template <class Send>
int send_loop(const std::string& tool, message_source& source, const send_options& opts,
              Send&& send) {
  pacer pace(opts.rate, opts.interval_ms);
  std::uint64_t sent = 0;
  while (!stop_requested()) {
    pace.wait();  // before reading, so {{time}} in -m is the send time
    auto m = source.next();
    if (!m) break;
    try {
      if (!send(*m))
        throw unavailable_error("no peer took message " + std::to_string(sent + 1) +
                                " in time (" + std::to_string(sent) + " sent)");
    } catch (const zmqkit::error& e) {
      if (interrupted(e)) break;
      if (e.code() != std::errc::message_size) throw;
      source.reject(too_large_text(e));
      continue;
    }
    ++sent;
  }
  if (stop_requested()) source.stopped();
  if (source.rejected() > 0) {
    say(tool, std::to_string(source.rejected()) + " input(s) rejected, " + std::to_string(sent) +
                  " sent");
    return exit_failure;
  }
  return exit_ok;
}

}  // namespace zmqkit::tools
