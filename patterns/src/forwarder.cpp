// The forwarder's actor loop. Each pass takes what the intake and the
// frontend have (up to max_batch messages), appends it to the journal, and
// commits once: that single commit (one fdatasync with the always policy) is
// the group commit, and while it runs ZeroMQ keeps queueing, so batches grow
// with the load. Only then are the senders acknowledged and the messages
// fanned out, so nothing is delivered or acknowledged that is not stored.
//
// A full disk stops the intake (senders are NACKed FULL and then held back
// by ZeroMQ's flow control) until space returns; positions that cannot be
// saved meanwhile are kept in memory and saved later. A failed fdatasync stops
// the forwarder: the journal is no longer trustworthy until reopened.
//
// Metrics cost one lookup of the topic per message stored and one per
// message sent to a durable subscription; rates are refreshed by the loop's
// 100 ms tick. Another thread reads them as a snapshot the actor builds when
// asked (metrics()), so nothing the actor touches per message is shared.
#include <zmqkit/forwarder.hpp>

#include <sys/statvfs.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include <zmqkit/cursor_store.hpp>
#include <zmqkit/producer_table.hpp>

#include "forwarder_parts.hpp"

namespace zmqkit {

using detail::clock;
using protocol::view;

struct forwarder::impl {
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

  options o;
  // Before j: the journal reports syncs from the moment it opens.
  latency_histogram sync_latency;
  event_metrics topics;
  journal j;
  cursor_store cursors;
  producer_id journal_id{};
  producer_table producers;
  counters c;
  detail::forwarder_context ctx;

  zmq::context_t& zctx;
  std::optional<zmq::socket_t> intake, frontend, live, replay, control, link;
  zmq::socket_t pipe_owner, pipe_actor;
  bound_endpoints bound;
  std::optional<detail::replay_hub> hub;
  std::optional<detail::forward_link> fwd;

  std::vector<item> batch;
  protocol::frames frames;
  zmq::message_t identity;  // of the intake message being read
  std::vector<zmq::pollitem_t> items;  // rebuilt each pass, kept to reuse its memory
  bool paused = false, full = false, stopping = false;
  std::uint64_t checkpoint_base = 0;  // tail segment when the producer table was last saved
  std::optional<std::string> failure;
  std::thread thread;
  std::shared_future<void> done;

  detail::rate_meter stored_rate, delivered_rate, acked_rate;
  clock::time_point last_rates = clock::now();
  // metrics(): other threads take a ticket and wait for the actor to answer it.
  struct snapshot_box {
    std::mutex m;
    std::condition_variable cv;
    std::uint64_t asked = 0, answered = 0;
    std::shared_ptr<const metrics_snapshot> latest;
    bool stopped = false;
    std::atomic<bool> wanted{false};  // the actor's cheap check each pass
  } box;

  impl(zmq::context_t& zc, options opts);
  void run() noexcept;
  void loop();
  void shutdown();

  void log(const std::string& line) const {
    if (o.on_log) o.on_log(line);
  }
  zmq::socket_t make(zmq::socket_type type, const socket_options& so) const;
  void load_identity();
  void rebuild_producers();
  void save_producers();

