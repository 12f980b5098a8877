// zmq-journal: inspect a zmqkit journal directory offline: stat, verify, dump.
// Every subcommand opens the journal read-only (no lock, no repair), so it
// never changes a journal and may look at one a forwarder is writing; it
// then sees what was committed when it started. Each prints what it can
// read on stdout and every problem the journal reports (a damaged,
// quarantined or torn segment, a damaged cursor file) as one stderr line
// naming the file, and then exits 1.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
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

// zmq-journal has no endpoints and no timeouts: its own exit codes.
const char* const journal_notes =
    "Exit codes: 0 ok, 1 a problem found (damage, quarantined files, a torn tail, a damaged "
    "cursor;\none stderr line each) or other failure, 2 usage.\n";

std::string footer(const std::string& examples) {
  return help_footer(examples, journal_notes, "docs/journal.md");
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

// Opens DIR read-only. It must be a directory holding segment files: a
// typo, a parent directory or /var/log would otherwise read as a clean,
// empty journal. A journal always keeps its tail segment, so a journal
// directory has at least one segment, live or set aside.
journal open_journal(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) throw usage_error("journal directory " + dir + " does not exist");
    throw usage_error("cannot use " + dir + ": " + std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) throw usage_error(dir + " is not a directory");
  auto j = journal::open_read_only(dir);
  if (j.segments().empty() && j.report().damaged.empty())
    throw usage_error(dir + " is not a journal directory (no segment files named like " +
                      "00000000000000000001.log)");
  return j;
}

// One stderr line per damaged range: the file, what is wrong with it, and
// the fseqs lost, within [from, to].
void report_damage(const journal_damage& d, std::uint64_t from = 1,
                   std::uint64_t to = std::numeric_limits<std::uint64_t>::max()) {
  const std::uint64_t a = std::max(d.first_fseq, from);
  std::string range = "fseq " + std::to_string(a);
  if (d.last_fseq == 0) {
    range += " and later";  // a torn tail: whatever came after the last good record
  } else if (const std::uint64_t b = std::min(d.last_fseq, to); b != a) {
    range += " to " + std::to_string(b);
  }
  say(tool, d.file + ": " + d.problem + "; " + range + " not readable");
}

// ---- stat ----------------------------------------------------------------

struct cursor_entry {
  std::string name;
  std::optional<std::uint64_t> fseq;  // an 8-byte value, as cursor_store::save_fseq writes
  std::size_t bytes = 0;              // any other value's size
  std::string error;                  // the file is damaged: "DIR/cursors/NAME: why"
};

struct cursor_listing {
  std::vector<cursor_entry> cursors;
  std::vector<std::string> set_aside;  // damaged files kept as NAME.corrupt
};

cursor_listing read_cursors(const std::string& dir) {
  cursor_listing out;
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
    out.cursors.push_back(std::move(c));
  }
  out.set_aside = store.set_aside_files();
  return out;
}

struct journal_summary {
  std::uint64_t first_fseq = 0, next_fseq = 0, records = 0, bytes = 0;
  std::vector<journal::segment_info> segments;
  std::vector<journal_damage> damaged;
  std::uint64_t torn_bytes = 0;
  std::string torn_problem;
  cursor_listing cursors;
};

journal_summary summarise(const journal& j) {
  journal_summary s;
  const auto st = j.stats();
  s.first_fseq = st.first_fseq;
  s.next_fseq = st.next_fseq;
  s.bytes = st.bytes;
  s.segments = j.segments();
  for (const auto& seg : s.segments) s.records += seg.records;
  s.damaged = j.report().damaged;
  s.torn_bytes = j.report().bytes_dropped;
  s.torn_problem = j.report().tail_problem;
  s.cursors = read_cursors(j.directory());
  return s;
}

// The damaged ranges in one state, for stat's lists.
std::vector<const journal_damage*> in_state(const journal_summary& s, journal_damage::state what) {
  std::vector<const journal_damage*> out;
  for (const auto& d : s.damaged)
    if (d.what == what) out.push_back(&d);
  return out;
}

