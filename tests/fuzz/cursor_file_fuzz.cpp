// Fuzz target: cursor files (docs/journal.md, "Cursor files"), the small
// checksummed files holding subscription positions, the link's position,
// the journal id and the producer table. Input: byte 0 = flags, the rest =
// the file. Bit 0 puts the right length and XXH3 into the file first, so
// that a file with any value gets through. A file that loads must be the
// file that saving its value writes; anything else is a decode_error.
#include <zmqkit/cursor_store.hpp>

#include <fstream>
#include <iterator>
#include <string>

#include "fuzz_support.hpp"

namespace {

using namespace zmqkit;
namespace jf = detail::jformat;
using fuzz::check;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t flags = data[0];
  std::string file(fuzz::as_view(data + 1, size - 1));
  if ((flags & 1) && file.size() >= 20) {
    jf::put_u32(file.data() + 8, static_cast<std::uint32_t>(file.size() - 20));
    jf::put_u64(file.data() + file.size() - 8, jf::checksum(file.data(), file.size() - 8, 0));
  }

  fuzz::temp_dir tmp("zmqkit-fuzz-cursor");
  cursor_store store(tmp / "cursors");
  fuzz::write_file(tmp / "cursors/sub.fuzz", file);
  std::optional<std::string> value;
  try {
    value = store.load("sub.fuzz");
  } catch (const decode_error&) {
    return 0;
  }
  check(value.has_value(), "a file present loads or is a decode_error");
  try {
    const auto fseq = store.load_fseq("sub.fuzz");
    check(value->size() == 8 && fseq.has_value(), "an 8-byte value is an fseq");
  } catch (const decode_error&) {
    check(value->size() != 8, "only a value of another size is not an fseq");
  }
  store.save("copy", *value);
  check(read_file(tmp / "cursors/copy") == file, "save(load(file)) writes the same file");
  check(store.names() == std::vector<std::string>{"copy", "sub.fuzz"}, "names lists both");
  return 0;
}
