#include <zmqkit/socket_options.hpp>

#include <zmqkit/detail/zmq_error.hpp>
#include <zmqkit/error.hpp>

namespace zmqkit {

void apply_socket_options(zmq::socket_t& s, const socket_options& o, zmq::socket_type type) {
  const auto ms = [](std::chrono::milliseconds d) { return static_cast<int>(d.count()); };
  detail::translate("socket options", [&] {
    // SUB and PULL send nothing of their user's, only subscriptions, which
    // every new connection gets again: waiting to deliver them at close
    // would only delay it (a second for a SUB that never connected).
    const bool receive_only = type == zmq::socket_type::sub || type == zmq::socket_type::pull;
    s.set(zmq::sockopt::linger, receive_only ? 0 : ms(o.linger));
    s.set(zmq::sockopt::maxmsgsize, o.max_message_size);
    s.set(zmq::sockopt::heartbeat_ivl, ms(o.heartbeat_interval));
    s.set(zmq::sockopt::heartbeat_timeout, ms(o.heartbeat_timeout));
    s.set(zmq::sockopt::heartbeat_ttl, ms(o.heartbeat_ttl));
    if (o.tcp_keepalive_idle.count() > 0) {
      s.set(zmq::sockopt::tcp_keepalive, 1);
      s.set(zmq::sockopt::tcp_keepalive_idle, static_cast<int>(o.tcp_keepalive_idle.count()));
      s.set(zmq::sockopt::tcp_keepalive_intvl,
            static_cast<int>(o.tcp_keepalive_interval.count()));
      s.set(zmq::sockopt::tcp_keepalive_cnt, o.tcp_keepalive_count);
    }
    s.set(zmq::sockopt::reconnect_ivl, ms(o.reconnect_interval));
    s.set(zmq::sockopt::reconnect_ivl_max, ms(o.reconnect_interval_max));
    s.set(zmq::sockopt::handshake_ivl, ms(o.handshake_timeout));
    s.set(zmq::sockopt::sndhwm, o.send_hwm);
    s.set(zmq::sockopt::rcvhwm, o.receive_hwm);
    // PUSH only: it sends and never receives. On a socket that receives,
    // IMMEDIATE makes libzmq 4.3 close the connection's queue, unread
    // messages and all, as soon as the connection drops; if that lands
    // between two frames of a message being read, the next frame is gone
    // and libzmq aborts the process (docs/design-notes.md, "IMMEDIATE only
    // on PUSH").
    s.set(zmq::sockopt::immediate, o.immediate.value_or(type == zmq::socket_type::push));
    if (o.on_created) o.on_created(s);
  });
}

curve_options curve_options::from(const certificate& own, std::string server_key) {
  if (own.secret_key.empty())
    throw key_error("CURVE needs our secret key: load the .key_secret certificate, not the .key");
  if (!server_key.empty()) check_z85_key(server_key, "server key");
  curve_options c;
  c.public_key = own.public_key;
  c.secret_key = own.secret_key;
  c.server_key = std::move(server_key);
  return c;
}

}  // namespace zmqkit
