// The forwarder's pieces, internal to zmqkit::patterns: the context its
// parts share, the intake (intake_hub), durable subscriptions (replay_hub)
// and the forward-to link (forward_link). All of it runs on the actor's
// thread; their frames are forwarder_protocol's.
#pragma once

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include <zmqkit/cursor_store.hpp>
#include <zmqkit/envelope.hpp>
#include <zmqkit/error.hpp>
#include <zmqkit/forwarder.hpp>
#include <zmqkit/journal.hpp>
#include <zmqkit/metrics.hpp>
#include <zmqkit/producer_table.hpp>

#include "forwarder_protocol.hpp"

namespace zmqkit::detail {

using clock = std::chrono::steady_clock;

// A counter's rate per second over the last interval of a second or more.
struct rate_meter {
  std::uint64_t at_last = 0;
  double per_s = 0;
  void update(std::uint64_t count, double seconds) {
    per_s = static_cast<double>(count - at_last) / seconds;
    at_last = count;
  }
};

struct forwarder_context {
  journal& j;
  cursor_store& cursors;
  producer_id journal_id;
  forwarder::counters& c;
  event_metrics& topics;  // per topic: stored, consumed, latency
  std::function<void(const std::string&)> log;
  bool cursors_full = false;  // the last cursor write found the disk full
  std::vector<forwarder::metrics_snapshot::damaged_cursor> damaged_cursors{};  // the first 64

  // A cursor file that load() refused (e): logged naming the file, counted,
  // and set aside as NAME.corrupt, so that the next save does not destroy
  // it. The caller then goes on as if nothing were stored, which then
  // says what follows.
  void damaged_cursor(std::string_view name, const decode_error& e, const std::string& then) {
    const std::string file = cursors.directory() + "/" + std::string(name);
    const std::string what = e.what();
    const std::string prefix = e.field() + ": ";  // decode_error's what() starts with the file
    const std::string problem =
        what.compare(0, prefix.size(), prefix) == 0 ? what.substr(prefix.size()) : what;
    std::string moved_to;
    std::string kept;
    try {
      moved_to = cursors.set_aside(name);
      kept = "set aside as " + moved_to;
    } catch (const error& moving) {
      kept = std::string("not set aside: ") + moving.what();
    }
    log(file + ": damaged cursor file (" + problem + "), " + kept + "; " + then);
    c.damaged_cursors++;
    if (damaged_cursors.size() < 64) damaged_cursors.push_back({file, moved_to, problem});
  }

  // Runs save, a cursor write. On a full disk (ENOSPC, EDQUOT) it logs once
  // and returns false: the caller keeps the position in memory and tries
  // again later. A restart before then resumes from the older saved
  // position, which means redelivery, never loss. Other errors throw.
  template <class Save>
  bool try_save(Save&& save) {
    try {
      save();
    } catch (const error& e) {
      if (e.code() != std::errc::no_space_on_device &&
          e.code() != std::error_condition(EDQUOT, std::generic_category()))
        throw;
      if (!cursors_full) log(std::string(e.what()) + "; positions kept in memory until space returns");
      cursors_full = true;
      return false;
    }
    cursors_full = false;
    return true;
  }
};

// The STATS document (docs/protocol.md, "Control").
std::string stats_json(const forwarder::metrics_snapshot& m);

// The intake ROUTER (reliable publishers, acknowledged) and the frontend
// XSUB (plain publishers): messages taken into a batch, appended to the
// journal, and once the batch is committed acknowledged and sent live. Owns
// the duplicate table (producer_table) and its checkpoint. The sockets are
// the actor's, opened after this is made; any of them may be absent.
class intake_hub {
 public:
  // Rebuilds the duplicate table from its checkpoint and the journal after it.
  intake_hub(forwarder_context& ctx, std::optional<zmq::socket_t>& intake,
             std::optional<zmq::socket_t>& frontend, std::optional<zmq::socket_t>& live,
             std::size_t max_batch, std::size_t max_message_size);
  // Takes what the ready sockets have, up to max_batch messages in the batch.
  // A full disk stops it: full() is then true until resume_if_space() finds room.
  void read(bool intake_ready, bool frontend_ready);
  std::size_t batched() const noexcept { return batch_.size(); }
  // Commits the batch, then acknowledges and fans out what it stored.
  void commit();
  void save_producers();  // the duplicate table's checkpoint
  bool full() const noexcept { return full_; }
  void resume_if_space();  // after a full disk: reads the intake again once there is room

 private:
  struct item {
    zmq::message_t identity;  // empty for the frontend
    std::optional<message> msg;
    producer_table::sender_id sender{};
    std::uint64_t seq = 0;
    std::uint64_t first = 0;  // the key frame's oldest unacknowledged seq; 0: none
    bool keyed = false;       // the PUB had a key frame: store it with the record
    enum class state { stored, duplicate, ahead, failed } what = state::failed;
    std::uint64_t fseq = 0;
    std::int64_t stored_ns = 0;
    std::uint64_t previous_high = 0;
  };