std::string stat_json(const std::string& dir, const journal_summary& s) {
  using state = journal_damage::state;
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
  out["quarantined"] = json::array();
  for (const auto* d : in_state(s, state::quarantined)) out["quarantined"].push_back(base_name(d->file));
  out["bad_segments"] = json::array();
  for (const auto* d : in_state(s, state::bad)) out["bad_segments"].push_back(base_name(d->file));
  out["torn_tail"] = s.torn_bytes == 0 ? json(nullptr)
                                       : json{{"bytes", s.torn_bytes}, {"problem", s.torn_problem}};
  out["damaged"] = json::array();
  for (const auto& d : s.damaged)
    out["damaged"].push_back({{"file", base_name(d.file)},
                              {"state", d.what == state::quarantined ? "quarantined"
                                        : d.what == state::bad       ? "bad"
                                                                     : "torn"},
                              {"first_fseq", d.first_fseq},
                              {"last_fseq", d.last_fseq == 0 ? json(nullptr) : json(d.last_fseq)},
                              {"problem", d.problem}});
  out["cursors"] = json::array();
  for (const auto& c : s.cursors.cursors) {
    json e{{"name", c.name}};
    if (!c.error.empty()) e["error"] = c.error;
    else if (c.fseq) e["fseq"] = *c.fseq;
    else e["bytes"] = c.bytes;
    out["cursors"].push_back(std::move(e));
  }
  out["cursors_set_aside"] = s.cursors.set_aside;
  // File names are bytes; a name that is not UTF-8 must not stop the report.
  return out.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

// "fseq 968 to 1325", "fseq 1500 and later".
std::string fseq_range(const journal_damage& d) {
  std::string r = "fseq " + std::to_string(d.first_fseq);
  if (d.last_fseq == 0) return r + " and later";
  return d.last_fseq == d.first_fseq ? r : r + " to " + std::to_string(d.last_fseq);
}

std::string stat_text(const std::string& dir, const journal_summary& s) {
  using state = journal_damage::state;
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
  const auto quarantined = in_state(s, state::quarantined);
  field("quarantined", std::to_string(quarantined.size()));
  for (const auto* d : quarantined) out += "  " + base_name(d->file) + "  " + fseq_range(*d) + "\n";
  if (const auto bad = in_state(s, state::bad); !bad.empty()) {
    field("bad segments", std::to_string(bad.size()) + " (the next writable open quarantines them)");
    for (const auto* d : bad)
      out += "  " + base_name(d->file) + "  " + fseq_range(*d) + "  " + d->problem + "\n";
  }
  field("torn tail", s.torn_bytes == 0 ? "none" : s.torn_problem);
  field("cursors", std::to_string(s.cursors.cursors.size()));
  for (const auto& c : s.cursors.cursors) {
    out += "  " + c.name + "  ";
    if (!c.error.empty()) out += "damaged: " + c.error;
    else if (c.fseq) out += "fseq " + std::to_string(*c.fseq);
    else out += std::to_string(c.bytes) + " bytes (not an fseq)";
    out += "\n";
  }
  if (!s.cursors.set_aside.empty()) {
    field("set aside", std::to_string(s.cursors.set_aside.size()) + " (damaged cursor files)");
    for (const auto& f : s.cursors.set_aside) out += "  " + f + "\n";
  }
  return out;
}

// The problems stat found, one stderr line each; how many.
std::size_t report_stat_problems(const std::string& dir, const journal_summary& s) {
  for (const auto& d : s.damaged) report_damage(d);
  std::size_t n = s.damaged.size();
  for (const auto& c : s.cursors.cursors)
    if (!c.error.empty()) {
      say(tool, c.error + " (a damaged cursor file)");
      ++n;
    }
  for (const auto& f : s.cursors.set_aside) {
    say(tool, dir + "/cursors/" + f + ": a damaged cursor file set aside");
    ++n;
  }
  return n;
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
  auto j = open_journal(dir);

  // Records before first_fseq were deleted by retention: nothing to report.
  // Damage is, wherever it lies: report().damaged lists what open found and
  // what the reader finds on the way.
  auto r = j.read_from(std::max(from, j.first_fseq()));
  stdout_writer out;
  std::uint64_t printed = 0;
  std::uint64_t reached = to;  // the last fseq looked at
  for (;;) {
    if (printed == count || stop_requested()) {
      reached = r.position() - 1;
      break;
    }
    const auto rec = r.next();
    if (!rec || rec->fseq > to) break;
    if (!topic_matches(rec->topic, o.topics)) continue;
    append_record(*rec, out.buffer());
    ++printed;
    out.maybe_flush();
    if (out.closed()) return exit_ok;  // the reader of stdout has gone
  }
  out.flush();
  std::size_t problems = 0;
  for (const auto& d : j.report().damaged) {
    const std::uint64_t last = d.last_fseq == 0 ? std::numeric_limits<std::uint64_t>::max() : d.last_fseq;
    if (d.first_fseq > reached || last < from) continue;
    report_damage(d, from, reached);
    ++problems;
  }
  return problems > 0 ? exit_failure : exit_ok;
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
      const auto s = summarise(open_journal(dir));
      out.buffer() = format == "json" ? stat_json(dir, s) : stat_text(dir, s);
      out.flush();
      return report_stat_problems(dir, s) == 0 ? exit_ok : exit_failure;
    }
    if (verify->parsed()) {
      (void)open_journal(dir);
      const auto v = verify_journal(dir);
      const auto n = v.problems.size();
      out.buffer() = dir + ": " + count_of(v.records, "record") + ", " +
                     count_of(v.segments, "segment") + ", " + count_of(v.bytes, "byte") + ": " +
                     (n == 0 ? "ok" : count_of(n, "problem")) + "\n";
      out.flush();
      for (const auto& p : v.problems) report_damage(p);
      return n == 0 ? exit_ok : exit_failure;
    }
    return dump(dir, dumping);
  });
}
