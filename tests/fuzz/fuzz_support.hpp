// Helpers shared by the fuzz targets (docs/fuzzing.md). Each target turns
// libFuzzer's bytes into files or frames, runs one parser on them and checks
// what it can (round trips, bounds); anything thrown that the API does not
// document escapes and is reported as a crash.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

#include "journal_format.hpp"
#include "support/temp_dir.hpp"

namespace zmqkit::fuzz {

using test::temp_dir;

inline std::string_view as_view(const std::uint8_t* data, std::size_t size) noexcept {
  return {reinterpret_cast<const char*>(data), size};
}

// A broken expectation: abort, so that libFuzzer saves the input.
inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz check failed: %s\n", what);
    std::abort();
  }
}

// Writes bytes to path (created or truncated) with the given mode.
inline void write_file(const std::string& path, std::string_view bytes, mode_t mode = 0644) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw std::runtime_error("fuzz: cannot create " + path);
  std::size_t done = 0;
  while (done < bytes.size()) {
    const auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) {
      ::close(fd);
      throw std::runtime_error("fuzz: cannot write " + path);
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  (void)::chmod(path.c_str(), mode);  // the umask may have taken bits away
}

// Puts the right XXH3 into every record from offset at on, for as long as
// the lengths make sense, so that the fuzzer gets past the checksum to the
// layout checks behind it.
inline void fix_record_checksums(std::string& b, std::size_t at) {
  namespace jf = detail::jformat;
  while (at + jf::record_prefix <= b.size()) {
    const auto len = static_cast<std::uint32_t>(jf::get_le(b.data() + at, 4));
    if (len < jf::record_fixed || len > b.size() - at - jf::record_prefix) return;
    jf::put_u64(b.data() + at + 4, jf::checksum(b.data() + at + jf::record_prefix, len, len));
    at += jf::record_prefix + len;
  }
}

}  // namespace zmqkit::fuzz
