// zmq-bench: zmqkit's patterns measured beside raw libzmq in the same run
// (docs/performance.md). For each scenario, transport and payload size it
// runs zmqkit and raw libzmq alternately, A B A B over --pairs pairs, and
// reports the medians and the ratio zmqkit/raw with its min and max.
#include <pthread.h>
#include <signal.h>
#include <sys/utsname.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <iostream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include <zmqkit/journal.hpp>

#include "common/cli.hpp"
#include "common/option_values.hpp"
#include "zmq_bench/runs.hpp"

namespace {

using namespace zmqkit;
using namespace zmqkit::tools;
using bench::impl;
using bench::run_spec;
using bench::scenario;
using nlohmann::json;

// A latency as zmq-bench reports it: microseconds.
double us(std::int64_t ns) { return static_cast<double>(ns) / 1000.0; }

scenario parse_scenario(const std::string& s) {
  if (s == "pubsub") return scenario::pubsub;
  if (s == "pushpull") return scenario::pushpull;
  if (s == "reqrep") return scenario::reqrep;
  if (s == "forwarder") return scenario::forwarder;
  throw usage_error("scenario '" + s + "': use pubsub, pushpull, reqrep or forwarder");
}

// "64", "16k", "1m" (KiB and MiB).
std::size_t parse_size(const std::string& s) {
  std::size_t used = 0;
  unsigned long long n = 0;
  try {
    n = std::stoull(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  const auto unit = s.substr(used);
  const unsigned long long scale = unit.empty() ? 1 : unit == "k" || unit == "K" ? 1024 : unit == "m" || unit == "M" ? 1 << 20 : 0;
  if (used == 0 || scale == 0 || n == 0 || n * scale > (64ull << 20))
    throw usage_error("--size '" + s + "': bytes from 1 to 64m, e.g. 32, 256, 16k, 1m");
  return static_cast<std::size_t>(n * scale);
}

std::string size_text(std::size_t n) {
  if (n >= (1u << 20) && n % (1u << 20) == 0) return std::to_string(n >> 20) + "m";
  if (n >= 1024 && n % 1024 == 0) return std::to_string(n >> 10) + "k";
  return std::to_string(n);
}

// Default messages per run: 100 000, fewer for large payloads (512 MiB a run).
std::uint64_t default_count(std::size_t size) {
  return std::clamp<std::uint64_t>((512ull << 20) / size, 200, 100000);
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

json spread(const std::vector<double>& v) {
  if (v.empty()) return nullptr;
  return {{"median", median(v)}, {"min", *std::min_element(v.begin(), v.end())},
          {"max", *std::max_element(v.begin(), v.end())}};
}

// The runs of one implementation in one row.
struct series {
  std::vector<double> rate, p50, p99, p999, max;
  void add(const bench::run_result& r) {
    rate.push_back(r.per_second);
    if (r.latency.count() == 0) return;
    p50.push_back(us(r.latency.percentile_ns(50)));
    p99.push_back(us(r.latency.percentile_ns(99)));
    p999.push_back(us(r.latency.percentile_ns(99.9)));
    max.push_back(us(r.latency.max_ns()));
  }
  json to_json(bool latency, std::size_t size) const {
    json j = {{"msgs_per_s", spread(rate)}, {"mib_per_s", median(rate) * static_cast<double>(size) / (1 << 20)}};
    if (latency)
      j.update({{"p50_us", median(p50)}, {"p99_us", median(p99)}, {"p999_us", median(p999)}, {"max_us", median(max)}});
    return j;
  }
};

struct row_key {
  scenario what;
  std::string transport, fsync;
  std::size_t size;
  std::uint64_t count;
};

json measure(zmq::context_t& ctx, const row_key& k, const run_spec& base, const std::vector<impl>& impls,
             int pairs, bool verbose) {
  series zk, raw, fr;
  std::vector<double> ratio, delta, ratio_frames, delta_frames;
  const bool has_frames = k.what != scenario::forwarder;
  if (verbose)
    say("zmq-bench", std::string(bench::name(k.what)) + " " + k.transport + " " + size_text(k.size) +
                         (k.fsync.empty() ? "" : " fsync " + k.fsync) + ": " + std::to_string(pairs) +
                         (pairs == 1 ? " pair" : " pairs") + " of runs of " + std::to_string(k.count) +
                         " messages");
  for (int pair = 0; pair < pairs; ++pair) {
    std::map<impl, bench::run_result> got;
    for (const auto how : impls) {
      if (how == impl::frames && !has_frames) continue;
      auto spec = base;
      spec.what = k.what;
      spec.how = how;
      spec.transport = k.transport;
      spec.size = k.size;
      spec.count = k.count;
      spec.fsync = k.fsync;
      got[how] = bench::run_in_process(ctx, spec);
      (how == impl::zmqkit ? zk : how == impl::raw ? raw : fr).add(got[how]);
      if (verbose)
        say("zmq-bench", std::string(bench::name(k.what)) + " " + k.transport + " " + size_text(k.size) +
                             " pair " + std::to_string(pair + 1) + " " + bench::name(how) + ": " +
                             std::to_string(static_cast<long long>(got[how].per_second)) + " msg/s" +
                             (base.rate > 0 ? " p50 " + std::to_string(us(got[how].latency.percentile_ns(50))) + " us" : ""));
    }
    if (got.count(impl::zmqkit) && got.count(impl::frames))
      ratio_frames.push_back(got[impl::zmqkit].per_second / got[impl::frames].per_second);
    if (got.count(impl::zmqkit) && got.count(impl::raw)) {
      ratio.push_back(got[impl::zmqkit].per_second / got[impl::raw].per_second);
      if (base.rate > 0)
        delta.push_back(us(got[impl::zmqkit].latency.percentile_ns(50)) - us(got[impl::raw].latency.percentile_ns(50)));
    }
    if (base.rate > 0 && got.count(impl::zmqkit) && got.count(impl::frames))
      delta_frames.push_back(us(got[impl::zmqkit].latency.percentile_ns(50)) - us(got[impl::frames].latency.percentile_ns(50)));
  }
  const bool latency = base.rate > 0;
  json row = {{"scenario", bench::name(k.what)}, {"transport", k.transport}, {"payload_bytes", k.size},
              {"mode", latency ? "latency" : "throughput"}, {"messages_per_run", k.count}, {"pairs", pairs}};
  if (latency) row["rate_per_s"] = base.rate;
  if (k.what == scenario::forwarder) row["fsync"] = k.fsync;
  if (!zk.rate.empty()) row["zmqkit"] = zk.to_json(latency, k.size);
  if (!raw.rate.empty()) row["raw"] = raw.to_json(latency, k.size);
  if (!fr.rate.empty()) row["frames"] = fr.to_json(latency, k.size);
  if (!ratio.empty()) row["ratio_zmqkit_to_raw_msgs_per_s"] = spread(ratio);
  if (!ratio_frames.empty()) row["ratio_zmqkit_to_frames_msgs_per_s"] = spread(ratio_frames);
  if (!delta.empty()) row["p50_us_zmqkit_minus_raw"] = spread(delta);
  if (!delta_frames.empty()) row["p50_us_zmqkit_minus_frames"] = spread(delta_frames);
  return row;
}

std::string fixed(double v, int digits) {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(digits);
  s << v;
  return s.str();
}

const json* at(const json& j, const char* a, const char* b = nullptr, const char* c = nullptr) {
  const json* p = &j;
  for (const char* k : {a, b, c}) {
    if (k == nullptr) break;
    if (!p->is_object() || !p->contains(k) || (*p)[k].is_null()) return nullptr;
    p = &(*p)[k];
  }
  return p;
}

std::string cell(const json& row, const char* a, const char* b = nullptr, const char* c = nullptr, int digits = 0) {
  const json* v = at(row, a, b, c);
  if (v == nullptr) return "-";
  if (v->is_number()) return fixed(v->get<double>(), digits);
  return v->is_string() ? v->get<std::string>() : v->dump();
}

void print_header(bool latency) {
  std::printf("%-10s %-6s %-11s %7s", "scenario", "trans", "fsync", "payload");
  if (latency)
    std::printf(" %10s %10s %10s %10s %10s %10s %10s %10s %10s\n", "zk p50us", "zk p99us", "zk p99.9",
                "zk max", "raw p50us", "raw p99us", "raw p99.9", "raw max", "p50 +us");
  else
    std::printf(" %12s %12s %7s %7s %7s %10s %12s\n", "zmqkit/s", "raw/s", "ratio", "min", "max", "zk MiB/s",
                "vs frames");
}

// One row, printed as soon as it is measured.
void print_row(const json& r, bool latency) {
  std::printf("%-10s %-6s %-11s %7s", cell(r, "scenario").c_str(), cell(r, "transport").c_str(),
              cell(r, "fsync").c_str(), size_text(r["payload_bytes"].get<std::size_t>()).c_str());
  if (latency)
    std::printf(" %10s %10s %10s %10s %10s %10s %10s %10s %10s\n", cell(r, "zmqkit", "p50_us", nullptr, 1).c_str(),
                cell(r, "zmqkit", "p99_us", nullptr, 1).c_str(), cell(r, "zmqkit", "p999_us", nullptr, 1).c_str(),
                cell(r, "zmqkit", "max_us", nullptr, 1).c_str(), cell(r, "raw", "p50_us", nullptr, 1).c_str(),
                cell(r, "raw", "p99_us", nullptr, 1).c_str(), cell(r, "raw", "p999_us", nullptr, 1).c_str(),
                cell(r, "raw", "max_us", nullptr, 1).c_str(),
                cell(r, "p50_us_zmqkit_minus_raw", "median", nullptr, 1).c_str());
  else
    std::printf(" %12s %12s %7s %7s %7s %10s %12s\n", cell(r, "zmqkit", "msgs_per_s", "median").c_str(),
                cell(r, "raw", "msgs_per_s", "median").c_str(),
                cell(r, "ratio_zmqkit_to_raw_msgs_per_s", "median", nullptr, 2).c_str(),
                cell(r, "ratio_zmqkit_to_raw_msgs_per_s", "min", nullptr, 2).c_str(),
                cell(r, "ratio_zmqkit_to_raw_msgs_per_s", "max", nullptr, 2).c_str(),
                cell(r, "zmqkit", "mib_per_s", nullptr, 1).c_str(),
                cell(r, "ratio_zmqkit_to_frames_msgs_per_s", "median", nullptr, 2).c_str());
  std::fflush(stdout);
}

const std::vector<std::pair<std::string, std::vector<const char*>>>& csv_columns() {
  static const std::vector<std::pair<std::string, std::vector<const char*>>> c{
      {"scenario", {"scenario"}}, {"transport", {"transport"}}, {"fsync", {"fsync"}},
      {"payload_bytes", {"payload_bytes"}}, {"mode", {"mode"}}, {"rate_per_s", {"rate_per_s"}},
      {"messages_per_run", {"messages_per_run"}}, {"pairs", {"pairs"}},
      {"zmqkit_msgs_per_s", {"zmqkit", "msgs_per_s", "median"}},
      {"raw_msgs_per_s", {"raw", "msgs_per_s", "median"}},
      {"ratio_zmqkit_to_raw_median", {"ratio_zmqkit_to_raw_msgs_per_s", "median"}},
      {"ratio_zmqkit_to_raw_min", {"ratio_zmqkit_to_raw_msgs_per_s", "min"}},
      {"ratio_zmqkit_to_raw_max", {"ratio_zmqkit_to_raw_msgs_per_s", "max"}},
      {"zmqkit_mib_per_s", {"zmqkit", "mib_per_s"}}, {"raw_mib_per_s", {"raw", "mib_per_s"}},
      {"frames_msgs_per_s", {"frames", "msgs_per_s", "median"}},
      {"ratio_zmqkit_to_frames_median", {"ratio_zmqkit_to_frames_msgs_per_s", "median"}},
      {"zmqkit_p50_us", {"zmqkit", "p50_us"}}, {"zmqkit_p99_us", {"zmqkit", "p99_us"}},
      {"zmqkit_p999_us", {"zmqkit", "p999_us"}}, {"zmqkit_max_us", {"zmqkit", "max_us"}},
      {"raw_p50_us", {"raw", "p50_us"}}, {"raw_p99_us", {"raw", "p99_us"}},
      {"raw_p999_us", {"raw", "p999_us"}}, {"raw_max_us", {"raw", "max_us"}},
      {"p50_us_zmqkit_minus_raw", {"p50_us_zmqkit_minus_raw", "median"}}};
  return c;
}

void print_csv(const json& rows) {
  std::string header;
  for (const auto& [n, path] : csv_columns()) header += (header.empty() ? "" : ",") + n;
  std::printf("%s\n", header.c_str());
  for (const auto& r : rows) {
    std::string line;
    bool first = true;
    for (const auto& [n, path] : csv_columns()) {
      const json* v = at(r, path[0], path.size() > 1 ? path[1] : nullptr, path.size() > 2 ? path[2] : nullptr);
      line += std::string(first ? "" : ",") +
              (v == nullptr ? "" : v->is_string() ? v->get<std::string>() : v->dump());
      first = false;
    }
    std::printf("%s\n", line.c_str());
  }
}

// SIGINT and SIGTERM end zmq-bench within a moment, whatever its threads
// are blocked in. The signals are blocked in every thread (threads inherit
// the mask, so it is set before the first one starts) and taken by a
// watcher thread, which shuts the context down: every blocking call on its
// sockets, in every thread, returns ETERM, and the run in progress fails
// at once. A paced run's sleeps between sends watch flag() instead.
class stop_on_signal {
 public:
  explicit stop_on_signal(zmq::context_t& ctx) : ctx_(ctx) {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals_, &before_);
    watcher_ = std::thread([this] {
      int sig = 0;
      while (sigwait(&signals_, &sig) != 0) {
      }
      if (done_) return;
      stopped_ = true;
      ctx_.shutdown();
    });
  }
  ~stop_on_signal() {
    done_ = true;
    pthread_kill(watcher_.native_handle(), SIGTERM);  // ends its sigwait, if still in it
    watcher_.join();
    pthread_sigmask(SIG_SETMASK, &before_, nullptr);
  }
  stop_on_signal(const stop_on_signal&) = delete;
  stop_on_signal& operator=(const stop_on_signal&) = delete;

  // A signal came (also one caught before the mask was set).
  bool stopped() const noexcept { return stopped_ || stop_requested(); }
  const std::atomic<bool>& flag() const noexcept { return stopped_; }

 private:
  zmq::context_t& ctx_;
  sigset_t signals_, before_;
  std::atomic<bool> stopped_{false}, done_{false};
  std::thread watcher_;
};

json machine() {
  utsname u{};
  ::uname(&u);
  std::string cpu;
  std::ifstream info("/proc/cpuinfo");
  for (std::string line; std::getline(info, line);)
    if (line.rfind("model name", 0) == 0) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  int major = 0, minor = 0, patch = 0;
  zmq_version(&major, &minor, &patch);
  return {{"cpus", std::thread::hardware_concurrency()}, {"cpu", cpu},
          {"kernel", std::string(u.sysname) + " " + u.release},
          {"libzmq", std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch)}};
}

}  // namespace

int main(int argc, char** argv) {
  const std::string tool = "zmq-bench";
  CLI::App app{"Measure zmqkit's patterns beside raw libzmq: the same socket types and payload bytes,\n"
               "runs interleaved zmqkit, raw, zmqkit, raw... over --pairs pairs, reported as medians\n"
               "and the ratio zmqkit/raw with min and max. Throughput by default; --rate R measures\n"
               "latency open loop, each message timed from when it was due (no coordinated omission).",
               tool};
  std::vector<std::string> scenarios{"pushpull"}, transports{"tcp"}, sizes{"64"}, fsyncs{"always", "interval:10", "never"};
  std::uint64_t count = 0;
  int pairs = 5;
  double rate = 0;
  std::string which = "both", format = "table", role, endpoint, journal_parent = "/var/tmp";
  bool verbose = false;
  app.add_option("scenario", scenarios, "pubsub, pushpull, reqrep, forwarder (several may be given) [pushpull]");
  app.add_option("-t,--transport", transports, "tcp, ipc, inproc (comma-separated or repeated) [tcp]")->delimiter(',');
  app.add_option("-s,--size", sizes, "Payload bytes: 32, 256, 16k, 1m... (comma-separated or repeated) [64]")->delimiter(',');
  app.add_option("-n,--count", count, "Messages (req/rep: round trips) per run [100000, fewer above 5 KiB: 512 MiB a run]")
      ->check(whole_number_in(1, 1000000000000));
  app.add_option("-p,--pairs", pairs, "zmqkit/raw pairs of runs [5]")->check(whole_number_in(1, 1000));
  app.add_option("--rate", rate, "Latency at this many messages/s, open loop (req/rep: round trips due at this rate)")
      ->check(number_in(0, 1e9, "messages a second"));
  app.add_option("--impl", which,
                 "both (zmqkit and raw), zmqkit, raw, or also frames: raw libzmq sending zmqkit's own "
                 "frames, encoded once (not for the forwarder; 'all' runs the three) [both]");
  app.add_option("--fsync", fsyncs, "forwarder: journal policies, each its own row [always,interval:10,never]")->delimiter(',');
  app.add_option("--journal-dir", journal_parent, "forwarder: where the run's journal is made and removed [/var/tmp]");
  app.add_option("--format", format, "table, csv or json [table]");
  app.add_option("--role", role, "Run one side in this process: receiver or sender");
  app.add_option("--endpoint", endpoint,
                 "With --role: the address. The receiver binds it and the sender connects, except in "
                 "pubsub, where the publisher (sender) binds; the receiver reports (in reqrep, the sender)");
  app.add_flag("-v,--verbose", verbose, "Print each run on stderr as it finishes");
  app.footer(help_footer(
      "  zmq-bench pushpull -s 64,256,16k                 throughput, tcp, beside raw libzmq\n"
      "  zmq-bench pubsub pushpull -t inproc,ipc,tcp --format csv\n"
      "  zmq-bench reqrep --rate 10000 -n 50000           round-trip latency, p50 to max\n"
      "  zmq-bench forwarder -s 100 --fsync always,never  through the durable forwarder\n"
      "  zmq-bench pushpull --impl raw --role receiver --endpoint 'tcp://*:5555' -n 1000000   # host A\n"
      "  zmq-bench pushpull --impl raw --role sender --endpoint tcp://hostA:5555 -n 1000000   # host B\n"));

  return run_tool(app, argc, argv, [&]() -> int {
    std::vector<scenario> what;
    for (const auto& s : scenarios) what.push_back(parse_scenario(s));
    std::vector<std::size_t> payloads;
    for (const auto& s : sizes) payloads.push_back(parse_size(s));
    for (const auto& t : transports)
      if (t != "tcp" && t != "ipc" && t != "inproc") throw usage_error("--transport '" + t + "': use tcp, ipc or inproc");
    if (format != "table" && format != "csv" && format != "json") throw usage_error("--format '" + format + "': use table, csv or json");
    std::vector<impl> impls;
    if (which == "both" || which == "all" || which == "zmqkit") impls.push_back(impl::zmqkit);
    if (which == "both" || which == "all" || which == "raw") impls.push_back(impl::raw);
    if (which == "all" || which == "frames") impls.push_back(impl::frames);
    if (impls.empty()) throw usage_error("--impl '" + which + "': use both, all, zmqkit, raw or frames");
    for (const auto& f : fsyncs) {
      try {
        (void)durability::parse(f);
      } catch (const std::invalid_argument& e) {
        throw usage_error(std::string("--fsync: ") + e.what());
      }
    }
    // What cannot run is refused here, before any run starts.
    for (std::size_t i = 0; i < payloads.size(); ++i)
      for (const auto how : impls)
        if (payloads[i] > bench::max_payload(how))
          throw usage_error("--size " + sizes[i] + ": " + bench::name(how) + " takes at most " +
                            std::to_string(bench::max_payload(how)) +
                            " bytes of payload (16 MiB messages, envelope included); raw libzmq "
                            "has no such limit (--impl raw)");
    const bool only_frames = impls.size() == 1 && impls[0] == impl::frames;
    if (only_frames && std::find(what.begin(), what.end(), scenario::forwarder) != what.end())
      throw usage_error("--impl frames: not for the forwarder scenario; use zmqkit, raw, both or all");
    if (!role.empty()) {
      if (role != "receiver" && role != "sender") throw usage_error("--role '" + role + "': use receiver or sender");
      if (endpoint.empty()) throw usage_error("--role needs --endpoint ADDR");
      if (endpoint.rfind("inproc://", 0) == 0)
        throw usage_error("--role: an inproc endpoint does not cross processes; use tcp or ipc");
      if (what.size() != 1 || payloads.size() != 1 || impls.size() != 1)
        throw usage_error("--role runs one scenario, one --size and one --impl (zmqkit or raw)");
      if (what[0] == scenario::forwarder) throw usage_error("--role: the forwarder scenario runs in one process");
      if (rate > 0 && what[0] != scenario::reqrep) throw usage_error("--role with --rate: only reqrep (round trips)");
    }

    // After a stop the context is not terminated: its term would wait for
    // what a sender still has queued (its linger, up to 30 s); the
    // process's exit ends it instead.
    auto context = std::make_unique<zmq::context_t>();
    zmq::context_t& ctx = *context;
    stop_on_signal signals(ctx);
    run_spec base;
    base.rate = rate;
    base.journal_parent = journal_parent;
    base.stop = &signals.flag();

    if (!role.empty()) {
      base.what = what[0];
      base.how = impls[0];
      base.size = payloads[0];
      base.count = count > 0 ? count : default_count(payloads[0]);
      const bool receiver = role == "receiver";
      bench::run_result r;
      try {
        r = receiver ? bench::run_receiver(ctx, base, endpoint) : bench::run_sender(ctx, base, endpoint);
      } catch (const std::exception&) {
        if (!signals.stopped()) throw;
        (void)context.release();
        return int(exit_ok);
      }
      const bool reports = receiver != (base.what == scenario::reqrep);
      if (reports) {
        std::printf("%s %s %s payload=%zu count=%llu msgs_per_s=%.0f mib_per_s=%.1f", bench::name(base.what),
                    bench::name(base.how), role.c_str(), base.size, static_cast<unsigned long long>(base.count),
                    r.per_second, r.per_second * static_cast<double>(base.size) / (1 << 20));
        if (r.latency.count() > 0)
          std::printf(" p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f", us(r.latency.percentile_ns(50)),
                      us(r.latency.percentile_ns(99)), us(r.latency.percentile_ns(99.9)), us(r.latency.max_ns()));
        std::printf("\n");
      }
      return int(exit_ok);
    }

    std::vector<row_key> keys;
    for (const auto w : what)
      for (const auto& t : transports)
        for (const auto size : payloads)
          for (const auto& f : w == scenario::forwarder ? fsyncs : std::vector<std::string>{""})
            keys.push_back({w, t, f, size, count > 0 ? count : default_count(size)});
    json rows = json::array();
    for (const auto& k : keys) {
      if (!signals.stopped()) {
        try {
          rows.push_back(measure(ctx, k, base, impls, pairs, verbose));
        } catch (const std::exception&) {
          if (!signals.stopped()) throw;
        }
      }
      if (signals.stopped()) {
        // What was measured stands; the row cut short is left out.
        say(tool, "stopped by a signal: " + std::to_string(rows.size()) + " of " + std::to_string(keys.size()) +
                      " rows measured");
        break;
      }
      if (format == "table") {
        if (rows.size() == 1) print_header(rate > 0);
        print_row(rows.back(), rate > 0);
      }
    }
    if (format == "csv") print_csv(rows);
    if (format == "json")
      std::cout << json{{"tool", "zmq-bench"}, {"machine", machine()}, {"results", rows}}.dump(2) << "\n";
    if (signals.stopped()) (void)context.release();
    return int(exit_ok);
  });
}
