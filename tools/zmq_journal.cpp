// zmq-journal: inspect a zmqkit journal directory offline: stat, verify, dump.
// Every subcommand opens the journal read-only (no lock, no repair), so it
// never changes a journal and may look at one a forwarder is writing; it
// then sees what was committed when it started.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <zmqkit/cursor_store.hpp>
#include <zmqkit/envelope.hpp>
#include <zmqkit/journal.hpp>

#include "common/cli.hpp"
#include "common/input.hpp"
#include "common/json.hpp"
#include "common/output.hpp"

namespace {

using namespace zmqkit;
using namespace zmqkit::tools;
using json = nlohmann::ordered_json;

const std::string tool = "zmq-journal";
constexpr std::string_view quarantine_suffix = ".quarantined";

// zmq-journal has no endpoints and no timeouts, so help_footer's lines about
// them would mislead; the layout is the same.
std::string footer(const std::string& examples) {
  return "\nExit codes: 0 ok, 1 problems found (verify), records not readable (dump) or other "
         "failure, 2 usage.\n\nExamples:\n" +
         examples + "\nMore: docs/journal.md\n";
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string base_name(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// "1 segment", "3 segments".
std::string count_of(std::uint64_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Journal times are exact, so all nine digits: 2026-11-23T10:38:26.030256123Z.
std::string iso8601_ns(std::int64_t ns) {
  std::int64_t secs = ns / 1000000000;
  std::int64_t frac = ns % 1000000000;
  if (frac < 0) {  // floor, so times before 1970 read right too
    frac += 1000000000;
    --secs;
  }
  const auto t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%09lldZ", static_cast<long long>(frac));
  return buf;
}

// A decimal number from min on. CLI11's own conversion takes 010 as octal and
// clamps overflow, neither of which a user means by an fseq.
std::uint64_t parse_number(const std::string& option, const std::string& text, std::uint64_t min) {
  std::uint64_t v = 0;
  bool ok = !text.empty() && text.size() <= 20;
  for (char c : text) {
    if (c < '0' || c > '9') ok = false;
    if (!ok) break;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) ok = false;
    else v = v * 10 + d;
  }
  if (!ok || v < min)
    throw usage_error(option + " '" + text + "': not a whole number from " + std::to_string(min) +
                      " to " + std::to_string(std::numeric_limits<std::uint64_t>::max()));
  return v;
}

// DIR must be a directory holding segment files. A typo or a parent
// directory would otherwise read as a clean, empty journal.
void require_journal_dir(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) throw usage_error("journal directory " + dir + " does not exist");
    throw usage_error("cannot use " + dir + ": " + std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) throw usage_error(dir + " is not a directory");
  // A journal always keeps its tail segment, so a journal directory has at
  // least one NNN.log or NNN.log.quarantined.
  std::error_code ec;
  bool any = false;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto name = it->path().filename().string();
    if (ends_with(name, ".log") || ends_with(name, ".log" + std::string(quarantine_suffix))) {
      any = true;
      break;
    }
  }
  if (ec) throw usage_error("cannot list " + dir + ": " + ec.message());
  if (!any) throw usage_error(dir + " is not a journal directory (no *.log segment files)");
}

// ---- stat ----------------------------------------------------------------

struct cursor_entry {
  std::string name;
  std::optional<std::uint64_t> fseq;  // an 8-byte value, as cursor_store::save_fseq writes
  std::size_t bytes = 0;              // any other value's size
  std::string error;                  // the file is damaged
};

std::vector<cursor_entry> read_cursors(const std::string& dir) {
  std::vector<cursor_entry> out;
  const std::string cursors_dir = dir + "/cursors";
  if (!is_directory(cursors_dir)) return out;  // cursor_store would create it
  const cursor_store store(cursors_dir);
  for (const auto& name : store.names()) {
    cursor_entry c{name, std::nullopt, 0, ""};
    try {
      const auto value = store.load(name);
      if (!value) continue;  // removed since names() listed it
      if (value->size() == 8) {
        std::uint64_t v = 0;
        for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>((*value)[static_cast<std::size_t>(i)]);
        c.fseq = v;
      } else {
        c.bytes = value->size();
      }
    } catch (const decode_error& e) {
      c.error = e.what();
    } catch (const zmqkit::error& e) {
      c.error = e.what();
    }
    out.push_back(std::move(c));
  }
  return out;
}

struct journal_summary {
  std::uint64_t first_fseq = 0, next_fseq = 0, records = 0, bytes = 0;
  std::vector<journal::segment_info> segments;
  std::vector<std::string> quarantined;   // *.quarantined files on disk
  std::vector<std::string> bad_segments;  // found bad now; a writer's open quarantines them
  std::uint64_t torn_bytes = 0;
  std::string torn_problem;
  std::vector<cursor_entry> cursors;
};

journal_summary summarise(const std::string& dir) {
  const auto j = journal::open_read_only(dir);
  journal_summary s;
  const auto st = j.stats();
  s.first_fseq = st.first_fseq;
  s.next_fseq = st.next_fseq;
  s.bytes = st.bytes;
  s.segments = j.segments();
  // A read-only open sets bad segments aside without renaming them: they are
  // reported under their own names, which still end in .log.
  std::vector<std::uint64_t> ends;  // where segments start, quarantined ones included
  for (const auto& q : j.report().quarantined) {
    const auto name = base_name(q);
    const bool set_aside = name.size() > quarantine_suffix.size() &&
                           name.compare(name.size() - quarantine_suffix.size(), std::string::npos,
                                        quarantine_suffix) == 0;
    auto& list = set_aside ? s.quarantined : s.bad_segments;
    const auto& shown = name;
    if (std::find(list.begin(), list.end(), shown) == list.end()) list.push_back(shown);
    const auto digits = name.substr(0, 20);
    if (digits.size() == 20 && digits.find_first_not_of("0123456789") == std::string::npos)
      ends.push_back(std::stoull(digits));
  }
  for (const auto& seg : s.segments) ends.push_back(seg.base_fseq);
  ends.push_back(s.next_fseq);
  // Each live segment holds the fseqs from its base to where the next
  // segment, live or quarantined, begins.
  for (const auto& seg : s.segments) {
    std::uint64_t end = s.next_fseq;
    for (auto e : ends)
      if (e > seg.base_fseq && e < end) end = e;
    s.records += end - seg.base_fseq;
  }
  s.torn_bytes = j.report().bytes_dropped;
  s.torn_problem = j.report().tail_problem;
  s.cursors = read_cursors(dir);
  return s;
}

std::string stat_json(const std::string& dir, const journal_summary& s) {
  json out;
  out["directory"] = dir;
  out["first_fseq"] = s.first_fseq;
  out["next_fseq"] = s.next_fseq;
  out["records"] = s.records;
  out["bytes"] = s.bytes;
  out["segments"] = json::array();
  for (const auto& seg : s.segments)
    out["segments"].push_back(
        {{"file", base_name(seg.file)}, {"base_fseq", seg.base_fseq}, {"bytes", seg.bytes}, {"sealed", seg.sealed}});
  out["quarantined"] = s.quarantined;
  out["bad_segments"] = s.bad_segments;
  out["torn_tail"] = s.torn_bytes == 0 ? json(nullptr)
                                       : json{{"bytes", s.torn_bytes}, {"problem", s.torn_problem}};
  out["cursors"] = json::array();
  for (const auto& c : s.cursors) {
    json e{{"name", c.name}};
    if (!c.error.empty()) e["error"] = c.error;
    else if (c.fseq) e["fseq"] = *c.fseq;
    else e["bytes"] = c.bytes;
    out["cursors"].push_back(std::move(e));
  }
  // File names are bytes; a name that is not UTF-8 must not stop the report.
  return out.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string stat_text(const std::string& dir, const journal_summary& s) {
  std::string out;
  char line[512];
  auto field = [&](const char* name, const std::string& value) {
    std::snprintf(line, sizeof line, "%-13s%s\n", name, value.c_str());
    out += line;
  };
  field("directory", dir);
  field("first fseq", std::to_string(s.first_fseq));
  field("next fseq", std::to_string(s.next_fseq));
  field("records", std::to_string(s.records));
  field("bytes", std::to_string(s.bytes));
  field("segments", std::to_string(s.segments.size()));
  for (const auto& seg : s.segments) {
    std::snprintf(line, sizeof line, "  %s  base %llu  %llu bytes  %s\n", base_name(seg.file).c_str(),
                  static_cast<unsigned long long>(seg.base_fseq),
                  static_cast<unsigned long long>(seg.bytes), seg.sealed ? "sealed" : "tail");
    out += line;
  }
  field("quarantined", std::to_string(s.quarantined.size()));
  for (const auto& q : s.quarantined) out += "  " + q + "\n";
  if (!s.bad_segments.empty()) {
    field("bad segments", std::to_string(s.bad_segments.size()) +
                              " (bad header; the next writable open quarantines them)");
    for (const auto& b : s.bad_segments) out += "  " + b + "\n";
  }
  field("torn tail", s.torn_bytes == 0 ? "none" : s.torn_problem);
  field("cursors", std::to_string(s.cursors.size()));
  for (const auto& c : s.cursors) {
    out += "  " + c.name + "  ";
    if (!c.error.empty()) out += "damaged: " + c.error;
    else if (c.fseq) out += "fseq " + std::to_string(*c.fseq);
    else out += std::to_string(c.bytes) + " bytes (not an fseq)";
    out += "\n";
  }
  return out;
}

// ---- dump ----------------------------------------------------------------

// One JSON line: the record's fseq, time and topic, then the envelope's
// fields as zmq-sub --out-format jsonl prints them (its time_ns as sent_ns),
// so the line also feeds zmq-pub --in-format jsonl-envelope. An envelope that
// does not decode is shown as bytes with the reason.
void append_record(const journal_record& rec, std::string& out) {
  out += "{\"fseq\":" + std::to_string(rec.fseq);
  out += ",\"time\":\"" + iso8601_ns(rec.time_ns) + "\"";
  out += ",\"time_ns\":" + std::to_string(rec.time_ns);
  out += ",\"topic\":";
  append_json_string(rec.topic, out);
  std::string fields;
  try {
    // The journal accepted this envelope once; a wire limit does not apply.
    const auto m = message::decode(zmq::message_t(rec.topic.data(), rec.topic.size()),
                                   zmq::message_t(rec.envelope.data(), rec.envelope.size()),
                                   std::numeric_limits<std::size_t>::max());
    fields += ",\"seq\":" + std::to_string(m.seq());
    fields += ",\"producer\":\"" + to_hex(m.producer()) + "\"";
    fields += ",\"sent_ns\":" + std::to_string(m.time_ns());
    fields += ",\"headers\":";
    append_headers_json(m, fields);
    fields += ",\"payload\":";
    append_payload_json(m, fields);
  } catch (const decode_error& e) {
    fields = ",\"error\":";
    append_json_string(e.what(), fields);
    fields += ",\"envelope\":{\"$base64\":\"" + base64_encode(rec.envelope) + "\"}";
  }
  out += fields;
  out += "}\n";
}

struct dump_options {
  std::string from, to, count;
  std::vector<std::string> topics;
};

bool topic_matches(std::string_view topic, const std::vector<std::string>& prefixes) {
  if (prefixes.empty()) return true;
  for (const auto& p : prefixes)
    if (topic.substr(0, p.size()) == p) return true;
  return false;
}

int dump(const std::string& dir, const dump_options& o) {
  const std::uint64_t from = o.from.empty() ? 1 : parse_number("--from", o.from, 1);
  const std::uint64_t to = o.to.empty() ? std::numeric_limits<std::uint64_t>::max()
                                        : parse_number("--to", o.to, 1);
  const std::uint64_t count = o.count.empty() ? std::numeric_limits<std::uint64_t>::max()
                                              : parse_number("--count", o.count, 0);
  if (from > to) throw usage_error("--from " + o.from + " is after --to " + o.to);
  require_journal_dir(dir);

  auto j = journal::open_read_only(dir);
  // Records before first_fseq were deleted by retention: nothing to report.
  auto r = j.read_from(std::max(from, j.first_fseq()));
  stdout_writer out;
  std::uint64_t printed = 0, skipped_seen = 0, unreadable = 0;
  std::uint64_t expected = r.position();
  // The reader skips the fseqs of a damaged or quarantined segment; say which.
  auto report_skip = [&](std::uint64_t next) {
    if (r.skipped() == skipped_seen) return;
    skipped_seen = r.skipped();
    const std::uint64_t last = std::min(next - 1, to);
    if (expected > last) return;
    unreadable += last - expected + 1;
    say(tool, "fseq " + std::to_string(expected) + " to " + std::to_string(last) +
                  " not readable: damaged or quarantined segment (run zmq-journal verify " + dir + ")");
  };
  while (printed < count) {
    if (stop_requested()) break;
    const auto rec = r.next();
    report_skip(rec ? rec->fseq : r.position());
    if (!rec || rec->fseq > to) break;
    expected = rec->fseq + 1;
    if (!topic_matches(rec->topic, o.topics)) continue;
    append_record(*rec, out.buffer());
    ++printed;
    out.maybe_flush();
    if (out.closed()) return exit_ok;  // the reader of stdout has gone
  }
  out.flush();
  return unreadable > 0 ? exit_failure : exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Inspect a zmqkit journal directory offline: summary, checksum check, records as "
               "JSON lines.\nRead-only: never changes the journal and takes no lock.",
               tool};
  app.require_subcommand(1);

  std::string dir;
  std::string format = "text";
  auto* stat = app.add_subcommand(
      "stat", "Summarise a journal: fseq range, records, bytes, segments, quarantined files, "
              "torn tail, cursors");
  stat->add_option("DIR", dir, "The journal directory")->required()->type_name("");
  stat->add_option("--format", format, "text (for people) or json (one object)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  stat->footer(footer("  zmq-journal stat /var/lib/zmqkit/journal\n"
                      "  zmq-journal stat /var/lib/zmqkit/journal --format json | jq .next_fseq\n"));

