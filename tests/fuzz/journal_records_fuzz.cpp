// Fuzz target: the journal's record and segment-header decoders
// (docs/journal.md, lib/src/journal_format.hpp) on arbitrary bytes. The
// first byte picks what to do: bit 0 puts the right checksum into each
// record first (so the layout checks behind it are reached), bit 1 also
// tries the first 32 bytes as a segment header and the first 24 as a
// segment file name. The rest is parsed record after record, as the tail
// scan does. A record that parses must lie inside the bytes and encode back
// to exactly the same bytes.
#include <string>

#include "fuzz_support.hpp"

namespace {

namespace jf = zmqkit::detail::jformat;
using zmqkit::fuzz::check;

void parse_all(std::string_view bytes) {
  std::size_t at = 0;
  while (at < bytes.size()) {
    const auto rest = bytes.substr(at);
    const auto p = jf::parse_record(rest);
    if (p.st == jf::parsed::status::need_more) {
      check(p.size > rest.size(), "need_more asks for more than there is");
      return;
    }
    if (p.st == jf::parsed::status::bad) {
      check(p.why != nullptr && *p.why != '\0', "bad record says why");
      return;
    }
    check(p.size >= jf::record_header_size && p.size <= rest.size(), "record inside the bytes");
    const auto end = rest.data() + p.size;
    check(p.topic.data() >= rest.data() && p.topic.data() + p.topic.size() <= end, "topic inside");
    check(p.envelope.data() >= rest.data() && p.envelope.data() + p.envelope.size() == end,
          "envelope runs to the end of the record");
    std::string again;
    jf::append_record(again, p.fseq, p.time_ns, p.topic, p.envelope, p.key);
    check(again == rest.substr(0, p.size), "encode(parse(record)) is the record");
    at += p.size;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t mode = data[0];
  std::string bytes(zmqkit::fuzz::as_view(data + 1, size - 1));
  if (mode & 2) {
    std::string why;
    if (const auto base = jf::decode_segment_header(bytes, why)) {
      // The flags field is ignored, so only base and the magic must match.
      const auto again = jf::encode_segment_header(*base);
      check(again.compare(0, 12, bytes, 0, 12) == 0 && again.compare(16, 8, bytes, 16, 8) == 0,
            "a good header has the magic, version 1 and its base");
    } else {
      check(!why.empty(), "bad header says why");
    }
    if (const auto base = jf::parse_segment_name(std::string_view(bytes).substr(0, 24)))
      check(*base != 0 && jf::segment_name(*base) == bytes.substr(0, 24), "segment name round trip");
  }
  if (mode & 1) zmqkit::fuzz::fix_record_checksums(bytes, 0);
  parse_all(bytes);
  return 0;
}
