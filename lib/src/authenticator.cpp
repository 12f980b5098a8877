// The ZAP handler's thread. Requests arrive on a REP socket bound to
// inproc://zeromq.zap.01 (libzmq's sessions connect there, one request per
// handshake): version "1.0", request id, domain, address, routing id,
// mechanism, then the mechanism's credentials (for CURVE the client's
// 32-byte public key). Every request gets a reply, malformed or not, so no
// handshake is left waiting.
#include <zmqkit/authenticator.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <set>

#include <zmqkit/curve.hpp>
#include <zmqkit/detail/zmq_error.hpp>
#include <zmqkit/error.hpp>

namespace zmqkit {
namespace {

constexpr const char* zap_endpoint = "inproc://zeromq.zap.01";
constexpr std::size_t max_request_frames = 16;

std::string_view view(const zmq::message_t& m) {
  return {static_cast<const char*>(m.data()), m.size()};
}

std::string z85(std::string_view key32) {
  std::array<char, z85_key_size + 1> text{};
  if (key32.size() != 32 ||
      zmq_z85_encode(text.data(), reinterpret_cast<const std::uint8_t*>(key32.data()), 32) ==
          nullptr)
    return "(not a 32-byte key)";
  return text.data();
}

}  // namespace

struct authenticator::state {
  zap_policy policy;
  std::string domain;
  std::function<void(const std::string&)> on_log;
  std::atomic<std::uint64_t> accepted{0}, refused{0};
  // Owned by the handler's thread once it runs.
  std::set<std::string> keys;
  struct timespec dir_mtime {}, dir_ctime{};
  ino_t dir_inode = 0;

  void log(const std::string& line) const {
    if (on_log) on_log(line);
  }

  // Re-reads the allow list when the directory changed since the last read.
  // A directory that went away leaves nobody allowed.
  void refresh_keys(bool first) {
    struct stat st {};
    if (::stat(policy.allow_dir.c_str(), &st) != 0) {
      if (!first && !keys.empty()) log(policy.allow_dir + ": gone; no key is allowed now");
      keys.clear();
      dir_inode = 0;
      if (first) throw key_error(policy.allow_dir + ": cannot read the allow-list directory");
      return;
    }
    if (!first && st.st_ino == dir_inode && st.st_mtim.tv_sec == dir_mtime.tv_sec &&
        st.st_mtim.tv_nsec == dir_mtime.tv_nsec && st.st_ctim.tv_sec == dir_ctime.tv_sec &&
        st.st_ctim.tv_nsec == dir_ctime.tv_nsec)
      return;
    key_directory found;
    try {
      found = load_public_keys(policy.allow_dir);
    } catch (const key_error& e) {
      if (first) throw;
      log(std::string(e.what()) + "; no key is allowed now");
      keys.clear();
      dir_inode = 0;
      return;
    }
    if (first && !found.problems.empty())
      throw key_error(found.problems.front() +
                      (found.problems.size() > 1
                           ? " (and " + std::to_string(found.problems.size() - 1) + " more)"
                           : std::string()));
    for (const auto& p : found.problems) log("allow list: skipped " + p);
    keys = std::move(found.keys);
    dir_inode = st.st_ino;
    dir_mtime = st.st_mtim;
    dir_ctime = st.st_ctim;
  }

  // Status code, text and user id for one request's fields.
  struct verdict {
    const char* code;
    std::string text, user;
  };
  verdict decide(std::string_view dom, std::string_view address, std::string_view mechanism,
                 const zmq::message_t* credential) {
    const auto has = [&](const std::vector<std::string>& list) {
      return std::find(list.begin(), list.end(), address) != list.end();
    };
    if (dom != domain) return {"400", "unknown domain", {}};
    if (has(policy.deny_addresses)) return {"400", "address denied", {}};
    if (!policy.allow_addresses.empty() && !has(policy.allow_addresses))
      return {"400", "address not allowed", {}};
    if (mechanism != "CURVE") return {"400", "CURVE required", {}};
    if (credential == nullptr || credential->size() != 32) return {"400", "no CURVE key", {}};
    refresh_keys(false);
    const auto key = std::string(view(*credential));
    if (keys.count(key) == 0) return {"400", "key not allowed", z85(key)};
    return {"200", "OK", z85(key)};
  }

