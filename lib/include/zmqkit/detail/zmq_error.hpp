// Internal to zmqkit (lib and patterns): turning cppzmq's exceptions into
// zmqkit::error. Kept out of error.hpp so that error.hpp, and the headers
// that know nothing of ZeroMQ (journal.hpp), do not pull in <zmq.hpp>.
#pragma once

#include <string>

#include <zmq.hpp>

#include <zmqkit/error.hpp>

namespace zmqkit::detail {

// Throws zmqkit::error(errnum, context).
[[noreturn]] void throw_zmq(int errnum, const std::string& context);

// Runs f and turns cppzmq's zmq::error_t into zmqkit::error prefixed by
// context, so callers of zmqkit see one exception type for the environment.
template <class F>
decltype(auto) translate(const char* context, F&& f) {
  try {
    return f();
  } catch (const zmq::error_t& e) {
    throw_zmq(e.num(), context);
  }
}

}  // namespace zmqkit::detail
