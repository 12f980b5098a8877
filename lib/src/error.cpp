#include <zmqkit/error.hpp>

#include <zmqkit/detail/zmq_error.hpp>

#include <zmq.h>

namespace zmqkit {
namespace {

class zmq_error_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "zmq"; }
  std::string message(int ev) const override { return zmq_strerror(ev); }
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
