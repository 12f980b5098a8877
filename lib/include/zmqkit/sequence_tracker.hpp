// Per-producer sequence bookkeeping for receivers: every envelope carries
// (producer_id, seq), seq starting at 1 and rising by one per message, so a
// receiver can count what it missed (gaps) and what it saw twice.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <unordered_map>

#include <zmqkit/envelope.hpp>

namespace zmqkit {

class sequence_tracker {
 public:
  struct result {
    std::uint64_t missed = 0;  // seqs skipped since the last one seen
    bool duplicate = false;    // seq at or below the last one seen
  };

  // At most max_producers are remembered; past that the oldest-inserted is
  // forgotten, so a flood of forged producer ids cannot grow memory.
  explicit sequence_tracker(std::size_t max_producers = 4096)
      : max_producers_(max_producers > 0 ? max_producers : 1) {}

  // The first seq seen from a producer is its baseline and counts no gap: a
  // subscriber that joins late has not missed what came before it.
  result observe(const producer_id& producer, std::uint64_t seq);

  std::size_t producers() const noexcept { return last_.size(); }

 private:
  struct id_hash {
    std::size_t operator()(const producer_id& id) const noexcept;
  };
  std::size_t max_producers_;
  std::unordered_map<producer_id, std::uint64_t, id_hash> last_;
  std::deque<producer_id> order_;  // insertion order, oldest first
};

}  // namespace zmqkit
