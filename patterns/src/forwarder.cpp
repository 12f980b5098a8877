// The forwarder's actor: its lifecycle and its loop. Each pass takes what
// the intake and the frontend have (up to max_batch messages, intake_hub),
// appends it to the journal, and commits once: that single commit (one
// fdatasync with the always policy) is the group commit, and while it runs
// ZeroMQ keeps queueing, so batches grow with the load. Only then are the
// senders acknowledged and the messages fanned out, so nothing is delivered
// or acknowledged that is not stored. Then durable subscriptions
// (replay_hub) and the forward-to link (forward_link) send what they may.
//
// A full disk stops the intake (senders are NACKed FULL and then held back
// by ZeroMQ's flow control) until space returns; positions that cannot be
// saved meanwhile are kept in memory and saved later. A failed fdatasync stops
// the forwarder: the journal is no longer trustworthy until reopened.
//
// Metrics cost one lookup of the topic per message stored and one per
// message sent to a durable subscription; rates are refreshed by the loop's
// 100 ms tick. Another thread reads them as a snapshot the actor builds when
// asked (metrics(), and stats_json() made from it), so nothing the actor
// touches per message is shared. The owner steers the actor over an inproc
// pipe, which carries one command: TERM.
#include <zmqkit/forwarder.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include <zmqkit/cursor_store.hpp>

#include "forwarder_parts.hpp"

namespace zmqkit {

using detail::clock;

struct forwarder::impl {
  options o;
  // Before j: the journal reports syncs from the moment it opens.
  latency_histogram sync_latency;
  event_metrics topics;
  journal j;
  cursor_store cursors;
  producer_id journal_id{};
  counters c;
  detail::forwarder_context ctx;

  zmq::context_t& zctx;
  std::optional<zmq::socket_t> intake, frontend, live, replay, control, link;
  zmq::socket_t pipe_owner, pipe_actor;
  bound_endpoints bound;
  std::optional<detail::intake_hub> in;
  std::optional<detail::replay_hub> hub;
  std::optional<detail::forward_link> fwd;

  protocol::frames frames;
  std::vector<zmq::pollitem_t> items;  // rebuilt each pass, kept to reuse its memory
  bool paused = false, stopping = false;
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

  void handle_control();
  void handle_pipe();
  metrics_snapshot snapshot() const;
  void publish_snapshot();
  // metrics(), stats_json(): asks the actor for a snapshot and waits up to
  // timeout (no limit without one) for it; then the latest there is.
  std::shared_ptr<const metrics_snapshot> ask(std::optional<std::chrono::milliseconds> timeout);
  void update_rates(clock::time_point now);
  void statistics_reply();
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
        if (o.link_heartbeat < std::chrono::seconds(0) || o.link_heartbeat > std::chrono::seconds(3600))
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
  in.emplace(ctx, intake, frontend, live, o.max_batch, static_cast<std::size_t>(o.socket.max_message_size));

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
  if (open(link, zmq::socket_type::dealer, o.forward_to, bound.forward_to,
           detail::forward_link::socket_settings(o.socket, o.link_heartbeat)))
    fwd.emplace(ctx, *link, o.link_window, o.link_resend);
  const std::string pipe = "inproc://zmqkit-forwarder-" + to_hex(make_producer_id());
  pipe_actor.bind(pipe);
  pipe_owner.connect(pipe);
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

forwarder::metrics_snapshot forwarder::impl::snapshot() const {
  metrics_snapshot m;
  m.journal_dir = j.directory();
  m.fsync = j.settings().sync.to_string();
  m.journal_stats = j.stats();
  m.sync_latency = sync_latency;
  m.paused = paused;
  m.full = in->full();
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

// The pipe carries TERM only (stop()).
void forwarder::impl::handle_pipe() {
  bool truncated = false;
  while (protocol::receive_frames(pipe_actor, frames, &truncated, 1)) stopping = true;
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
    if (in->batched() > 0) wake = std::min(wake, last_commit + commit_interval);
    const auto wait = more ? std::chrono::milliseconds(0)
                           : std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::max(wake - now, clock::duration::zero()) + std::chrono::microseconds(999));

    items.assign({{pipe_actor.handle(), 0, ZMQ_POLLIN, 0}});
    const auto add = [&](std::optional<zmq::socket_t>& s, bool on) -> int {
      if (!s || !on) return -1;
      items.push_back({s->handle(), 0, ZMQ_POLLIN, 0});
      return static_cast<int>(items.size() - 1);
    };
    const bool intake_open = !paused && !in->full();
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
    if (ready(i_intake) || ready(i_frontend)) in->read(ready(i_intake), ready(i_frontend));
    if (in->batched() > 0 &&
        (clock::now() >= last_commit + commit_interval || in->batched() >= o.max_batch)) {
      last_commit = clock::now();
      in->commit();
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
      if (in->full()) in->resume_if_space();
      if (t >= next_retention) {
        next_retention = t + o.retention_check;
        if (j.enforce_retention() > 0) in->save_producers();
      }
    }
  }
}

void forwarder::impl::shutdown() {
  // Stop taking; store and acknowledge what was taken; make it all durable.
  in->commit();
  j.sync();
  if (hub) hub->save_positions();
  if (fwd) fwd->save_position();
  in->save_producers();
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

std::shared_ptr<const forwarder::metrics_snapshot> forwarder::impl::ask(
    std::optional<std::chrono::milliseconds> timeout) {
  std::unique_lock<std::mutex> lock(box.m);
  if (box.stopped) return box.latest;
  const std::uint64_t ticket = ++box.asked;
  box.wanted = true;
  const auto answered = [&] { return box.answered >= ticket || box.stopped; };
  if (timeout)
    box.cv.wait_for(lock, *timeout, answered);
  else
    box.cv.wait(lock, answered);  // run() sets stopped on every way out
  return box.latest;
}

std::shared_ptr<const forwarder::metrics_snapshot> forwarder::metrics(std::chrono::milliseconds timeout) const {
  return p_->ask(timeout);
}

std::string forwarder::stats_json() {
  if (p_->done.wait_for(std::chrono::seconds(0)) == std::future_status::ready) return "";
  const auto m = p_->ask(std::nullopt);
  return m ? detail::stats_json(*m) : "";
}

}  // namespace zmqkit