  auto* verify = app.add_subcommand(
      "verify", "Check every record's checksum in every segment; exit 1 on any problem");
  verify->add_option("DIR", dir, "The journal directory")->required()->type_name("");
  verify->footer(footer("  zmq-journal verify /var/lib/zmqkit/journal && echo clean\n"));

  dump_options dumping;
  auto* dump_cmd = app.add_subcommand("dump", "Print records as JSON lines, oldest first");
  dump_cmd->add_option("DIR", dir, "The journal directory")->required()->type_name("");
  dump_cmd->add_option("--from", dumping.from, "First fseq to print (default: the oldest)")
      ->type_name("FSEQ");
  dump_cmd->add_option("--to", dumping.to, "Last fseq to print (default: the newest)")
      ->type_name("FSEQ");
  dump_cmd->add_option("-C,--count", dumping.count, "Print at most N records")->type_name("N");
  one_word_each(*dump_cmd->add_option("-t,--topic", dumping.topics,
                                      "Only records whose topic starts with this prefix "
                                      "(repeatable; default: every topic)")
                     ->type_name("PREFIX"));
  dump_cmd->footer(footer(
      "  zmq-journal dump /var/lib/zmqkit/journal --from 1042 -C 10\n"
      "  zmq-journal dump /var/lib/zmqkit/journal -t order_ | jq -c .payload\n"
      "  zmq-journal dump /var/lib/zmqkit/journal --to 500 | zmq-pub --in-format jsonl-envelope\n"));

