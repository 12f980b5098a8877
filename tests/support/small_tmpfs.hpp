// A real tmpfs of a given size, mounted for one test and detached when the
// object goes, for running a disk out of space. Needs root: mount() returns
// nullptr and says why, so the test can print SKIPPED and return.
#pragma once

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

namespace zmqkit::test {

class small_tmpfs {
 public:
  // Mounts a tmpfs of size ("512k", "4m") at path, which is created.
  static std::unique_ptr<small_tmpfs> mount(const std::string& path, const std::string& size,
                                            std::string& why_not) {
    if (::geteuid() != 0) {
      why_not = "needs root to mount a small tmpfs";
      return nullptr;
    }
    if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
      why_not = "cannot create " + path + ": " + std::strerror(errno);
      return nullptr;
    }
    if (::mount("tmpfs", path.c_str(), "tmpfs", 0, ("size=" + size).c_str()) != 0) {
      why_not = std::string("cannot mount a tmpfs here: ") + std::strerror(errno);
      return nullptr;
    }
    return std::unique_ptr<small_tmpfs>(new small_tmpfs(path));
  }
  ~small_tmpfs() { ::umount2(path_.c_str(), MNT_DETACH); }
  small_tmpfs(const small_tmpfs&) = delete;
  small_tmpfs& operator=(const small_tmpfs&) = delete;

  const std::string& path() const noexcept { return path_; }

 private:
  explicit small_tmpfs(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace zmqkit::test
