// dedup_window: the (producer, seq) pairs a consumer has finished with, so
// that an event delivered again (at-least-once delivery, a redelivery after
// a crash) is recognised and skipped: idempotent consumption.
//
// Bounded: it remembers the last `capacity` pairs inserted, the oldest is
// forgotten first, so an event redelivered after more than `capacity` newer
// ones is handled again (the safe side of at-least-once). Optionally kept in
// a file, appended to on each insert (one write(2), no fsync: it survives
// the process being killed; after a power loss the last few may be handled
// again) and compacted when it holds twice the window. A torn or corrupt
// tail found on open is cut off and reported. Not thread-safe.
//
// File: "ZKDEDUP1" then records of producer (16 bytes) | seq (u64 LE) |
// XXH32 of those 24 bytes (u32 LE), oldest first.
//
// Example:
//   auto seen = zmqkit::dedup_window::open("/var/lib/app/billing.dedup", 100000);
//   if (!seen.contains(m.producer(), m.seq())) { handle(m); seen.insert(m.producer(), m.seq()); }
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <zmqkit/envelope.hpp>

namespace zmqkit {

class dedup_window {
 public:
  // In memory only. Takes about 40 bytes per pair of capacity (at most 2^30),
  // allocated up front.
  explicit dedup_window(std::size_t capacity = 100000);
  // Loads path (creating it, 0644, if missing) and appends to it from then
  // on. on_problem gets one line if a bad tail was cut off. Throws
  // zmqkit::error on I/O errors, std::invalid_argument for capacity 0.
  static dedup_window open(const std::string& path, std::size_t capacity = 100000,
                           const std::function<void(const std::string&)>& on_problem = {});

  dedup_window(dedup_window&&) noexcept;
  dedup_window& operator=(dedup_window&&) noexcept;
  ~dedup_window();

  bool contains(const producer_id& producer, std::uint64_t seq) const;
  // Remembers the pair (a pair already there is left as it is). Throws
  // zmqkit::error if the file cannot be written (ENOSPC...): the caller
  // then does not settle the event, and it comes again.
  void insert(const producer_id& producer, std::uint64_t seq);

  std::size_t size() const noexcept { return ring_.size(); }
  std::size_t capacity() const noexcept { return capacity_; }
  const std::string& path() const noexcept { return path_; }

 private:
  struct key {
    producer_id producer;
    std::uint64_t seq;
    bool operator==(const key& o) const noexcept { return seq == o.seq && producer == o.producer; }
  };
  static std::uint64_t hash(const key& k) noexcept;
  static constexpr std::size_t npos = ~std::size_t{0};
  std::size_t find(const key& k, std::uint64_t h) const noexcept;  // slot index or npos
  void erase_slot(std::size_t slot) noexcept;
  void remember(const key& k);
  template <class F>
  void for_each_oldest_first(F f) const;
  void compact();

  // The keys live in a ring in insertion order (ring_[head_] is the oldest
  // once it is full); an open-addressing table (linear probing, at most half
  // full, backward-shift deletion) maps them to their ring index: no
  // allocation per insert, one or two cache lines per lookup.
  std::size_t capacity_;
  std::vector<key> ring_;
  std::size_t head_ = 0;
  std::vector<std::uint64_t> slots_;  // 0 empty, else hash's high 32 bits | ring index + 1
  std::string path_;
  int fd_ = -1;
  std::uint64_t records_in_file_ = 0;
};

}  // namespace zmqkit