  void read_intake();
  void read_frontend();
  void take(item it, std::string_view topic, std::string_view envelope, bool strict);
  void commit_batch();
  void finish_batch(std::uint64_t committed);
  void nack(std::string_view identity, std::string_view reason, const producer_table::sender_id* sender,
            std::uint64_t seq);
  void handle_control();
  void handle_pipe();
  metrics_snapshot snapshot() const;
  void publish_snapshot();
  void update_rates(clock::time_point now);
  void statistics_reply();
  bool space_returned() const;
};

zmq::socket_t forwarder::impl::make(zmq::socket_type type, const socket_options& so) const {
  zmq::socket_t s(zctx, type);
  apply_socket_options(s, so, type);
  return s;
}

forwarder::impl::impl(zmq::context_t& zc, options opts)
    : o(std::move(opts)),
      j([&] {
        if (o.journal_dir.empty()) throw std::invalid_argument("forwarder: no journal directory");
        if (o.intake.empty() && o.frontend.empty())
          throw std::invalid_argument("forwarder: needs an intake or a frontend endpoint");
        if (o.link_heartbeat < 0ms || o.link_heartbeat > 3600s)
          throw std::invalid_argument("forwarder: link_heartbeat must be from 0 to 3600 s");
        auto jo = o.journal_options;
        if (!jo.on_problem) jo.on_problem = [this](const std::string& l) { log(l); };
        jo.on_sync = [this, theirs = jo.on_sync](std::chrono::nanoseconds d) {
          sync_latency.record(d.count());
          if (theirs) theirs(d);
        };
        return journal::open(o.journal_dir, jo);
      }()),
      cursors(o.journal_dir + "/cursors"),
      ctx{j, cursors, {}, c, topics, [this](const std::string& l) { log(l); }},
      zctx(zc),
      pipe_owner(zc, zmq::socket_type::pair),
      pipe_actor(zc, zmq::socket_type::pair) {
  load_identity();
  ctx.journal_id = journal_id;
  rebuild_producers();

  // Each role with endpoints gets its socket; an empty list leaves it off.
  const auto open = [&](std::optional<zmq::socket_t>& s, zmq::socket_type type,
                        const std::vector<endpoint>& eps, std::vector<std::string>& resolved,
                        const socket_options& so) {
    if (eps.empty()) return false;
    s.emplace(make(type, so));
    resolved = attach(*s, eps, o.socket.curve);
    return true;
  };
  open(intake, zmq::socket_type::router, o.intake, bound.intake, o.socket);
  if (open(frontend, zmq::socket_type::xsub, o.frontend, bound.frontend, o.socket)) {
    const char everything = 1;  // XSUB: subscribe to every topic
    (void)frontend->send(zmq::const_buffer(&everything, 1));
  }
  open(live, zmq::socket_type::xpub, o.live, bound.live, o.socket);
  if (open(replay, zmq::socket_type::router, o.replay, bound.replay, o.socket)) {
    replay->set(zmq::sockopt::router_mandatory, 1);  // a gone member: EHOSTUNREACH, not silence
    hub.emplace(ctx, *replay, o.ack_wait, o.member_timeout);
  }
  open(control, zmq::socket_type::rep, o.control, bound.control, o.socket);
  // The link notices a dead next hop in 3 heartbeats: a PING unanswered
  // that long on an idle link, or, on a busy one, data the next hop's
  // kernel has not acknowledged that long (TCP_USER_TIMEOUT): libzmq sends
  // a PING only once what it queued before has gone into the socket, so
  // with the path cut and the send buffer full, no PING would ever go.
  auto link_options = o.socket;
  // Whatever the link has sent stays in the journal until the next hop
  // acknowledges it, and goes again after a restart: nothing in its queue
  // is worth waiting for at close (a next hop that is down held the stop
  // for the whole linger).
  link_options.linger = std::chrono::milliseconds(0);
  if (o.link_heartbeat.count() > 0) {
    const auto silence = 3 * o.link_heartbeat;
    link_options.heartbeat_interval = o.link_heartbeat;
    link_options.heartbeat_timeout = silence;
    link_options.on_created = [silence, theirs = o.socket.on_created](zmq::socket_t& s) {
      s.set(zmq::sockopt::tcp_maxrt, static_cast<int>(silence.count()));
      s.set(zmq::sockopt::connect_timeout, static_cast<int>(silence.count()));
      if (theirs) theirs(s);
    };
  }
  if (open(link, zmq::socket_type::dealer, o.forward_to, bound.forward_to, link_options))
    fwd.emplace(ctx, *link, o.link_window, o.link_resend);
  const std::string pipe = "inproc://zmqkit-forwarder-" + to_hex(make_producer_id());
  pipe_actor.bind(pipe);
  pipe_owner.connect(pipe);
  checkpoint_base = j.segment_base();
}

void forwarder::impl::load_identity() {
  if (const auto v = cursors.load("journal-id")) {
    if (v->size() != journal_id.size()) throw decode_error("cursors/journal-id", "not 16 bytes");
    std::copy(v->begin(), v->end(), journal_id.begin());
    return;
  }
  journal_id = make_producer_id();
  cursors.save("journal-id", std::string_view(reinterpret_cast<const char*>(journal_id.data()),
                                              journal_id.size()));
}

// The duplicate table: the saved copy, then every record after it. The copy
// is saved whenever a segment fills, so this reads at most about a segment.
void forwarder::impl::rebuild_producers() {
  std::uint64_t from = j.first_fseq();
  try {
    if (const auto blob = cursors.load("producers")) from = producers.load(*blob) + 1;
  } catch (const decode_error& e) {
    ctx.damaged_cursor("producers", e, "rebuilding the duplicate table from the whole journal");
  }
  auto r = j.read_from(from);
  while (auto rec = r.next()) {
    producer_table::sender_id id;
    std::uint64_t seq;
    if (rec->key) {
      id = rec->key->sender;
      seq = rec->key->seq;
    } else {
      try {
        auto m = message::decode(zmq::message_t(rec->topic.data(), rec->topic.size()),
                                 zmq::message_t(rec->envelope.data(), rec->envelope.size()),
                                 SIZE_MAX);
        id = m.producer();
        seq = m.seq();
      } catch (const decode_error&) {
        continue;  // stored from a frontend that was checked: cannot happen, but never fatal
      }
    }
    if (seq > producers.high(id)) producers.record(id, seq);
  }
}

// On a full disk the older copy stays, and this is tried again after the
// next batch: a restart meanwhile reads a little more of the journal.
void forwarder::impl::save_producers() {
  if (ctx.try_save([&] { cursors.save("producers", producers.save(j.committed_fseq())); }))
    checkpoint_base = j.segment_base();
}

void forwarder::impl::nack(std::string_view identity, std::string_view reason,
                           const producer_table::sender_id* sender, std::uint64_t seq) {
  auto m = protocol::encode_nack(reason, sender ? protocol::sender_bytes(*sender) : "", seq);
  const auto bytes = m.bytes();
  if (protocol::send_frames(*intake, identity, m)) {
    c.front_out++;
    c.front_out_bytes += bytes;
  }
}

void forwarder::impl::take(item it, std::string_view topic, std::string_view envelope, bool strict) {
  switch (producers.check(it.sender, it.seq, strict, it.first)) {
    case producer_table::verdict::duplicate:
      it.what = item::state::duplicate;
      c.duplicates++;
      topics.topic(topic).duplicates++;
      break;
    case producer_table::verdict::ahead:
      it.what = item::state::ahead;
      c.refused++;
      break;
    case producer_table::verdict::store: {
      std::optional<record_key> key;
      if (it.keyed) key = record_key{it.sender, it.seq};
      it.stored_ns = unix_now_ns();
      it.fseq = j.append(it.stored_ns, topic, envelope, key);  // journal_full: it.what stays failed
      it.what = item::state::stored;
      it.previous_high = producers.record(it.sender, it.seq);
      break;
    }
  }
  batch.push_back(std::move(it));
}

void forwarder::impl::read_intake() {
  bool truncated = false;
  while (batch.size() < o.max_batch && protocol::receive_frames(*intake, frames, &truncated, 5, &identity)) {
    c.front_in++;
    c.front_in_bytes += identity.size();
    for (const auto& f : frames) c.front_in_bytes += f.size();
    const auto id = view(identity);
    std::optional<protocol::pub> p;
    if (truncated || !(p = protocol::decode_pub(frames))) {
      c.bad_frames++;
      nack(id, protocol::reason::bad_frame, nullptr, 0);
      continue;
    }
    const record_key* key = p->key ? &p->key->key : nullptr;
    if (p->topic.size() > max_topic_size ||
        p->envelope.size() > static_cast<std::size_t>(o.socket.max_message_size)) {
      c.too_big++;
      nack(id, protocol::reason::too_big, key ? &key->sender : nullptr, key ? key->seq : 0);
      continue;
    }
    item it;
    try {
      it.msg = message::decode(std::move(p->topic), std::move(p->envelope), SIZE_MAX);
    } catch (const decode_error&) {
      c.bad_frames++;
      nack(id, protocol::reason::bad_frame, key ? &key->sender : nullptr, key ? key->seq : 0);
      continue;
    }
    it.identity = std::move(identity);
    it.keyed = key != nullptr;
    it.sender = key ? key->sender : it.msg->producer();
    it.seq = key ? key->seq : it.msg->seq();
    it.first = p->key ? p->key->first : 0;
    const auto topic = it.msg->topic();
    const auto envelope = it.msg->envelope();
    take(std::move(it), topic, envelope, true);
  }
}

void forwarder::impl::read_frontend() {
  bool truncated = false;
  while (batch.size() < o.max_batch && protocol::receive_frames(*frontend, frames, &truncated, 3)) {
    c.front_in++;
    for (const auto& f : frames) c.front_in_bytes += f.size();
    // A plain publisher sends two frames; a forwarder's live output three.
    if (truncated || frames.size() < 2) {
      c.bad_frames++;
      continue;
    }
    item it;
    try {
      it.msg = message::decode(std::move(frames[0]), std::move(frames[1]),
                               static_cast<std::size_t>(o.socket.max_message_size));
    } catch (const decode_error&) {
      c.bad_frames++;
      continue;
    }
    it.sender = it.msg->producer();
    it.seq = it.msg->seq();
    const auto topic = it.msg->topic();
    const auto envelope = it.msg->envelope();
    take(std::move(it), topic, envelope, false);
  }
}

void forwarder::impl::commit_batch() {
  if (batch.empty()) return;
  std::uint64_t committed;
  try {
    committed = j.commit();
  } catch (const journal_full& e) {
    committed = j.committed_fseq();
    if (!full) log(std::string(e.what()) + "; intake stopped until space returns");
    full = true;
  }
  finish_batch(committed);
}

// Acknowledges and fans out what reached the journal; undoes and NACKs the
// rest (only after a full disk). Acknowledgements are cumulative: one per
// sender and connection, carrying the highest seq stored with no gap.
void forwarder::impl::finish_batch(std::uint64_t committed) {
  for (auto it = batch.rbegin(); it != batch.rend(); ++it)
    if (it->what == item::state::stored && it->fseq > committed) {
      producers.restore(it->sender, it->previous_high);
      it->what = item::state::failed;
    }
  std::vector<std::pair<std::string, producer_table::sender_id>> acks;
  const std::int64_t now = unix_now_ns();
  for (auto& it : batch) {
    const bool from_intake = it.identity.size() > 0;
    if (it.what == item::state::stored) {
      c.stored++;
      auto& t = topics.topic(it.msg->topic());
      t.events++;
      t.bytes += it.msg->wire_size();
      t.queued.record(it.stored_ns - it.msg->time_ns());
      if (live) {
        auto m = protocol::encode_live(it.msg->topic(), it.msg->envelope(), {journal_id, it.fseq, it.stored_ns, committed});
        const auto bytes = m.bytes();
        if (protocol::send_frames(*live, m)) {
          c.live_sent++;
          c.back_out++;
          c.back_out_bytes += bytes;
          t.transit.record(now - it.stored_ns);
        }
      }
    }
    if (!from_intake) continue;
    if (it.what == item::state::failed) {
      c.nacked_full++;
      nack(view(it.identity), protocol::reason::full, &it.sender, it.seq);
      continue;
    }
    std::pair<std::string, producer_table::sender_id> key{std::string(view(it.identity)), it.sender};
    if (std::find(acks.begin(), acks.end(), key) == acks.end()) acks.push_back(std::move(key));
  }
  for (const auto& [identity, sender] : acks) {
    const std::uint64_t high = producers.high(sender);
    if (high == 0) continue;
    auto m = protocol::encode_ack(protocol::sender_bytes(sender), high);
    const auto bytes = m.bytes();
    if (protocol::send_frames(*intake, identity, m)) {
      c.front_out++;
      c.front_out_bytes += bytes;
    }
  }
  batch.clear();
  if (j.segment_base() != checkpoint_base) save_producers();
}

forwarder::metrics_snapshot forwarder::impl::snapshot() const {
  metrics_snapshot m;
  m.journal_dir = j.directory();
  m.fsync = j.settings().sync.to_string();
  m.journal_stats = j.stats();
  m.sync_latency = sync_latency;
  m.paused = paused;
  m.full = full;
  m.counts = c;
  m.stored_per_s = stored_rate.per_s;
  m.delivered_per_s = delivered_rate.per_s;
  m.acked_per_s = acked_rate.per_s;
  m.topics = topics;
  if (hub) m.subscriptions = hub->figures();
  if (fwd) m.forward_to = fwd->figures();
  m.damaged_cursors = ctx.damaged_cursors;
  return m;
}

void forwarder::impl::publish_snapshot() {
  std::uint64_t ticket;
  {
    std::lock_guard<std::mutex> lock(box.m);
    ticket = box.asked;
    box.wanted = false;
  }
  auto latest = std::make_shared<const metrics_snapshot>(snapshot());
  {
    std::lock_guard<std::mutex> lock(box.m);
    box.latest = std::move(latest);
    box.answered = ticket;
  }
  box.cv.notify_all();
}

void forwarder::impl::update_rates(clock::time_point now) {
  topics.tick(now);
  const double secs = std::chrono::duration<double>(now - last_rates).count();
  if (secs < 1.0) return;
  last_rates = now;
  stored_rate.update(c.stored, secs);
  delivered_rate.update(c.live_sent + c.replay_sent, secs);
  acked_rate.update(c.replay_acked, secs);
  if (hub) hub->update_rates(secs);
}

void forwarder::impl::statistics_reply() {
  const protocol::statistics v = {c.front_in, c.front_in_bytes, c.front_out, c.front_out_bytes,
                                  c.back_in,  c.back_in_bytes,  c.back_out,  c.back_out_bytes};
  (void)protocol::send_frames(*control, protocol::encode_statistics(v));
}

void forwarder::impl::handle_control() {
  bool truncated = false;
  while (protocol::receive_frames(*control, frames, &truncated, 2)) {
    const std::string_view cmd = protocol::decode_control(frames, truncated);
    std::string reply(protocol::control::ok);
    if (cmd == protocol::control::pause) {
      paused = true;
    } else if (cmd == protocol::control::resume) {
      paused = false;
    } else if (cmd == protocol::control::terminate) {
      stopping = true;
    } else if (cmd == protocol::control::statistics) {
      statistics_reply();
      continue;
    } else if (cmd == protocol::control::stats) {
      reply = detail::stats_json(snapshot());
    } else {
      reply = protocol::encode_control_unknown(cmd);
    }
    (void)control->send(zmq::buffer(reply), zmq::send_flags::none);
  }
}

void forwarder::impl::handle_pipe() {
  bool truncated = false;
  while (protocol::receive_frames(pipe_actor, frames, &truncated, 1)) {
    if (view(frames[0]) == "STATS") {
      (void)pipe_actor.send(zmq::buffer(detail::stats_json(snapshot())), zmq::send_flags::none);
    } else {
      stopping = true;
    }
  }
}

void forwarder::impl::loop() {
  // Group commit pacing: a batch is committed at once if the last commit
  // started at least commit_interval ago, else it gathers until then (at
  // most max_batch). Only fdatasync is worth pacing.
  const auto commit_interval = o.journal_options.sync.mode == durability::policy::always
                                   ? clock::duration(o.commit_interval)
                                   : clock::duration::zero();
  auto last_commit = clock::time_point{};
  auto next_tick = clock::now();
  auto next_retention = clock::now();
  bool more = false;  // delivery stopped with work left: poll without waiting
  while (!stopping) {
    const auto now = clock::now();
    auto wake = next_tick;
    if (const auto d = j.sync_deadline()) wake = std::min(wake, *d);
    if (!batch.empty()) wake = std::min(wake, last_commit + commit_interval);
    const auto wait = more ? std::chrono::milliseconds(0)
                           : std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::max(wake - now, clock::duration::zero()) + std::chrono::microseconds(999));

    items.assign({{pipe_actor.handle(), 0, ZMQ_POLLIN, 0}});
    const auto add = [&](std::optional<zmq::socket_t>& s, bool on) -> int {
      if (!s || !on) return -1;
      items.push_back({s->handle(), 0, ZMQ_POLLIN, 0});
      return static_cast<int>(items.size() - 1);
    };
    const bool intake_open = !paused && !full;
    const int i_control = add(control, true);
    const int i_intake = add(intake, intake_open);
    const int i_frontend = add(frontend, intake_open);
    const int i_live = add(live, true);
    const int i_replay = add(replay, true);
    const int i_link = add(link, true);
    try {
      zmq::poll(items, wait);
    } catch (const zmq::error_t& e) {
      // A signal for the process may land on this thread (a tool's SIGTERM
      // handler, a profiler's timer): poll again, as after a timeout.
      if (e.num() != EINTR) throw;
      continue;
    }
    const auto ready = [&](int i) { return i >= 0 && (items[static_cast<std::size_t>(i)].revents & ZMQ_POLLIN); };

    if (ready(0)) handle_pipe();
    if (box.wanted.load(std::memory_order_relaxed)) publish_snapshot();
    if (ready(i_control)) handle_control();
    if (ready(i_live)) {  // subscriptions: XPUB tracks them itself; drain its copies
      bool t = false;
      while (protocol::receive_frames(*live, frames, &t, 1)) {
      }
    }
    try {
      if (ready(i_intake)) read_intake();
      if (ready(i_frontend)) read_frontend();
    } catch (const journal_full& e) {
      if (!full) log(std::string(e.what()) + "; intake stopped until space returns");
      full = true;
    }
    if (!batch.empty() &&
        (clock::now() >= last_commit + commit_interval || batch.size() >= o.max_batch)) {
      last_commit = clock::now();
      commit_batch();
    }
    j.sync_due();

    if (ready(i_replay)) hub->on_readable();
    if (ready(i_link)) fwd->on_readable();
    more = false;
    if (!paused) {
      if (hub && hub->pump(4096)) more = true;
      if (fwd && fwd->pump(4096)) more = true;
    }

    if (clock::now() >= next_tick) {
      const auto t = clock::now();
      next_tick = t + std::chrono::milliseconds(100);
      update_rates(t);
      if (hub) {
        hub->tick(t);
        hub->save_positions();
      }
      if (fwd) {
        fwd->tick(t);
        fwd->save_position();
      }
      if (full && space_returned()) {
        full = false;
        log("journal: space available again, intake resumed");
      }
      if (t >= next_retention) {
        next_retention = t + o.retention_check;
        if (j.enforce_retention() > 0) save_producers();
      }
    }
  }
}

