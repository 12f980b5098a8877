// The journal's performance on a real disk, in one run: append+commit
// throughput per fsync policy and batch size, the time journal::open takes
// on a full-size journal (recovery included), and sequential read speed.
// A benchmark, not a test: CI does not run it. bench/journal.sh builds and
// runs it; docs/journal.md#performance has the results.
//
// Usage: journal_bench [DIR] [--seconds S] [--size-mib N] [--opens N]
//   DIR         where to make the scratch directory (default: /var/tmp, or
//               the current directory if /var/tmp is missing or a tmpfs,
//               where fdatasync costs nothing and the figures would lie)
//   --seconds   how long each throughput row runs (default 2)
//   --size-mib  the journal whose open and read are timed (default 1024)
//   --opens     timed opens, each cold-ish and warm (default 5)
// Everything it writes is under DIR/zmqkit-journal-bench.XXXXXX and is
// deleted before it exits, also when it stops on an error or a signal.
#include <zmqkit/envelope.hpp>
#include <zmqkit/journal.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;
using zmqkit::journal;

namespace {

constexpr std::size_t envelope_size = 100;
constexpr std::uint64_t segment_bytes = 64ull << 20;
constexpr std::uint64_t row_byte_cap = 256ull << 20;  // a throughput row stops here too
constexpr long tmpfs_magic = 0x01021994;

std::atomic<bool> stopping{false};
void on_signal(int) { stopping = true; }

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(p * double(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

double median(std::vector<double> v) { return percentile(std::move(v), 0.5); }

// A real envelope of exactly envelope_size bytes: a bin payload padded to fit.
std::string make_envelope() {
  zmqkit::envelope_writer w;
  for (std::size_t pad = envelope_size; pad > 0; --pad) {
    const std::string bytes(pad, 'p');
    const auto m = w.encode(zmqkit::binary{bytes});
    if (m.size() == envelope_size) return std::string(static_cast<const char*>(m.data()), m.size());
  }
  throw std::logic_error("no payload size gives a 100-byte envelope");
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The scratch directory, removed with everything in it however we leave.
class scratch_dir {
 public:
  explicit scratch_dir(const std::string& base) {
    std::string tmpl = base + "/zmqkit-journal-bench.XXXXXX";
    if (!::mkdtemp(tmpl.data()))
      throw std::runtime_error("cannot create a directory in " + base + ": " + std::strerror(errno));
    path_ = tmpl;
  }
  ~scratch_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Writes back and then drops the page cache of every file in dir, so the
// next open reads from the disk. Not a cold boot (the inodes and the
// directory stay cached), hence "cold-ish"; needs no root, unlike drop_caches.
void drop_cache(const std::string& dir) {
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const int fd = ::open(e.path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

struct row {
  std::string policy;
  std::size_t batch = 0;
  std::uint64_t records = 0;
  double seconds = 0;
  std::uint64_t syncs = 0;
  std::vector<double> commit_us;
};

row measure_appends(const std::string& dir, const std::string& policy, std::size_t batch,
                    double seconds, const std::string& envelope) {
  journal::options o;
  o.segment_bytes = segment_bytes;
  o.sync = zmqkit::durability::parse(policy);
  row r;
  r.policy = policy;
  r.batch = batch;
  {
    auto j = journal::open(dir, o);
    const auto t0 = clock_type::now();
    std::uint64_t bytes = 0;
    const std::uint64_t record_bytes = 32 + 12 + envelope.size();
    while (!stopping && seconds_since(t0) < seconds && bytes < row_byte_cap) {
      for (std::size_t i = 0; i < batch; ++i) j.append(now_ns(), "bench.orders", envelope);
      const auto c0 = clock_type::now();
      j.commit();
      r.commit_us.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - c0).count());
      r.records += batch;
      bytes += batch * record_bytes;
    }
    r.seconds = seconds_since(t0);
    r.syncs = j.stats().syncs;
  }
  fs::remove_all(dir);
  return r;
}

std::string mib(std::uint64_t bytes) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f MiB", double(bytes) / double(1 << 20));
  return b;
}

struct args {
  std::string base;
  double seconds = 2;
  std::uint64_t size_mib = 1024;
  int opens = 5;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "journal_bench: %s\nusage: journal_bench [DIR] [--seconds S] [--size-mib N] "
               "[--opens N]\n",
               why.c_str());
  std::exit(2);
}

args parse_args(int argc, char** argv) {
  args a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(arg + " needs a value");
      return argv[++i];
    };
    try {
      if (arg == "--seconds") a.seconds = std::stod(value());
      else if (arg == "--size-mib") a.size_mib = std::stoull(value());
      else if (arg == "--opens") a.opens = std::stoi(value());
      else if (arg == "-h" || arg == "--help") usage("the journal's throughput, open time and read speed");
      else if (!arg.empty() && arg[0] == '-') usage("unknown option " + arg);
      else if (a.base.empty()) a.base = arg;
      else usage("only one DIR");
    } catch (const std::logic_error&) {  // stod and friends on a bad number
      usage("bad value for " + arg);
    }
  }
  if (a.seconds <= 0 || a.size_mib < 64 || a.opens < 1)
    usage("--seconds must be > 0, --size-mib >= 64, --opens >= 1");
  if (a.base.empty()) {
    struct statfs sf {};
    a.base = ::statfs("/var/tmp", &sf) == 0 && sf.f_type != tmpfs_magic ? "/var/tmp" : ".";
  }
  return a;
}

std::string filesystem_name(const std::string& path) {
  struct statfs sf {};
  if (::statfs(path.c_str(), &sf) != 0) return "?";
  switch (sf.f_type) {
    case 0xEF53: return "ext4";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case tmpfs_magic: return "tmpfs";
    default: {
      char b[32];
      std::snprintf(b, sizeof b, "fs 0x%lx", static_cast<unsigned long>(sf.f_type));
      return b;
    }
  }
}

int run(const args& a) {
  scratch_dir scratch(a.base);
  const std::string fsname = filesystem_name(scratch.path());
  std::printf("journal_bench: %s (%s), %ld CPUs, %zu-byte envelopes, topic of 12 bytes "
              "(%zu bytes per record)\n",
              scratch.path().c_str(), fsname.c_str(), ::sysconf(_SC_NPROCESSORS_ONLN),
              envelope_size, 32 + 12 + envelope_size);
  if (fsname == "tmpfs")
    std::printf("warning: a tmpfs has no disk behind it: fdatasync is free and the figures "
                "say nothing about a real disk\n");
  const std::string envelope = make_envelope();

  // (a) append + commit
  std::printf("\n(a) append + commit, %.1f s per row (or %s), 64 MiB segments\n\n", a.seconds,
              mib(row_byte_cap).c_str());
  std::printf("%-12s %6s %10s %12s %9s %10s %8s %11s %11s\n", "policy", "batch", "records",
              "records/s", "MiB/s", "commits/s", "syncs", "commit p50", "commit p99");
  for (const char* policy : {"always", "interval:10", "never"}) {
    for (std::size_t batch : {1, 16, 128, 1024}) {
      if (stopping) return 1;
      const auto r = measure_appends(scratch.path() + "/append", policy, batch, a.seconds, envelope);
      const double rate = double(r.records) / r.seconds;
      std::printf("%-12s %6zu %10llu %12.0f %9.1f %10.0f %8llu %8.0f us %8.0f us\n", policy, batch,
                  static_cast<unsigned long long>(r.records), rate,
                  rate * double(32 + 12 + envelope_size) / double(1 << 20),
                  double(r.commit_us.size()) / r.seconds, static_cast<unsigned long long>(r.syncs),
                  percentile(r.commit_us, 0.5), percentile(r.commit_us, 0.99));
      std::fflush(stdout);
    }
  }

  // (b) open time of a full-size journal
  const std::uint64_t target = a.size_mib << 20;
  const std::string big = scratch.path() + "/big";
  const std::uint64_t free_bytes = [&] {
    struct statvfs sv {};
    return ::statvfs(scratch.path().c_str(), &sv) == 0
               ? static_cast<std::uint64_t>(sv.f_bavail) * sv.f_frsize
               : 0;
  }();
  if (free_bytes < target + target / 4) {
    std::printf("\n(b), (c) skipped: %s free in %s, %s needed\n", mib(free_bytes).c_str(),
                scratch.path().c_str(), mib(target + target / 4).c_str());
    return 1;
  }
  std::printf("\n(b) journal::open on a %s journal (64 MiB segments), recovery included\n",
              mib(target).c_str());
  std::uint64_t records = 0, bytes = 0;
  {
    journal::options o;
    o.segment_bytes = segment_bytes;
    o.sync = zmqkit::durability::parse("never");
    auto j = journal::open(big, o);
    const std::uint64_t record_bytes = 32 + 12 + envelope.size();
    const auto t0 = clock_type::now();
    // Stop just short of the limit, so the tail segment, the one open
    // scans record by record, is nearly full: the slowest case.
    while (!stopping && j.stats().bytes + 1024 * record_bytes <= target) {
      for (int i = 0; i < 1024; ++i) j.append(now_ns(), "bench.orders", envelope);
      j.commit();
    }
    if (stopping) return 1;
    const double secs = seconds_since(t0);
    records = j.committed_fseq();
    bytes = j.stats().bytes;
    std::printf("filled: %llu records, %s in %llu segments in %.2f s (%.0f records/s, never, "
                "batch 1024)\n",
                static_cast<unsigned long long>(records), mib(bytes).c_str(),
                static_cast<unsigned long long>(j.stats().segments), secs, double(records) / secs);
    std::printf("tail segment: %s, scanned at every open\n", mib(j.segments().back().bytes).c_str());
  }
  std::vector<double> cold, warm;
  for (int i = 0; i < a.opens && !stopping; ++i) {
    drop_cache(big);
    auto t0 = clock_type::now();
    {
      auto j = journal::open(big, {});
      if (j.next_fseq() != records + 1) throw std::runtime_error("the journal lost records");
    }
    cold.push_back(seconds_since(t0) * 1000);
    t0 = clock_type::now();
    { auto j = journal::open(big, {}); }
    warm.push_back(seconds_since(t0) * 1000);
  }
  if (stopping) return 1;
  std::printf("%-22s %10s %10s %10s   (%d opens each)\n", "", "min", "median", "max", a.opens);
  std::printf("%-22s %7.1f ms %7.1f ms %7.1f ms\n", "cold-ish (cache dropped)",
              *std::min_element(cold.begin(), cold.end()), median(cold),
              *std::max_element(cold.begin(), cold.end()));
  std::printf("%-22s %7.1f ms %7.1f ms %7.1f ms\n", "warm (page cache)",
              *std::min_element(warm.begin(), warm.end()), median(warm),
              *std::max_element(warm.begin(), warm.end()));
  std::printf("target: < 1000 ms: %s\n", median(cold) < 1000 ? "met" : "NOT MET");

  // (c) sequential read
  std::printf("\n(c) journal::reader from fseq 1 to the end, every checksum checked\n");
  for (const bool drop : {true, false}) {
    if (drop) drop_cache(big);
    auto j = journal::open(big, {});
    const auto t0 = clock_type::now();
    auto r = j.read_from(1);
    std::uint64_t n = 0, envelope_bytes = 0;
    while (auto rec = r.next()) {
      ++n;
      envelope_bytes += rec->envelope.size();
    }
    const double secs = seconds_since(t0);
    if (n != records || envelope_bytes != n * envelope_size)
      throw std::runtime_error("read " + std::to_string(n) + " records, not " + std::to_string(records));
    std::printf("%-24s %llu records in %.2f s: %.0f records/s, %.0f MiB/s of segment bytes\n",
                drop ? "cold-ish (cache dropped)" : "warm (page cache)",
                static_cast<unsigned long long>(n), secs, double(n) / secs,
                double(bytes) / secs / double(1 << 20));
  }
  fs::remove_all(scratch.path());
  std::printf("\nremoved %s\n", scratch.path().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const args a = parse_args(argc, argv);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  try {
    const int rc = run(a);
    if (stopping) std::fprintf(stderr, "journal_bench: stopped by a signal; scratch data removed\n");
    return rc;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "journal_bench: %s\n", e.what());
    return 1;
  }
}
