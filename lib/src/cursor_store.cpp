#include <zmqkit/cursor_store.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>

#include <zmqkit/error.hpp>

#include "journal_format.hpp"
#include "posix_file.hpp"

namespace zmqkit {

namespace jf = detail::jformat;

// File: "zmqkcur1" | u32 length | value | u64 XXH3 of everything before it.
namespace {
constexpr std::string_view file_magic = "zmqkcur1";
constexpr std::size_t max_value = 64u << 20;
constexpr std::string_view tmp_suffix = ".tmp";          // a replacement being written
constexpr std::string_view corrupt_suffix = ".corrupt";  // a damaged file kept aside

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
}  // namespace

cursor_store::cursor_store(std::string dir) : dir_(std::move(dir)) {
  detail::make_directory(dir_);
}

bool cursor_store::valid_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > max_name || name.front() == '.') return false;
  if (ends_with(name, tmp_suffix) || ends_with(name, corrupt_suffix)) return false;  // the store's own
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
  });
}

std::string cursor_store::path(std::string_view name) const {
  if (!valid_name(name))
    throw std::invalid_argument("name '" + std::string(name) +
                                "' must be 1-200 characters of A-Z a-z 0-9 . _ - (not starting with .)");
  return dir_ + "/" + std::string(name);
}

void cursor_store::save(std::string_view name, std::string_view value) {
  const std::string final_path = path(name);
  if (value.size() > max_value) throw std::length_error("cursor value larger than 64 MiB");
  std::string bytes(file_magic);
  bytes.resize(bytes.size() + 4);
  jf::put_u32(bytes.data() + file_magic.size(), static_cast<std::uint32_t>(value.size()));
  bytes.append(value);
  bytes.resize(bytes.size() + 8);
  jf::put_u64(bytes.data() + bytes.size() - 8, jf::checksum(bytes.data(), bytes.size() - 8, 0));

  const std::string tmp = final_path + std::string(tmp_suffix);
  try {
    const auto fd = detail::open_file(tmp, O_WRONLY | O_CREAT | O_TRUNC);
    detail::write_all(fd.get(), bytes, tmp);
    detail::sync_data(fd.get(), tmp);
  } catch (const error&) {
    ::unlink(tmp.c_str());  // a part-written copy (full disk) would only take space
    throw;
  }
  if (::rename(tmp.c_str(), final_path.c_str()) != 0)
    detail::throw_errno(errno, "cannot rename onto", final_path);
  detail::sync_directory(dir_);
}

std::optional<std::string> cursor_store::load(std::string_view name) const {
  const std::string p = path(name);
  if (!detail::exists(p)) return std::nullopt;
  const auto fd = detail::open_file(p, O_RDONLY);
  const std::uint64_t size = detail::file_size(fd.get(), p);
  const std::size_t overhead = file_magic.size() + 4 + 8;
  if (size < overhead || size > overhead + max_value)
    throw decode_error(p, "not a cursor file (size " + std::to_string(size) + ")");
  std::string bytes(static_cast<std::size_t>(size), '\0');
  bytes.resize(detail::pread_some(fd.get(), bytes.data(), bytes.size(), 0, p));
  if (bytes.size() != size || bytes.compare(0, file_magic.size(), file_magic) != 0)
    throw decode_error(p, "not a cursor file");
  const auto len = jf::get_le(bytes.data() + file_magic.size(), 4);
  if (len != size - overhead) throw decode_error(p, "length does not match the file size");
  if (jf::get_le(bytes.data() + size - 8, 8) != jf::checksum(bytes.data(), size - 8, 0))
    throw decode_error(p, "checksum mismatch");
  return bytes.substr(file_magic.size() + 4, len);
}

void cursor_store::remove(std::string_view name) {
  const std::string p = path(name);
  if (::unlink(p.c_str()) != 0) {
    if (errno == ENOENT) return;
    detail::throw_errno(errno, "cannot delete", p);
  }
  detail::sync_directory(dir_);
}

std::vector<std::string> cursor_store::names() const {
  std::vector<std::string> out;
  for (auto& n : detail::list_directory(dir_))
    if (valid_name(n)) out.push_back(std::move(n));
  std::sort(out.begin(), out.end());
  return out;
}

std::string cursor_store::set_aside(std::string_view name) {
  const std::string from = path(name);
  const std::string to = from + std::string(corrupt_suffix);
  if (::rename(from.c_str(), to.c_str()) != 0) detail::throw_errno(errno, "cannot set aside", from);
  detail::sync_directory(dir_);
  return to;
}

std::vector<std::string> cursor_store::set_aside_files() const {
  std::vector<std::string> out;
  for (auto& n : detail::list_directory(dir_)) {
    const std::string_view name(n);
    if (ends_with(name, corrupt_suffix) && valid_name(name.substr(0, name.size() - corrupt_suffix.size())))
      out.push_back(std::move(n));
  }
  std::sort(out.begin(), out.end());
  return out;
}

void cursor_store::save_fseq(std::string_view name, std::uint64_t fseq) {
  char b[8];
  jf::put_u64(b, fseq);
  save(name, std::string_view(b, 8));
}

std::optional<std::uint64_t> cursor_store::load_fseq(std::string_view name) const {
  const auto v = load(name);
  if (!v) return std::nullopt;
  if (v->size() != 8) throw decode_error(path(name), "not an fseq cursor");
  return jf::get_le(v->data(), 8);
}

}  // namespace zmqkit
