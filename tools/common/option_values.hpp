// How the tools read and write their options' values (docs/cli.md): times
// (--replay), numbers and durations in a range, sizes with k, m, g. Each
// check says in one line what was wrong and which values are taken.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

#include <zmqkit/durable_subscriber.hpp>

namespace zmqkit::tools {

// zmq-sub --replay: "first", "new", "resume", a journal position ("1234"),
// an ISO 8601 UTC or offset time ("2026-11-23T10:00:00Z",
// "2026-11-23T11:00:00.5+01:00") or an age before now ("-30s", "-5m", "-2h",
// "-1d"). Throws usage_error with a one-line reason.
zmqkit::replay_start parse_replay_start(const std::string& text,
                                        std::chrono::system_clock::time_point now);

// A number of seconds as people write it: "0.3", "10".
std::string seconds_text(double seconds);

// An option's check: a finite number from min to max, in unit ("seconds",
// "milliseconds", "messages a second"). CLI11's PositiveNumber and Range
// let nan through, and 1e300 seconds overflows every duration; this says
// "--ack-wait: 1e300 is not a number of seconds from 0.001 to 1000000".
CLI::Validator number_in(double min, double max, const std::string& unit);
// The range most durations take: 1 ms to a million seconds (11.5 days).
inline CLI::Validator seconds_in_range() { return number_in(0.001, 1e6, "seconds"); }
// An option's transform (not check: it rewrites the text): a whole number of bytes from min to
// max, written plain or with a binary unit ("16777216", "64k", "16m",
// "1g"; "KiB" and "MiB" too). The text becomes the number of bytes.
CLI::Validator bytes_in(std::uint64_t min, std::uint64_t max);
// A whole number from min to max. CLI11 reads "-1" into an unsigned option
// as 2^64-1; this refuses it: "--count: -1 is not a whole number from 0 to ...".
CLI::Validator whole_number_in(std::uint64_t min, std::uint64_t max);
// A byte count as the options take it: "16m", "64k", or bytes.
std::string bytes_text(std::uint64_t n);

}  // namespace zmqkit::tools
