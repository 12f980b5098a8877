#include <zmqkit/event_bus.hpp>

#include <algorithm>
#include <system_error>

#include <zmqkit/publisher.hpp>
#include <zmqkit/reliable_publisher.hpp>

namespace zmqkit {

event_bus::event_bus(zmq::context_t& context, subscriber::options source, options opts)
    : opts_(std::move(opts)), seen_(1), metrics_(opts_.max_topics) {
  check_options(false);
  source_.emplace<subscriber>(context, std::move(source));
}

event_bus::event_bus(zmq::context_t& context, puller::options source, options opts)
    : opts_(std::move(opts)), seen_(1), metrics_(opts_.max_topics) {
  check_options(false);
  source_.emplace<puller>(context, std::move(source));
}

event_bus::event_bus(zmq::context_t& context, durable_subscriber::options source, options opts)
    : opts_(std::move(opts)), seen_(1), metrics_(opts_.max_topics) {
  check_options(!source.name.empty());
  source_.emplace<durable_subscriber>(context, std::move(source));
}

void event_bus::check_options(bool durable_named) {
  if (opts_.max_attempts == 0) throw std::invalid_argument("event_bus: max_attempts must be at least 1");
  if (opts_.backoff.count() <= 0 || opts_.max_backoff < opts_.backoff)
    throw std::invalid_argument("event_bus: backoff must be positive and at most max_backoff");
  if (durable_named && opts_.dedup_file.empty())
    throw std::invalid_argument(
        "event_bus: a named durable subscription needs options::dedup_file, so that the events "
        "it handled stay known across restarts");
  seen_ = opts_.dedup_file.empty()
              ? dedup_window(opts_.dedup_window)
              : dedup_window::open(opts_.dedup_file, opts_.dedup_window, opts_.on_log);
}

event_bus& event_bus::on_message(std::string topic, std::function<void(const message&)> handler) {
  if (!handler) throw std::invalid_argument("event_bus: empty handler for " + topic);
  handlers_[std::move(topic)] = std::move(handler);
  return *this;
}

const counters* event_bus::source_counters() const noexcept {
  if (auto s = std::get_if<subscriber>(&source_)) return &s->stats();
  if (auto p = std::get_if<puller>(&source_)) return &p->stats();
  return nullptr;
}

const durable_subscriber::statistics* event_bus::durable_stats() const noexcept {
  auto d = std::get_if<durable_subscriber>(&source_);
  return d ? &d->stats() : nullptr;
}

std::optional<message> event_bus::receive(std::chrono::milliseconds timeout) {
  return std::visit(
      [&](auto& s) -> std::optional<message> {
        if constexpr (std::is_same_v<std::decay_t<decltype(s)>, std::monostate>)
          return std::nullopt;
        else
          return s.receive(timeout);
      },
      source_);
}

bool event_bus::poll(std::chrono::milliseconds timeout) {
  metrics_.tick();
  auto wait = timeout;
  if (!retries_.empty()) {
    const auto now = clock::now();
    const auto due = retries_.begin()->first;
    if (due <= now) {
      auto node = retries_.extract(retries_.begin());
      ++stats_.retries;
      attempt(std::move(node.mapped()));
      return true;
    }
    const auto until = std::chrono::ceil<std::chrono::milliseconds>(due - now);
    if (wait.count() < 0 || until < wait) wait = until;
  }
  auto m = receive(wait);
  if (!m) return false;
  accept(std::move(*m));
  return true;
}

void event_bus::run() {
  while (!stop_) {
    try {
      (void)poll(std::chrono::milliseconds(200));
    } catch (const error& e) {
      if (e.code() == std::errc::interrupted && stop_) break;  // the signal that called stop()
      throw;
    }
  }
  stop_ = false;  // ready to run again
}

void event_bus::accept(message m) {
  ++stats_.received;
  auto& t = metrics_.received(m, unix_now_ns());
  if (m.position()) backlog_ = m.position()->backlog();
  pending p{std::move(m), 0, {}};
  const auto k = key_of(p.msg);
  if (seen_.contains(k.producer, k.seq)) {
    ++stats_.duplicates;
    ++t.duplicates;
    settle(p);
    return;
  }
  if (auto w = waiting_.find(k); w != waiting_.end()) {
    // A copy of an event waiting for its retry: settled with it.
    ++stats_.duplicates;
    ++t.duplicates;
    if (p.msg.position()) w->second.push_back(p.msg.position()->fseq);
    return;
  }
  attempt(std::move(p));
}

void event_bus::attempt(pending p) {
  auto& t = metrics_.topic(p.msg.topic());
  const auto h = handlers_.find(p.msg.topic());
  if (h == handlers_.end()) {
    ++stats_.unhandled;
    done(p);
    return;
  }
  ++p.attempts;
  const auto start = clock::now();
  std::string error;
  bool permanent = false;
  try {
    h->second(p.msg);
    t.handler.record(std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - start).count());
    ++t.consumed;
    ++stats_.handled;
    done(p);
    return;
  } catch (const decode_error& e) {
    error = e.what();
    permanent = true;
  } catch (const permanent_error& e) {
    error = e.what();
    permanent = true;
  } catch (const std::exception& e) {
    error = e.what();
  } catch (...) {
    error = "unknown exception";
  }
  t.handler.record(std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - start).count());
  ++t.failures;
  ++stats_.failures;
  failed(std::move(p), error.empty() ? "exception without a message" : error, permanent);
}

