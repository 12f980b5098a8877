// Error types shared by every zmqkit layer.
//
// Three tiers (see docs/errors in README): a broken invariant is an assert; a
// routine non-event (timeout, no message yet) is a std::optional or bool
// result; an environmental failure throws zmqkit::error. Bad bytes from the
// wire or the disk throw zmqkit::decode_error, which long-running loops catch
// per message, count and drop.
#pragma once

#include <stdexcept>
#include <string>
#include <system_error>

namespace zmqkit {

// The error category of zmqkit's errno values, from libzmq and from the
// system (a full disk). message() uses zmq_strerror, so libzmq's own codes
// (EFSM, ETERM, EMTHREAD...) read correctly. Every value that is a system
// errno compares equal to its std::errc, as std::generic_category's do:
//   catch (const zmqkit::error& e) {
//     if (e.code() == std::errc::no_space_on_device) ...
//   }
const std::error_category& zmq_category() noexcept;

// An environmental failure: a bind that failed, a context that was terminated,
// a disk that is full. code() carries the errno value in zmq_category();
// compare it with a std::errc (or, for libzmq's own codes such as ETERM, with
// std::error_code(ETERM, zmq_category())), not by value().
class error : public std::system_error {
 public:
  error(int errnum, const std::string& what_arg);
};

// Bytes that do not form a valid zmqkit message. field() names the part that
// was wrong ("envelope.seq", "payload", "frames"...); what() is
// "<field>: <reason>", one line, safe to print.
class decode_error : public std::runtime_error {
 public:
  decode_error(std::string field, const std::string& reason);
  const std::string& field() const noexcept { return field_; }

 private:
  std::string field_;
};

}  // namespace zmqkit
