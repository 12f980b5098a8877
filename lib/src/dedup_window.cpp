#include <zmqkit/dedup_window.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <utility>

#include <xxhash.h>

#include "posix_file.hpp"

namespace zmqkit {

namespace {

constexpr std::string_view magic = "ZKDEDUP1";
constexpr std::size_t record_size = 28;

void put_u64(char* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
std::uint64_t get_u64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}
std::uint32_t checksum(const char* p) { return XXH32(p, 24, 0); }

std::string encode(const producer_id& producer, std::uint64_t seq) {
  std::string r(record_size, '\0');
  std::memcpy(r.data(), producer.data(), 16);
  put_u64(r.data() + 16, seq);
  const auto sum = checksum(r.data());
  for (int i = 0; i < 4; ++i) r[24 + i] = static_cast<char>(sum >> (8 * i));
  return r;
}

}  // namespace

std::uint64_t dedup_window::hash(const key& k) noexcept {
  std::uint64_t a, b;
  std::memcpy(&a, k.producer.data(), 8);
  std::memcpy(&b, k.producer.data() + 8, 8);
  std::uint64_t h = a ^ (b * 0xff51afd7ed558ccdULL) ^ (k.seq * 0x9e3779b97f4a7c15ULL);
  h ^= h >> 33;  // murmur3's finaliser: every input bit moves the low bits
  h *= 0xc4ceb9fe1a85ec53ULL;
  return h ^ (h >> 33);
}

dedup_window::dedup_window(std::size_t capacity) : capacity_(capacity) {
  if (capacity == 0 || capacity > (std::size_t{1} << 30))
    throw std::invalid_argument("dedup_window: capacity must be 1 to 2^30");
  std::size_t slots = 2;
  while (slots < 2 * capacity) slots *= 2;
  slots_.assign(slots, 0);
}

dedup_window::dedup_window(dedup_window&& o) noexcept
    : capacity_(o.capacity_),
      ring_(std::move(o.ring_)),
      head_(o.head_),
      slots_(std::move(o.slots_)),
      path_(std::move(o.path_)),
      fd_(std::exchange(o.fd_, -1)),
      records_in_file_(o.records_in_file_) {}

dedup_window& dedup_window::operator=(dedup_window&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    capacity_ = o.capacity_;
    ring_ = std::move(o.ring_);
    head_ = o.head_;
    slots_ = std::move(o.slots_);
    path_ = std::move(o.path_);
    fd_ = std::exchange(o.fd_, -1);
    records_in_file_ = o.records_in_file_;
  }
  return *this;
}

dedup_window::~dedup_window() {
  if (fd_ >= 0) ::close(fd_);
}

dedup_window dedup_window::open(const std::string& path, std::size_t capacity,
                                const std::function<void(const std::string&)>& on_problem) {
  dedup_window w(capacity);
  auto fd = detail::open_file(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  const auto size = detail::file_size(fd.get(), path);
  std::uint64_t good = 0;  // bytes of the file that are a valid header and records
  if (size == 0) {
    detail::write_all(fd.get(), magic, path);
    good = magic.size();
  } else {
    std::string head(magic.size(), '\0');
    if (detail::pread_some(fd.get(), head.data(), head.size(), 0, path) != head.size() || head != magic)
      throw error(EPROTO, "dedup_window: " + path + " is not a dedup file (bad header)");
    good = magic.size();
    std::string buf(record_size * 4096, '\0');
    bool bad = false;
    while (!bad) {
      const auto n = detail::pread_some(fd.get(), buf.data(), buf.size(), good, path);
      if (n < record_size) break;
      for (std::size_t off = 0; off + record_size <= n; off += record_size) {
        const char* r = buf.data() + off;
        std::uint32_t sum = 0;
        for (int i = 0; i < 4; ++i) sum |= std::uint32_t(static_cast<unsigned char>(r[24 + i])) << (8 * i);
        if (sum != checksum(r)) {
          bad = true;
          break;
        }
        key k{};
        std::memcpy(k.producer.data(), r, 16);
        k.seq = get_u64(r + 16);
        w.remember(k);
        ++w.records_in_file_;
        good += record_size;
      }
    }
    if (good != size) {
      detail::truncate_file(fd.get(), good, path);
      if (on_problem)
        on_problem("dedup_window: " + path + ": cut off " + std::to_string(size - good) +
                   " bytes of torn or corrupt tail after " + std::to_string(w.records_in_file_) +
                   " records");
    }
  }
  if (::lseek(fd.get(), static_cast<off_t>(good), SEEK_SET) < 0)
    detail::throw_errno(errno, "lseek", path);
  w.path_ = path;
  w.fd_ = fd.release();
  return w;
}

std::size_t dedup_window::find(const key& k, std::uint64_t h) const noexcept {
  const std::size_t mask = slots_.size() - 1;
  const std::uint64_t tag = h >> 32;
  for (std::size_t i = h & mask;; i = (i + 1) & mask) {
    const std::uint64_t s = slots_[i];
    if (s == 0) return npos;
    if ((s >> 32) == tag && ring_[(s & 0xffffffffu) - 1] == k) return i;
  }
}

// Empties a slot and pulls back the entries after it that probing would no
// longer reach (their home is not in the cyclic range after the hole).
void dedup_window::erase_slot(std::size_t hole) noexcept {
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t j = (hole + 1) & mask; slots_[j] != 0; j = (j + 1) & mask) {
    const std::size_t home = hash(ring_[(slots_[j] & 0xffffffffu) - 1]) & mask;
    if (((j - home) & mask) >= ((j - hole) & mask)) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole] = 0;
}