  app.footer(footer(
      "  zmq-journal stat /var/lib/zmqkit/journal            fseq range, size, segments, cursors\n"
      "  zmq-journal stat DIR --format json                  the same as one JSON object\n"
      "  zmq-journal verify DIR                              check every checksum\n"
      "  zmq-journal dump DIR --from 1042 -C 10              ten records as JSON lines\n"
      "  zmq-journal dump DIR -t order_ --to 5000            by topic prefix, up to an fseq\n"));

  // CLI11 reports a misspelt subcommand as a missing one; name it instead.
  if (argc > 1 && argv[1][0] != '-' && std::strcmp(argv[1], "stat") != 0 &&
      std::strcmp(argv[1], "verify") != 0 && std::strcmp(argv[1], "dump") != 0) {
    say(tool, std::string("unknown subcommand '") + argv[1] +
                  "' (use stat, verify or dump; see zmq-journal --help)");
    return exit_usage;
  }
  return run_tool(app, argc, argv, [&]() -> int {
    stdout_writer out;  // a closed stdout (| head) ends the tool quietly, as elsewhere
    if (stat->parsed()) {
      require_journal_dir(dir);
      const auto s = summarise(dir);
      out.buffer() = format == "json" ? stat_json(dir, s) : stat_text(dir, s);
      out.flush();
      return exit_ok;
    }
    if (verify->parsed()) {
      require_journal_dir(dir);
      const auto v = verify_journal(dir);
      const auto n = v.problems.size();
      out.buffer() = dir + ": " + count_of(v.records, "record") + ", " +
                     count_of(v.segments, "segment") + ", " + count_of(v.bytes, "byte") + ": " +
                     (n == 0 ? "ok" : count_of(n, "problem")) + "\n";
      for (const auto& p : v.problems) out.buffer() += p + "\n";
      out.flush();
      return n == 0 ? exit_ok : exit_failure;
    }
    return dump(dir, dumping);
  });
}