// Intake resumes once the journal's filesystem has room for a few batches
// again; if the guess is wrong the next commit just finds the disk full again.
bool forwarder::impl::space_returned() const {
  struct statvfs sv {};
  if (::statvfs(o.journal_dir.c_str(), &sv) != 0) return false;
  return static_cast<std::uint64_t>(sv.f_bavail) * sv.f_frsize >= (256u << 10);
}

void forwarder::impl::shutdown() {
  // Stop taking; store and acknowledge what was taken; make it all durable.
  commit_batch();
  j.sync();
  if (hub) hub->save_positions();
  if (fwd) fwd->save_position();
  save_producers();
}

void forwarder::impl::run() noexcept {
  try {
    loop();
    shutdown();
  } catch (const std::exception& e) {
    failure = e.what();
    log(std::string("stopped: ") + e.what());
  }
  try {
    publish_snapshot();  // the last figures stay readable after the stop
  } catch (const std::exception&) {
    // out of memory: metrics() keeps the previous one
  }
  {
    std::lock_guard<std::mutex> lock(box.m);
    box.stopped = true;
  }
  box.cv.notify_all();
  // Sockets close here, on the thread that used them.
  intake.reset();
  frontend.reset();
  live.reset();
  replay.reset();
  control.reset();
  link.reset();
}

