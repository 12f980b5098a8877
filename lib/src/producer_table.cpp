#include <zmqkit/producer_table.hpp>

#include <cstring>

#include <zmqkit/error.hpp>

#include "journal_format.hpp"

namespace zmqkit {

namespace jf = detail::jformat;

std::size_t producer_table::id_hash::operator()(const sender_id& id) const noexcept {
  std::uint64_t a, b;  // ids are random: any 8 bytes hash well
  std::memcpy(&a, id.data(), 8);
  std::memcpy(&b, id.data() + 8, 8);
  return static_cast<std::size_t>(a ^ (b * 0x9e3779b97f4a7c15ull));
}

producer_table::verdict producer_table::check(const sender_id& id, std::uint64_t seq, bool strict,
                                              std::uint64_t first) const {
  const auto it = map_.find(id);
  if (it == map_.end()) return first == 0 || seq == first ? verdict::store : verdict::ahead;
  const std::uint64_t have = it->second.seq;
  if (seq <= have) return verdict::duplicate;
  if (!strict || seq == have + 1 || seq == first) return verdict::store;
  return verdict::ahead;
}

std::uint64_t producer_table::record(const sender_id& id, std::uint64_t seq) {
  auto it = map_.find(id);
  if (it != map_.end()) {
    const std::uint64_t previous = it->second.seq;
    it->second.seq = seq;
    ages_.splice(ages_.begin(), ages_, it->second.age);
    return previous;
  }
  if (map_.size() >= max_) {
    map_.erase(ages_.back());
    ages_.pop_back();
  }
  ages_.push_front(id);
  map_.emplace(id, entry{seq, ages_.begin()});
  return 0;
}

void producer_table::restore(const sender_id& id, std::uint64_t previous) {
  auto it = map_.find(id);
  if (it == map_.end()) {
    if (previous != 0) record(id, previous);
    return;
  }
  if (previous == 0) {
    ages_.erase(it->second.age);
    map_.erase(it);
  } else {
    it->second.seq = previous;
  }
}

std::uint64_t producer_table::high(const sender_id& id) const {
  const auto it = map_.find(id);
  return it == map_.end() ? 0 : it->second.seq;
}

std::string producer_table::save(std::uint64_t valid_up_to) const {
  std::string out(12 + map_.size() * 24, '\0');
  jf::put_u64(out.data(), valid_up_to);
  jf::put_u32(out.data() + 8, static_cast<std::uint32_t>(map_.size()));
  char* p = out.data() + 12;
  // Oldest first, so loading them in order rebuilds the same ages.
  for (auto it = ages_.rbegin(); it != ages_.rend(); ++it, p += 24) {
    std::memcpy(p, it->data(), 16);
    jf::put_u64(p + 16, map_.at(*it).seq);
  }
  return out;
}

std::uint64_t producer_table::load(std::string_view blob) {
  if (blob.size() < 12) throw decode_error("producer table", "too short");
  const std::uint64_t count = jf::get_le(blob.data() + 8, 4);
  if (blob.size() != 12 + count * 24) throw decode_error("producer table", "size does not match its count");
  map_.clear();
  ages_.clear();
  for (std::uint64_t i = 0; i < count; ++i) {
    const char* p = blob.data() + 12 + i * 24;
    sender_id id;
    std::memcpy(id.data(), p, 16);
    record(id, jf::get_le(p + 16, 8));
  }
  return jf::get_le(blob.data(), 8);
}

}  // namespace zmqkit
