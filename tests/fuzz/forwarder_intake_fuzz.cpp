// Fuzz target: a real zmqkit::forwarder (its actor thread, its journal in a
// fresh directory) fed fuzzed multipart messages over inproc on its intake
// ROUTER, its replay ROUTER, its control REP and its forward-to DEALER
// (docs/protocol.md, "The durable forwarder").
//
// Input: messages separated by the byte 0x1e. A message's first byte says
// who sends it: 'I' or 'J' to the intake, 'R' or 'S' to the replay, 'C' to
// the control, 'L' as the next hop answering the forward-to link, 'W' waits
// (below); anything else is 'I'. The rest is its frames, separated by 0x1f.
// At most 64 messages of 8 frames each.
//
// The peers connect and queue every message before the first 'W' before the
// forwarder binds (inproc allows a connect before the bind), so that its
// first pass usually finds them all and handles them in its own fixed
// order: control, intake, commit, replay, then deliveries. A 'W' starts the
// forwarder if it is not running yet and waits until it has finished the
// pass it was in (two STATISTICS requests from a control peer of its own,
// each answered at the start of a pass), so that what follows meets
// messages it has sent, e.g. an ACK of a delivered fseq; at most 8 count.
// How the actor splits messages into passes still depends on timing now
// and then (seen in a process's first run: a peer's early messages handled
// in a later pass, together with what it sent after a 'W'), so a run is not
// exactly repeatable: coverage varies a little, which libFuzzer copes with,
// and a crash is reported with its input all the same. The journal id is
// fixed, so an 'L' answer can name it. No input may stop the forwarder: it
// must end without a failure.
#include <zmqkit/cursor_store.hpp>
#include <zmqkit/forwarder.hpp>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "fuzz_support.hpp"

namespace {

using namespace zmqkit;
using fuzz::check;

constexpr char message_separator = 0x1e;
constexpr char frame_separator = 0x1f;
constexpr std::size_t max_messages = 64;
constexpr std::size_t max_frames = 8;
constexpr int max_waits = 8;
constexpr std::string_view journal_id = "fuzz-journal-id!";  // 16 bytes

struct peer_message {
  char peer;
  std::vector<std::string_view> frames;
};

std::vector<peer_message> split(std::string_view input) {
  std::vector<peer_message> out;
  while (!input.empty() && out.size() < max_messages) {
    const auto end = input.find(message_separator);
    std::string_view m = input.substr(0, end);
    input = end == std::string_view::npos ? std::string_view() : input.substr(end + 1);
    if (m.empty()) continue;
    peer_message pm{m.front(), {}};
    m.remove_prefix(1);
    for (;;) {
      const auto f = m.find(frame_separator);
      pm.frames.push_back(m.substr(0, f));
      if (f == std::string_view::npos || pm.frames.size() == max_frames) break;
      m.remove_prefix(f + 1);
    }
    out.push_back(std::move(pm));
  }
  return out;
}

zmq::socket_t dealer(zmq::context_t& ctx, const char* id) {
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.set(zmq::sockopt::routing_id, id);
  return s;
}

struct peers {
  explicit peers(zmq::context_t& ctx)
      : intake_i(dealer(ctx, "I")),
        intake_j(dealer(ctx, "J")),
        replay_r(dealer(ctx, "R")),
        replay_s(dealer(ctx, "S")),
        control(dealer(ctx, "C")),
        next_hop(dealer(ctx, "L")),
        waiter(dealer(ctx, "W")) {
    intake_i.connect("inproc://intake");
    intake_j.connect("inproc://intake");
    replay_r.connect("inproc://replay");
    replay_s.connect("inproc://replay");
    control.connect("inproc://control");
    waiter.connect("inproc://control");
    next_hop.bind("inproc://next-hop");  // a DEALER talks to the link's DEALER
  }

