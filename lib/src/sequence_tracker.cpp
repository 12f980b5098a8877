#include <zmqkit/sequence_tracker.hpp>

#include <cstring>

namespace zmqkit {

std::size_t sequence_tracker::id_hash::operator()(const producer_id& id) const noexcept {
  // Producer ids are random, so any 8 of their bytes are already a good hash.
  std::uint64_t h;
  std::memcpy(&h, id.data(), sizeof h);
  return static_cast<std::size_t>(h);
}

sequence_tracker::result sequence_tracker::observe(const producer_id& producer,
                                                   std::uint64_t seq) {
  auto it = last_.find(producer);
  if (it == last_.end()) {
    if (last_.size() >= max_producers_) {
      last_.erase(order_.front());
      order_.pop_front();
    }
    last_.emplace(producer, seq);
    order_.push_back(producer);
    return {};
  }
  result r;
  if (seq <= it->second) {
    r.duplicate = true;
    return r;
  }
  r.missed = seq - it->second - 1;
  it->second = seq;
  return r;
}

}  // namespace zmqkit
