// Fuzz target: dedup_window::open on a damaged file (dedup_window.hpp: the
// "ZKDEDUP1" header, then 28-byte records with an XXH32 each). Input: byte
// 0 = flags, byte 1 = capacity - 1, the rest = the file. Bit 0 puts the
// right checksum into every whole record, bit 1 writes the header first.
// Open must cut a bad tail and go on, or refuse a bad header with
// zmqkit::error; the last good record must be remembered, the window
// bounded, and what it held must come back from the file after inserts
// that make it compact.
#include <zmqkit/dedup_window.hpp>

#include <xxhash.h>

#include <cstring>
#include <string>
#include <vector>

#include "fuzz_support.hpp"

namespace {

using namespace zmqkit;
using fuzz::check;

constexpr std::string_view magic = "ZKDEDUP1";
constexpr std::size_t record_size = 28;

struct pair {
  producer_id producer;
  std::uint64_t seq;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t flags = data[0];
  const std::size_t capacity = 1 + data[1] % 16;
  std::string file(fuzz::as_view(data + 2, size - 2));
  if (flags & 2) file.insert(0, magic);
  std::vector<pair> good;  // the records open should take, if the header is right
  for (std::size_t at = magic.size(); at + record_size <= file.size(); at += record_size) {
    char* r = file.data() + at;
    if (flags & 1) {
      const std::uint32_t sum = XXH32(r, 24, 0);
      for (int i = 0; i < 4; ++i) r[24 + i] = static_cast<char>(sum >> (8 * i));
    }
    std::uint32_t sum = 0;
    for (int i = 0; i < 4; ++i) sum |= std::uint32_t(static_cast<unsigned char>(r[24 + i])) << (8 * i);
    if (sum != XXH32(r, 24, 0)) break;
    pair p{};
    std::memcpy(p.producer.data(), r, 16);
    p.seq = detail::jformat::get_le(r + 16, 8);
    good.push_back(p);
  }

  fuzz::temp_dir tmp("zmqkit-fuzz-dedup");
  const std::string path = tmp / "seen.dedup";
  fuzz::write_file(path, file);
  const bool header_ok = file.compare(0, magic.size(), magic) == 0 && file.size() >= magic.size();
  int problems = 0;
  std::optional<dedup_window> w;
  try {
    w.emplace(dedup_window::open(path, capacity, [&](const std::string&) { ++problems; }));
  } catch (const error&) {
    check(!file.empty() && !header_ok, "only a bad header is refused");
    return 0;
  }
  check(file.empty() || header_ok, "a bad header is refused");
  check(w->size() <= capacity, "the window is bounded");
  check((problems != 0) == (!file.empty() && file.size() != magic.size() + good.size() * record_size),
        "a bad tail is cut and reported, a good file is not");
  if (!good.empty()) check(w->contains(good.back().producer, good.back().seq), "the last record is remembered");

  // Enough inserts to compact the file, then the same window from the file.
  producer_id mine{};
  mine[0] = 0xfe;
  for (std::uint64_t s = 1; s <= 2 * capacity + 1; ++s) w->insert(mine, s);
  std::vector<pair> held;
  for (const auto& p : good)
    if (w->contains(p.producer, p.seq)) held.push_back(p);
  w.reset();
  auto again = dedup_window::open(path, capacity);
  check(again.size() <= capacity && again.contains(mine, 2 * capacity + 1), "reopened after compaction");
  for (const auto& p : held) check(again.contains(p.producer, p.seq), "what was held comes back");
  return 0;
}