forwarder::forwarder(zmq::context_t& context, options opts)
    : p_(std::make_unique<impl>(context, std::move(opts))) {
  std::promise<void> finished;
  p_->done = finished.get_future().share();
  p_->thread = std::thread([p = p_.get(), f = std::move(finished)]() mutable {
    p->run();
    f.set_value();
  });
}

forwarder::~forwarder() { stop(); }

const forwarder::bound_endpoints& forwarder::endpoints() const noexcept { return p_->bound; }
const journal::open_report& forwarder::recovery() const noexcept { return p_->j.report(); }

bool forwarder::wait(std::chrono::milliseconds timeout) {
  if (timeout < std::chrono::milliseconds(0)) {
    p_->done.wait();
    return true;
  }
  return p_->done.wait_for(timeout) == std::future_status::ready;
}

void forwarder::stop() noexcept {
  if (!p_->thread.joinable()) return;
  try {
    (void)p_->pipe_owner.send(zmq::str_buffer("TERM"), zmq::send_flags::dontwait);
  } catch (const zmq::error_t&) {
    // the actor is gone already; join below
  }
  p_->thread.join();
}

std::optional<std::string> forwarder::failure() const {
  if (p_->done.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return std::nullopt;
  return p_->failure;
}

std::shared_ptr<const forwarder::metrics_snapshot> forwarder::metrics(std::chrono::milliseconds timeout) const {
  auto& box = p_->box;
  std::unique_lock<std::mutex> lock(box.m);
  if (box.stopped) return box.latest;
  const std::uint64_t ticket = ++box.asked;
  box.wanted = true;
  box.cv.wait_for(lock, timeout, [&] { return box.answered >= ticket || box.stopped; });
  return box.latest;
}

std::string forwarder::stats_json() {
  if (p_->done.wait_for(std::chrono::seconds(0)) == std::future_status::ready) return "";
  (void)p_->pipe_owner.send(zmq::str_buffer("STATS"), zmq::send_flags::none);
  zmq::message_t reply;
  // The actor answers within one pass of its loop, unless it is stopping.
  while (!p_->pipe_owner.recv(reply, zmq::recv_flags::dontwait)) {
    if (p_->done.wait_for(std::chrono::milliseconds(1)) == std::future_status::ready) return "";
  }
  return std::string(view(reply));
}

}  // namespace zmqkit
