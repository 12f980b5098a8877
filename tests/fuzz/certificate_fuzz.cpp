// Fuzz target: certificate::load, the ZPL reader for CURVE certificate
// files (curve.hpp, docs/security.md). The input is the file, written 0600
// (so a secret key in it is taken). Anything wrong is a key_error; a file
// that loads has a valid public key, and written out again by to_text it
// loads to the same keys and metadata.
#include <zmqkit/curve.hpp>

#include <string>

#include "fuzz_support.hpp"

namespace {

using namespace zmqkit;
using fuzz::check;

// What certificate::save refuses to write.
bool writable(const certificate& c) {
  for (const auto& [k, v] : c.metadata)
    if (k.find_first_of("=#\"\n ") != std::string::npos || v.find_first_of("\"\n") != std::string::npos)
      return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::temp_dir tmp("zmqkit-fuzz-cert");
  const std::string path = tmp / "fuzz.key_secret";
  fuzz::write_file(path, fuzz::as_view(data, size), 0600);
  certificate c;
  try {
    c = certificate::load(path);
  } catch (const key_error&) {
    return 0;
  }
  check_z85_key(c.public_key, "loaded public key");  // throws if load let a bad one through
  check(z85_key_bytes(c.public_key).size() == 32, "a loaded key is 32 bytes");
  if (!writable(c)) return 0;
  const std::string again_path = tmp / "again.key_secret";
  fuzz::write_file(again_path, c.to_text(!c.secret_key.empty()), 0600);
  const auto again = certificate::load(again_path);
  check(again.public_key == c.public_key && again.secret_key == c.secret_key &&
            again.metadata == c.metadata,
        "to_text(load(file)) loads to the same certificate");
  return 0;
}