  void rebuild_producers();
  void read_intake();
  void read_frontend();
  void take(item it, std::string_view topic, std::string_view envelope, bool strict);
  void finish_batch(std::uint64_t committed);
  void nack(std::string_view identity, std::string_view reason, const producer_table::sender_id* sender,
            std::uint64_t seq);
  void stop_full(const journal_full& e);

  forwarder_context& ctx_;
  std::optional<zmq::socket_t>& intake_;
  std::optional<zmq::socket_t>& frontend_;
  std::optional<zmq::socket_t>& live_;
  std::size_t max_batch_, max_message_size_;
  producer_table producers_;
  std::uint64_t checkpoint_base_ = 0;  // tail segment when the producer table was last saved
  bool full_ = false;
  std::vector<item> batch_;
  protocol::frames frames_;
  zmq::message_t identity_;
};

// Durable subscriptions on the replay ROUTER.
class replay_hub {
 public:
  replay_hub(forwarder_context& ctx, zmq::socket_t& socket, std::chrono::milliseconds ack_wait,
             std::chrono::milliseconds member_timeout);
  void on_readable();
  // Sends what credit allows, at most budget messages; true if it stopped
  // with more it could send right away.
  bool pump(std::size_t budget);
  void tick(clock::time_point now);  // redelivery after ack_wait, silent members
  void save_positions();  // named subscriptions whose position moved
  void update_rates(double seconds);
  std::vector<forwarder::metrics_snapshot::subscription> figures() const;

 private:
  struct inflight {
    std::string member;  // "" while waiting to be sent again
    clock::time_point deadline;
    topic_metrics* topic = nullptr;  // counts the acknowledgement as consumed
  };
  struct group {
    std::string name;  // "" for an unnamed subscription
    std::vector<std::string> prefixes;
    // Empty while a named group has no members: its reader holds a segment
    // open, so it is closed and the group kept at `parked` until one comes.
    std::optional<journal::reader> reader;
    std::uint64_t parked = 0;
    std::map<std::uint64_t, inflight> pending;
    std::set<std::uint64_t> resend;
    std::vector<std::string> members;
    std::size_t next_member = 0;
    std::uint64_t saved = 0;  // position last saved
    std::uint64_t delivered = 0, acked = 0;
    rate_meter acked_rate;
    std::uint64_t floor() const;
    bool matches(std::string_view topic) const;
  };
  struct member {
    std::string group_key;
    std::uint64_t credit = 0;
    clock::time_point last_seen;
  };

  void handle(const std::string& id, const protocol::frames& frames);
  std::optional<std::uint64_t> stored_position(const std::string& name);
  void subscribe(const std::string& id, const protocol::frames& frames);
  void leave(const std::string& id);
  void requeue(group& g, std::uint64_t fseq);
  std::optional<journal_record> read_at(std::uint64_t fseq);
  bool pump_group(group& g, std::size_t& budget, std::int64_t now_ns);
  void error_reply(const std::string& id, std::string_view reason);

  forwarder_context& ctx_;
  zmq::socket_t& socket_;
  std::chrono::milliseconds ack_wait_, member_timeout_;
  std::map<std::string, group> groups_;  // by name; unnamed ones by "\0" + member id
  std::unordered_map<std::string, member> members_;
  std::optional<journal::reader> redo_;  // reads records being sent again
  std::vector<std::string> gone_;        // members found disconnected while pumping
  protocol::frames frames_;
  zmq::message_t identity_;
};

// The forward-to link: this journal, sent to another forwarder's intake.
class forward_link {
 public:
  forward_link(forwarder_context& ctx, zmq::socket_t& socket, std::size_t window,
               std::chrono::milliseconds resend);
  // The link's DEALER: the forwarder's socket options, with heartbeat (0:
  // theirs) and no linger.
  static socket_options socket_settings(socket_options o, std::chrono::milliseconds heartbeat);
  void on_readable();
  bool pump(std::size_t budget);
  void tick(clock::time_point now);
  void save_position();  // if it moved
  forwarder::metrics_snapshot::link figures() const;

 private:
  void rewind(std::uint64_t fseq, std::uint64_t seq);

  forwarder_context& ctx_;
  zmq::socket_t& socket_;
  std::size_t window_;
  std::chrono::milliseconds resend_;
  journal::reader reader_;
  std::uint64_t next_seq_ = 1;
  std::deque<std::pair<std::uint64_t, std::uint64_t>> inflight_;  // (seq, fseq)
  std::uint64_t acked_seq_ = 0;
  clock::time_point last_progress_;
  std::pair<std::uint64_t, std::uint64_t> saved_{0, 0};
  protocol::frames frames_;
};

}  // namespace zmqkit::detail
