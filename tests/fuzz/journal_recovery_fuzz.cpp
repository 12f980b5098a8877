// Fuzz target: recovery at journal::open (docs/journal.md, "Recovery at
// open" and "Quarantine"). The input becomes a segment file in a fresh
// directory, which is opened, read through, appended to and opened again.
//
// Input: byte 0 = flags, byte 1 = base selector, the rest = segment bytes.
//   bit 0  put a valid segment header for the file's base before the bytes
//   bit 1  put the right checksum into each record (gets past XXH3)
//   bit 2  a sealed segment (base 1, three good records) before the tail
//   bit 3  the bytes are also a quarantined file newer than the tail
//   bit 4  open it read-only first
//   bit 5  the bytes are the sealed segment (base 1), and the tail is good
// Recovery must never throw on what it finds, never return a record out of
// order, and leave a journal that takes a record and has it after the next
// open with nothing more to repair.
#include <zmqkit/journal.hpp>

#include <sys/stat.h>

#include <string>

#include "fuzz_support.hpp"

namespace {

using namespace zmqkit;
namespace jf = detail::jformat;
using fuzz::check;

std::string good_segment(std::uint64_t base, int records) {
  std::string s = jf::encode_segment_header(base);
  for (int i = 0; i < records; ++i)
    jf::append_record(s, base + static_cast<std::uint64_t>(i), 1000 + i, "t", "envelope", std::nullopt);
  return s;
}

// Reads everything; fseqs must rise by one (a skip is counted, not hidden).
void read_through(journal& j) {
  auto r = j.read_from(1);
  std::uint64_t last = 0;
  while (const auto rec = r.next()) {
    check(rec->fseq > last && rec->fseq <= j.committed_fseq(), "records come in fseq order");
    last = rec->fseq;
  }
  check(j.fseq_at_time(0) <= j.next_fseq() && j.fseq_at_time(INT64_MAX) <= j.next_fseq(),
        "fseq_at_time stays within the journal");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t flags = data[0];
  const std::uint8_t selector = data[1];
  std::string bytes(fuzz::as_view(data + 2, size - 2));

  fuzz::temp_dir tmp("zmqkit-fuzz-journal");
  const std::string dir = tmp / "j";
  if (::mkdir(dir.c_str(), 0755) != 0) return 0;

  const bool sealed_before = (flags & 4) || (flags & 32);
  const std::uint64_t base = sealed_before ? 4 + selector % 4 : 1 + selector % 4;
  std::string fuzzed = (flags & 1) ? jf::encode_segment_header(flags & 32 ? 1 : base) + bytes : bytes;
  if (flags & 2) fuzz::fix_record_checksums(fuzzed, jf::segment_header_size);

  if (flags & 32) {
    fuzz::write_file(dir + "/" + jf::segment_name(1), fuzzed);
    fuzz::write_file(dir + "/" + jf::segment_name(base), good_segment(base, 1));
  } else {
    if (flags & 4) fuzz::write_file(dir + "/" + jf::segment_name(1), good_segment(1, 3));
    fuzz::write_file(dir + "/" + jf::segment_name(base), fuzzed);
  }
  if (flags & 8)
    fuzz::write_file(dir + "/" + jf::segment_name(base + 100) + std::string(jf::quarantine_suffix), fuzzed);

  if (flags & 16) {
    auto ro = journal::open_read_only(dir);
    read_through(ro);
  }

  journal::options o;
  o.sync = durability::parse("never");
  std::uint64_t ours = 0;
  {
    auto j = journal::open(dir, o);
    read_through(j);
    ours = j.append(0, "fuzz", "after recovery");
    check(j.commit() == ours, "a record appended after recovery is committed");
  }
  auto j = journal::open(dir, o);
  check(j.report().bytes_dropped == 0 && j.report().tail_problem.empty(),
        "a recovered journal needs no repair at the next open");
  auto r = j.read_from(ours);
  const auto rec = r.next();
  check(rec && rec->fseq == ours && rec->topic == "fuzz" && rec->envelope == "after recovery",
        "the record appended after recovery is there after the next open");
  read_through(j);
  return 0;
}