bool dedup_window::contains(const producer_id& producer, std::uint64_t seq) const {
  const key k{producer, seq};
  return find(k, hash(k)) != npos;
}

void dedup_window::remember(const key& k) {
  const std::uint64_t h = hash(k);
  if (find(k, h) != npos) return;
  std::size_t index;
  if (ring_.size() < capacity_) {
    index = ring_.size();
    ring_.push_back(k);
  } else {  // forget the oldest, and take its place in the ring
    index = head_;
    erase_slot(find(ring_[index], hash(ring_[index])));
    ring_[index] = k;
    head_ = (head_ + 1) % capacity_;
  }
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = h & mask;
  while (slots_[i] != 0) i = (i + 1) & mask;
  slots_[i] = ((h >> 32) << 32) | (index + 1);
}

template <class F>
void dedup_window::for_each_oldest_first(F f) const {
  for (std::size_t n = 0; n < ring_.size(); ++n) f(ring_[(head_ + n) % ring_.size()]);
}

void dedup_window::insert(const producer_id& producer, std::uint64_t seq) {
  const key k{producer, seq};
  if (find(k, hash(k)) != npos) return;
  if (fd_ >= 0) {
    const std::uint64_t end = magic.size() + records_in_file_ * record_size;
    try {
      detail::write_all(fd_, encode(producer, seq), path_);
    } catch (...) {  // a torn record (ENOSPC) would hide every later one
      if (::ftruncate(fd_, static_cast<off_t>(end)) == 0) (void)::lseek(fd_, static_cast<off_t>(end), SEEK_SET);
      throw;
    }
    ++records_in_file_;
  }
  remember(k);
  if (fd_ >= 0 && records_in_file_ >= 2 * capacity_) compact();
}

// Rewrites the file with just the window: a temporary file, synced, renamed
// over the old one, and the directory synced, so a crash leaves one or the other.
void dedup_window::compact() {
  const std::string tmp = path_ + ".tmp";
  auto fd = detail::open_file(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  std::string out(magic);
  out.reserve(magic.size() + ring_.size() * record_size);
  for_each_oldest_first([&](const key& k) { out += encode(k.producer, k.seq); });
  detail::write_all(fd.get(), out, tmp);
  detail::sync_data(fd.get(), tmp);
  if (std::rename(tmp.c_str(), path_.c_str()) != 0) detail::throw_errno(errno, "rename", tmp);
  const auto slash = path_.rfind('/');
  detail::sync_directory(slash == std::string::npos ? "." : path_.substr(0, slash == 0 ? 1 : slash));
  ::close(fd_);
  fd_ = fd.release();
  // O_WRONLY without O_APPEND: the offset is at the end of what was written.
  records_in_file_ = ring_.size();
}

}  // namespace zmqkit