  // One control round trip: answered at the start of the actor's next pass.
  // False once the actor has stopped (a TERMINATE in the input).
  bool round_trip(forwarder& f) {
    if (!waiter.send(zmq::const_buffer("", 0), zmq::send_flags::sndmore | zmq::send_flags::dontwait) ||
        !waiter.send(zmq::str_buffer("STATISTICS"), zmq::send_flags::dontwait))
      return false;
    for (;;) {
      zmq::pollitem_t item{waiter.handle(), 0, ZMQ_POLLIN, 0};
      try {
        if (zmq::poll(&item, 1, std::chrono::milliseconds(100)) > 0) break;
      } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) throw;  // libFuzzer's timer (SIGALRM) lands on any thread
      }
      if (f.wait(std::chrono::milliseconds(0))) return false;
    }
    zmq::message_t part;
    do {
      (void)waiter.recv(part);
    } while (part.more());
    return true;
  }

  // Without waiting: a message that does not fit (HWM) is dropped.
  void send(const peer_message& m) {
    zmq::socket_t& s = m.peer == 'J'   ? intake_j
                       : m.peer == 'R' ? replay_r
                       : m.peer == 'S' ? replay_s
                       : m.peer == 'C' ? control
                       : m.peer == 'L' ? next_hop
                                       : intake_i;
    // A REP wants the empty delimiter a REQ would put first.
    if (m.peer == 'C' && !s.send(zmq::const_buffer("", 0), zmq::send_flags::sndmore | zmq::send_flags::dontwait))
      return;
    for (std::size_t i = 0; i < m.frames.size(); ++i) {
      const auto more = i + 1 < m.frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
      if (!s.send(zmq::const_buffer(m.frames[i].data(), m.frames[i].size()), more | zmq::send_flags::dontwait))
        return;
    }
  }

  zmq::socket_t intake_i, intake_j, replay_r, replay_s, control, next_hop, waiter;
};

forwarder::options settings(const std::string& dir) {
  forwarder::options o;
  o.journal_dir = dir;
  o.journal_options.sync = durability::parse("never");
  o.journal_options.segment_bytes = 4096;  // rolls, and producer table checkpoints
  o.intake = {endpoint::bind("inproc://intake")};
  o.replay = {endpoint::bind("inproc://replay")};
  o.control = {endpoint::bind("inproc://control")};
  o.forward_to = {endpoint::connect("inproc://next-hop")};
  o.socket.linger = std::chrono::milliseconds(0);
  o.socket.max_message_size = 512;             // TOO_BIG within reach
  o.ack_wait = std::chrono::milliseconds(0);   // redelivery at the first tick
  return o;
}

unsigned long long ull(std::uint64_t v) { return v; }

// ZMQKIT_FUZZ_VERBOSE=1: one line of counters per input, to see what a
// corpus file does (build-fuzz/fuzz_forwarder_intake FILE).
const bool verbose = std::getenv("ZMQKIT_FUZZ_VERBOSE") != nullptr;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto messages = split(fuzz::as_view(data, size));
  fuzz::temp_dir tmp("zmqkit-fuzz-forwarder");
  cursor_store(tmp / "cursors").save("journal-id", journal_id);

  zmq::context_t ctx(0);  // inproc only: no I/O thread
  {
    peers p(ctx);
    std::optional<forwarder> f;
    std::vector<const peer_message*> early_answers;  // 'L' before the link exists
    const auto start = [&] {
      if (f) return;
      f.emplace(ctx, settings(tmp.path()));
      for (const auto* m : early_answers) p.send(*m);
    };
    int waits = 0;
    for (const auto& m : messages) {
      if (m.peer == 'W') {
        if (++waits > max_waits) continue;
        start();
        // The first answer comes at the start of pass k, the second at the
        // start of a later pass: pass k is done.
        if (p.round_trip(*f)) (void)p.round_trip(*f);
      } else if (m.peer == 'L' && !f) {
        early_answers.push_back(&m);
      } else {
        p.send(m);
      }
    }
    start();
    f->stop();
    if (const auto why = f->failure()) {
      std::fprintf(stderr, "forwarder failed: %s\n", why->c_str());
      check(false, "no input stops the forwarder");
    }
    const auto metrics = f->metrics();  // its last figures, kept after the stop
    check(metrics && metrics->counts.stored <= metrics->counts.front_in, "the forwarder counts what it took");
    if (verbose) {
      const auto& c = metrics->counts;
      std::fprintf(stderr,
                   "forwarder: %zu messages; front_in %llu stored %llu duplicates %llu refused %llu "
                   "too_big %llu bad_frames %llu replay_sent %llu redelivered %llu replay_acked %llu "
                   "link_sent %llu link_acked %llu link_dropped %llu back_in %llu\n",
                   messages.size(), ull(c.front_in), ull(c.stored), ull(c.duplicates), ull(c.refused),
                   ull(c.too_big), ull(c.bad_frames), ull(c.replay_sent), ull(c.redelivered),
                   ull(c.replay_acked), ull(c.link_sent), ull(c.link_acked), ull(c.link_dropped),
                   ull(c.back_in));
    }
    f.reset();
  }
  ctx.close();
  return 0;
}