void event_bus::failed(pending p, const std::string& error, bool permanent) {
  if (permanent || p.attempts >= opts_.max_attempts) {
    dead_letter(std::move(p), error);
    return;
  }
  auto delay = opts_.backoff;
  for (unsigned i = 1; i < p.attempts && delay < opts_.max_backoff; ++i) delay *= 2;
  delay = std::min(delay, opts_.max_backoff);
  const auto k = key_of(p.msg);
  auto also = std::move(p.also);
  waiting_[k].insert(waiting_[k].end(), also.begin(), also.end());
  retries_.emplace(clock::now() + delay, std::move(p));
}

void event_bus::dead_letter(pending p, const std::string& error) {
  auto& t = metrics_.topic(p.msg.topic());
  const auto& m = p.msg;
  headers hdrs;
  hdrs.reserve(m.header_count() + 6);
  for (std::size_t i = 0; i < m.header_count(); ++i) {
    const auto [k, v] = m.header(i);
    hdrs.emplace_back(k, v);
  }
  hdrs.emplace_back("zmqkit.error", error.substr(0, 1024));
  hdrs.emplace_back("zmqkit.attempts", std::to_string(p.attempts));
  hdrs.emplace_back("zmqkit.topic", m.topic());
  hdrs.emplace_back("zmqkit.producer", to_hex(m.producer()));
  hdrs.emplace_back("zmqkit.seq", std::to_string(m.seq()));
  if (m.position()) hdrs.emplace_back("zmqkit.fseq", std::to_string(m.position()->fseq));

  const std::string what = "event " + std::string(m.topic()) + " " + to_hex(m.producer()) + "/" +
                           std::to_string(m.seq()) + " failed " + std::to_string(p.attempts) +
                           " time(s): " + error;
  bool taken = true;
  if (opts_.dead_letters) {
    try {
      taken = opts_.dead_letters(opts_.dead_letter_topic, m, hdrs);
    } catch (const std::exception& e) {
      taken = false;
      log("dead letter sink: " + std::string(e.what()));
    }
  } else {
    log(what + "; no dead-letter sink, dropped");
  }
  if (!taken) {
    ++stats_.sink_failures;
    auto* durable = std::get_if<durable_subscriber>(&source_);
    if (durable && m.position()) {
      // Not settled: the forwarder sends it again and it starts over.
      log(what + "; the dead-letter sink did not take it, given back to the forwarder");
      waiting_.erase(key_of(m));
      durable->nack(m.position()->fseq);
      for (const auto fseq : p.also) durable->nack(fseq);
      return;
    }
    log(what + "; the dead-letter sink did not take it, dropped");
  } else if (opts_.dead_letters) {
    log(what + "; sent to " + opts_.dead_letter_topic);
  }
  ++stats_.dead_lettered;
  ++t.dead_lettered;
  done(p);
}

void event_bus::done(pending& p) {
  const auto k = key_of(p.msg);
  try {
    seen_.insert(k.producer, k.seq);
  } catch (const error& e) {
    // Settled all the same: it will not come again unless the ack is lost,
    // and then it is handled twice, which at-least-once allows.
    log(std::string("dedup window not saved: ") + e.what());
  }
  if (auto w = waiting_.find(k); w != waiting_.end()) {
    p.also.insert(p.also.end(), w->second.begin(), w->second.end());
    waiting_.erase(w);
  }
  settle(p);
}

void event_bus::settle(const pending& p) {
  auto* durable = std::get_if<durable_subscriber>(&source_);
  if (!durable) return;
  if (p.msg.position()) durable->ack(p.msg.position()->fseq);
  for (const auto fseq : p.also) durable->ack(fseq);
}

event_bus::dead_letter_sink event_bus::to(reliable_publisher& pub, std::chrono::milliseconds timeout) {
  return [&pub, timeout](std::string_view topic, const message& original, const headers& hdrs) {
    return pub.publish(topic, packed(original.payload_msgpack()), hdrs) && pub.flush(timeout);
  };
}

event_bus::dead_letter_sink event_bus::to(publisher& pub) {
  return [&pub](std::string_view topic, const message& original, const headers& hdrs) {
    return pub.publish(topic, packed(original.payload_msgpack()), hdrs);
  };
}

}  // namespace zmqkit
