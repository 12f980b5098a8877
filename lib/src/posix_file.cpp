#include "posix_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include <zmqkit/error.hpp>

namespace zmqkit::detail {

void throw_errno(int errnum, const std::string& what, const std::string& path) {
  throw error(errnum, what + " " + path);
}

fd_handle& fd_handle::operator=(fd_handle&& o) noexcept {
  if (this != &o) {
    reset();
    fd_ = o.release();
  }
  return *this;
}

void fd_handle::reset() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

fd_handle open_file(const std::string& path, int flags, mode_t mode) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw_errno(errno, "cannot open", path);
  return fd_handle(fd);
}

void write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, "cannot write", path);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::size_t pread_some(int fd, char* out, std::size_t size, std::uint64_t offset,
                       const std::string& path) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, out + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, "cannot read", path);
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

std::uint64_t file_size(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_errno(errno, "cannot stat", path);
  return static_cast<std::uint64_t>(st.st_size);
}

void truncate_file(int fd, std::uint64_t size, const std::string& path) {
  int rc;
  do {
    rc = ::ftruncate(fd, static_cast<off_t>(size));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) throw_errno(errno, "cannot truncate", path);
}

void sync_data(int fd, const std::string& path) {
  int rc;
  do {
    rc = ::fdatasync(fd);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) throw_errno(errno, "fdatasync failed on", path);
}

void sync_directory(const std::string& dir) {
  const fd_handle fd = open_file(dir, O_RDONLY | O_DIRECTORY);
  int rc;
  do {
    rc = ::fsync(fd.get());
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) throw_errno(errno, "fsync failed on directory", dir);
}

std::vector<std::string> list_directory(const std::string& dir) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
  if (!d) throw_errno(errno, "cannot list", dir);
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(d.get())) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  return names;
}

void make_directory(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    throw_errno(errno, "cannot create directory", dir);
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::uint64_t free_bytes(const std::string& path) {
  struct statvfs sv {};
  if (::statvfs(path.c_str(), &sv) != 0) throw_errno(errno, "cannot statvfs", path);
  return static_cast<std::uint64_t>(sv.f_bavail) * sv.f_frsize;
}

}  // namespace zmqkit::detail
