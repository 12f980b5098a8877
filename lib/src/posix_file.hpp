// Thin RAII over the POSIX file calls the journal and the cursor store need.
// Every failure throws zmqkit::error naming the call and the path; EINTR is
// retried and short writes are completed. Internal to zmqkit::core.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace zmqkit::detail {

[[noreturn]] void throw_errno(int errnum, const std::string& what, const std::string& path);

class fd_handle {
 public:
  fd_handle() = default;
  explicit fd_handle(int fd) noexcept : fd_(fd) {}
  fd_handle(fd_handle&& o) noexcept : fd_(o.release()) {}
  fd_handle& operator=(fd_handle&& o) noexcept;
  fd_handle(const fd_handle&) = delete;
  fd_handle& operator=(const fd_handle&) = delete;
  ~fd_handle() { reset(); }

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  int release() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset() noexcept;

 private:
  int fd_ = -1;
};

// open(2); throws on failure.
fd_handle open_file(const std::string& path, int flags, mode_t mode = 0644);
// Writes all of data at the file offset; throws with errno (ENOSPC included)
// after truncating nothing: the caller decides what to roll back.
void write_all(int fd, std::string_view data, const std::string& path);
// Reads up to size bytes at offset; returns how many were read (short only at EOF).
std::size_t pread_some(int fd, char* out, std::size_t size, std::uint64_t offset,
                       const std::string& path);
std::uint64_t file_size(int fd, const std::string& path);
void truncate_file(int fd, std::uint64_t size, const std::string& path);
// fdatasync(2). The caller treats a failure as fatal: after a failed sync the
// kernel may have dropped the dirty pages, so retrying proves nothing.
void sync_data(int fd, const std::string& path);
// Opens the directory and fsyncs it, so a create, rename or unlink in it is durable.
void sync_directory(const std::string& dir);
// Regular file names in dir (no . or ..), unsorted.
std::vector<std::string> list_directory(const std::string& dir);
void make_directory(const std::string& dir);  // mkdir -p for one level; exists is fine
bool exists(const std::string& path);
// Free bytes for an unprivileged writer on the filesystem holding path.
std::uint64_t free_bytes(const std::string& path);

}  // namespace zmqkit::detail
