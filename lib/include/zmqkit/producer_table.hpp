// The forwarder's duplicate filter: per sender, the highest seq stored with
// no gap before it (docs/protocol.md, Intake). Bounded: past max_senders the
// one seen least recently is forgotten. Saved as a blob with the fseq it is
// valid up to, so a restart loads it and replays only the journal after it.
// Not thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

namespace zmqkit {

class producer_table {
 public:
  using sender_id = std::array<std::uint8_t, 16>;
  enum class verdict {
    store,      // new: the next seq, or where this sender starts
    duplicate,  // at or below what is stored
    ahead,      // past a gap: refused until the missing ones come
  };

  explicit producer_table(std::size_t max_senders = 65536) : max_(max_senders ? max_senders : 1) {}

  // strict: a gap is refused (acknowledged senders resend); otherwise any
  // seq above the stored one is accepted (plain publishers lose messages at
  // their HWM and never resend).
  // first: the sender's oldest unacknowledged seq when it sent this (0: not
  // said). Said, a sender not in the table is stored only from there, not
  // from whatever reached this first; and a seq past a gap is stored when it
  // is that oldest one, since the sender holds nothing before it to resend
  // (this table lost seqs it had acknowledged).
  verdict check(const sender_id& id, std::uint64_t seq, bool strict, std::uint64_t first = 0) const;
  // Notes that seq from id is stored. Returns the previous high (0: none).
  std::uint64_t record(const sender_id& id, std::uint64_t seq);
  // Puts back the high record() replaced (0 forgets the sender).
  void restore(const sender_id& id, std::uint64_t previous);
  // Highest stored seq from id, 0 when unknown.
  std::uint64_t high(const sender_id& id) const;
  std::size_t size() const noexcept { return map_.size(); }

  // Blob: u64 valid_up_to_fseq | u32 count | count x (id 16 bytes, seq u64).
  std::string save(std::uint64_t valid_up_to) const;
  // Replaces the contents; returns valid_up_to. Throws decode_error.
  std::uint64_t load(std::string_view blob);

 private:
  struct id_hash {
    std::size_t operator()(const sender_id& id) const noexcept;
  };
  struct entry {
    std::uint64_t seq;
    std::list<sender_id>::iterator age;
  };
  std::size_t max_;
  std::unordered_map<sender_id, entry, id_hash> map_;
  std::list<sender_id> ages_;  // most recently recorded first
};

}  // namespace zmqkit
