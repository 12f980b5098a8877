// Fuzz target: producer_table::load, the forwarder's duplicate table as
// saved in cursors/producers (u64 valid_up_to | u32 count | count x (id 16
// bytes, seq u64)). Input: byte 0 = max_senders - 1, byte 1 = flags, the
// rest = the blob. Bit 0 puts the count that matches the size into it. A
// blob that loads must save and load again to the same table, bounded by
// max_senders, with the last sender of the blob known.
#include <zmqkit/error.hpp>
#include <zmqkit/producer_table.hpp>

#include <cstring>
#include <string>

#include "fuzz_support.hpp"

namespace {

using namespace zmqkit;
namespace jf = detail::jformat;
using fuzz::check;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t max_senders = 1 + data[0] % 32;
  const std::uint8_t flags = data[1];
  std::string blob(fuzz::as_view(data + 2, size - 2));
  if ((flags & 1) && blob.size() >= 12)
    jf::put_u32(blob.data() + 8, static_cast<std::uint32_t>((blob.size() - 12) / 24));

  producer_table t(max_senders);
  std::uint64_t valid_up_to = 0;
  try {
    valid_up_to = t.load(blob);
  } catch (const decode_error&) {
    return 0;
  }
  check(t.size() <= max_senders, "the table is bounded");
  check(valid_up_to == jf::get_le(blob.data(), 8), "valid_up_to comes back");
  const std::size_t count = (blob.size() - 12) / 24;
  if (count > 0) {
    producer_table::sender_id last;
    const char* p = blob.data() + 12 + (count - 1) * 24;
    std::memcpy(last.data(), p, 16);
    check(t.high(last) == jf::get_le(p + 16, 8), "the last sender of the blob is known");
  }

  const std::string saved = t.save(valid_up_to);
  producer_table u(max_senders);
  check(u.load(saved) == valid_up_to && u.size() == t.size() && u.save(valid_up_to) == saved,
        "save(load(blob)) loads to the same table");

  // The table keeps working: a new sender, then its next seq.
  producer_table::sender_id fresh{};
  fresh.fill(0xab);
  t.record(fresh, 1);
  check(t.check(fresh, 1, true) == producer_table::verdict::duplicate, "a recorded seq is a duplicate");
  check(t.size() <= max_senders, "still bounded");
  return 0;
}
