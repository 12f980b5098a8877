#include "common/loops.hpp"

#include "common/option_values.hpp"

namespace zmqkit::tools {

void receive_options::add_to(CLI::App& app, const std::string& default_format) {
  app.add_option("-C,--count", count, "Exit after this many messages")
      ->check(whole_number_in(0, std::uint64_t{1} << 62));
  app.add_option("-W,--idle-timeout", idle_seconds,
                 "Exit with status 3 after this many seconds without a message")
      ->check(seconds_in_range());
  app.add_flag("--stats", stats,
               "On exit, print to stderr received, rate, gaps, duplicates, decode errors, latency, and per "
               "topic its events, rate and latency split, and a durable subscription's backlog");
  output.add_to(app, default_format);
}

std::string too_large_text(const zmqkit::error& e) {
  // what() ends with ": Message too long", the errno's text, already said.
  const std::string what = e.what();
  const auto reason = what.substr(0, what.rfind(": "));
  const bool topic = reason.rfind("topic", 0) == 0;  // a limit --max-size does not move
  return reason + (topic ? "" : " (--max-size)") + ": not sent";
}

void send_options::add_to(CLI::App& app) {
  app.add_option("--rate", rate, "Send at most this many messages per second")
      ->check(number_in(0.001, 1e9, "messages a second"));
  app.add_option("--interval", interval_ms, "Wait this many milliseconds between messages")
      ->check(number_in(0.001, 1e9, "milliseconds"));
}

}  // namespace zmqkit::tools