  void serve_one(zmq::socket_t& zap) {
    std::vector<zmq::message_t> frames;
    do {
      zmq::message_t m;
      if (!zap.recv(m, zmq::recv_flags::none)) return;
      if (frames.size() < max_request_frames) frames.push_back(std::move(m));
    } while (zap.get(zmq::sockopt::rcvmore) != 0);

    std::string request_id;
    verdict v{"500", "malformed ZAP request", {}};
    if (frames.size() >= 6 && view(frames[0]) == "1.0") {
      request_id = std::string(view(frames[1]));
      v = decide(view(frames[2]), view(frames[3]), view(frames[5]),
                 frames.size() >= 7 ? &frames[6] : nullptr);
    } else if (frames.size() >= 2) {
      request_id = std::string(view(frames[1]));
    }
    if (v.code == std::string_view("200")) {
      ++accepted;
    } else {
      ++refused;
      const auto address = frames.size() >= 4 ? std::string(view(frames[3])) : std::string("?");
      const auto mechanism = frames.size() >= 6 ? std::string(view(frames[5])) : std::string("?");
      log("refused " + address + " (" + mechanism + "): " + v.text +
          (v.user.empty() ? std::string() : " " + v.user));
    }
    // Both arms are views: `? v.user : ""` would make a temporary string
    // that dies before the views are sent.
    const std::string_view user = v.code == std::string_view("200") ? std::string_view(v.user) : "";
    const std::array<std::string_view, 6> reply{"1.0", request_id, v.code, v.text, user, ""};
    for (std::size_t i = 0; i < reply.size(); ++i)
      zap.send(zmq::buffer(reply[i]),
               i + 1 < reply.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
};

authenticator::authenticator(zmq::context_t& context, zap_policy policy,
                             std::function<void(const std::string&)> on_log, std::string domain)
    : state_(std::make_shared<state>()) {
  state_->policy = std::move(policy);
  state_->domain = std::move(domain);
  state_->on_log = std::move(on_log);
  state_->refresh_keys(true);
  if (state_->keys.empty())
    state_->log(state_->policy.allow_dir + ": no client keys (NAME.key) yet; every client is refused");

  const auto stop_address = "inproc://zmqkit-zap-stop-" + std::to_string(reinterpret_cast<std::uintptr_t>(this));
  zmq::socket_t zap, stop_in;
  detail::translate("start the ZAP handler", [&] {
    zap = zmq::socket_t(context, zmq::socket_type::rep);
    zap.set(zmq::sockopt::linger, 0);
    try {
      zap.bind(zap_endpoint);
    } catch (const zmq::error_t& e) {
      if (e.num() == EADDRINUSE)
        throw error(EADDRINUSE, "start the ZAP handler: this context has one already");
      throw;
    }
    stop_in = zmq::socket_t(context, zmq::socket_type::pair);
    stop_in.bind(stop_address);
    stop_ = zmq::socket_t(context, zmq::socket_type::pair);
    stop_.set(zmq::sockopt::linger, 0);
    stop_.connect(stop_address);
  });
  thread_ = std::thread([s = state_, zap = std::move(zap), stop_in = std::move(stop_in)]() mutable {
    std::array<zmq::pollitem_t, 2> items{{{zap.handle(), 0, ZMQ_POLLIN, 0},
                                          {stop_in.handle(), 0, ZMQ_POLLIN, 0}}};
    while (true) {
      try {
        zmq::poll(items.data(), items.size(), std::chrono::milliseconds(-1));
        if ((items[1].revents & ZMQ_POLLIN) != 0) break;
        if ((items[0].revents & ZMQ_POLLIN) != 0) s->serve_one(zap);
      } catch (const zmq::error_t& e) {
        if (e.num() == ETERM) break;  // the context is closing: let it
        // EINTR (a tool's signal) or a reply that could not be sent: go on.
      } catch (const std::exception& e) {
        s->log(std::string("ZAP handler: ") + e.what());
      }
    }
  });
}

authenticator::~authenticator() {
  try {
    stop_.send(zmq::str_buffer("stop"), zmq::send_flags::dontwait);
  } catch (const zmq::error_t&) {
    // A terminated context has already woken the thread with ETERM.
  }
  if (thread_.joinable()) thread_.join();
}

std::uint64_t authenticator::accepted() const noexcept { return state_->accepted; }
std::uint64_t authenticator::refused() const noexcept { return state_->refused; }

}  // namespace zmqkit
