// pusher semantics. PUSH load-balances round-robin over pullers whose
// queues have room, and blocks (never drops) when none has: the send
// timeout bounds that wait. A timed-out message is not committed to the
// sequence, so pullers see no gap for a message that was never sent.
//
// Pullers are counted from the socket monitor's handshake events, from
// construction, so a puller that connected before wait_for_pullers() is
// not missed, to the first push. The monitor then stops: libzmq queues
// events until someone reads them, and after the first push nobody would.
#include <zmqkit/pusher.hpp>

#include <stdexcept>

#include <zmqkit/detail/zmq_error.hpp>

namespace zmqkit {

using namespace std::chrono_literals;

namespace {
// The events of a connection's life. Not ZMQ_EVENT_ALL: an event sent
// while bind() fails (BIND_FAILED) overwrites its errno, and "bind tcp://
// 999.1.1.1:1" then failed with EAGAIN instead of EINVAL.
constexpr int counted_events =
    ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED |
    ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
    ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
    ZMQ_EVENT_MONITOR_STOPPED;
}  // namespace

pusher::pusher(zmq::context_t& context, options opts)
    : socket_(detail::translate("create PUSH socket",
                                [&] { return zmq::socket_t(context, zmq::socket_type::push); })),
      on_event_(std::move(opts.on_event)),
      max_size_(static_cast<std::size_t>(opts.socket.max_message_size)) {
  // Before the options, so that a monitor socket.on_created attaches takes
  // over (libzmq keeps one per socket) instead of being silently stopped.
  monitor_.emplace(context, socket_, counted_events);
  apply_socket_options(socket_, opts.socket, zmq::socket_type::push);
  detail::translate("pusher options", [&] {
    socket_.set(zmq::sockopt::sndtimeo, static_cast<int>(opts.send_timeout.count()));
  });
  endpoints_ = attach(socket_, opts.endpoints, opts.socket.curve);
}

bool pusher::send(std::string_view topic, zmq::message_t& body) {
  if (monitor_) stop_counting();
  if (!send_message(socket_, topic, body, zmq::send_flags::none, max_size_)) {
    ++stats_.timeouts;
    return false;
  }
  writer_.commit();
  ++stats_.sent;
  return true;
}

void pusher::read_events(std::chrono::milliseconds wait) {
  if (!monitor_) return;
  for (auto e = monitor_->next(wait); e; e = monitor_->next(0ms)) {
    if (e->id == ZMQ_EVENT_MONITOR_STOPPED) {  // another monitor took over, or we stopped it
      monitor_.reset();
      return;
    }
    pullers_.record(*e);
    if (on_event_) on_event_(*e);
  }
}

void pusher::stop_counting() {
  read_events(0ms);
  if (!monitor_) return;
  // Still ours: stop it. libzmq queues MONITOR_STOPPED behind the events
  // not read yet, and the calling thread sent it, so reading finds it now.
  zmq_socket_monitor(socket_.handle(), nullptr, 0);
  read_events(0ms);
  monitor_.reset();
}

std::size_t pusher::pullers() {
  read_events(0ms);
  return pullers_.connections();
}

bool pusher::wait_for_pullers(std::size_t n, std::chrono::milliseconds timeout) {
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + timeout;
  const auto counting = [this] {
    read_events(0ms);
    if (!monitor_)
      throw std::logic_error(
          "pusher: wait_for_pullers after the first push, or with the socket's monitor taken "
          "by another (libzmq keeps one per socket)");
  };
  counting();
  while (pullers_.connections() < n) {
    auto wait = forever;
    if (timeout.count() >= 0) {
      wait = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now());
      if (wait.count() <= 0) return false;
    }
    read_events(wait);
    counting();
  }
  // libzmq hands a connection to the socket in a command sent before the
  // handshake event, but a send takes the socket's commands at most once a
  // millisecond: a push right now could still miss the last puller
  // counted. Reading ZMQ_EVENTS takes them at once.
  detail::translate("read socket events", [&] { (void)socket_.get(zmq::sockopt::events); });
  return true;
}

}  // namespace zmqkit
