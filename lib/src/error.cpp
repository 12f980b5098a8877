#include <zmqkit/error.hpp>

#include <zmqkit/detail/zmq_error.hpp>

#include <zmq.h>

namespace zmqkit {
namespace {

// One category for every errno zmqkit reports, from libzmq or from the
// system (the journal's and the dedup window's disk errors), so a caller
// catches one zmqkit::error and reads one message() style. The values below
// ZMQ_HAUSNUMERO are the system's errno values (libzmq uses the system's own
// on Linux), so default_error_condition hands them to std::generic_category:
// `code() == std::errc::no_space_on_device` then holds as it does for a
// std::system_error from the standard library. libzmq's own codes (EFSM,
// ETERM...) have no std::errc and stay in this category.
// (docs/design-notes.md, "One error category, compared with std::errc".)
class zmq_error_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "zmq"; }
  std::string message(int ev) const override { return zmq_strerror(ev); }
  std::error_condition default_error_condition(int ev) const noexcept override {
    if (ev >= 0 && ev < ZMQ_HAUSNUMERO) return {ev, std::generic_category()};
    return {ev, *this};
  }
};

}  // namespace

const std::error_category& zmq_category() noexcept {
  static const zmq_error_category category;
  return category;
}

error::error(int errnum, const std::string& what_arg)
    : std::system_error(errnum, zmq_category(), what_arg) {}

decode_error::decode_error(std::string field, const std::string& reason)
    : std::runtime_error(field + ": " + reason), field_(std::move(field)) {}

void detail::throw_zmq(int errnum, const std::string& context) {
  throw error(errnum, context);
}

}  // namespace zmqkit
