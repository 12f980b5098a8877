#include <doctest/doctest.h>

#include <zmqkit/error.hpp>
#include <zmqkit/detail/zmq_error.hpp>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>

#include <zmq.h>
#include <zmq.hpp>

static_assert(std::is_base_of_v<std::system_error, zmqkit::error>);
static_assert(std::is_base_of_v<std::runtime_error, zmqkit::decode_error>);

TEST_CASE("error: SHALL carry its errno in the zmq category") {
  const zmqkit::error e(EINVAL, "set linger");
  CHECK(e.code().value() == EINVAL);
  CHECK(std::string(e.code().category().name()) == "zmq");
  CHECK(&e.code().category() == &zmqkit::zmq_category());
  CHECK(e.code() == std::error_code(EINVAL, zmqkit::zmq_category()));
}

TEST_CASE("error: SHALL describe errors with zmq_strerror, libzmq's own codes included") {
  SUBCASE("a system errno") {
    const zmqkit::error e(EINVAL, "context");
    CHECK(e.code().message() == zmq_strerror(EINVAL));
    CHECK(std::string(e.what()).find("context") != std::string::npos);
    CHECK(std::string(e.what()).find(zmq_strerror(EINVAL)) != std::string::npos);
  }
  for (int code : {EFSM, ETERM, EMTHREAD, ENOCOMPATPROTO}) {
    INFO(code);
    const zmqkit::error e(code, "context");
    CHECK(e.code().message() == zmq_strerror(code));
    CHECK(e.code().message().rfind("Unknown error", 0) != 0);
  }
}

TEST_CASE("error: SHALL compare equal to the std::errc of its errno, as std::generic_category does") {
  SUBCASE("system errno values") {
    struct errno_case {
      int errnum;
      std::errc condition;
    };
    for (const auto& [errnum, condition] : {errno_case{ENOSPC, std::errc::no_space_on_device},
                                            errno_case{EINTR, std::errc::interrupted},
                                            errno_case{EAGAIN, std::errc::resource_unavailable_try_again},
                                            errno_case{EHOSTUNREACH, std::errc::host_unreachable},
                                            errno_case{EMSGSIZE, std::errc::message_size},
                                            errno_case{EADDRINUSE, std::errc::address_in_use},
                                            errno_case{EIO, std::errc::io_error}}) {
      INFO(errnum);
      const zmqkit::error e(errnum, "context");
      CHECK(e.code() == condition);
      CHECK(e.code() == std::error_code(errnum, std::generic_category()).default_error_condition());
      CHECK(e.code().default_error_condition().category() == std::generic_category());
      CHECK(e.code() != std::errc::operation_canceled);  // only its own condition
      // Still in zmqkit's category, described as before.
      CHECK(&e.code().category() == &zmqkit::zmq_category());
      CHECK(e.code().message() == zmq_strerror(errnum));
    }
  }
  SUBCASE("an errno std::errc does not name (EDQUOT) compares with its generic condition") {
    const zmqkit::error e(EDQUOT, "write");
    CHECK(e.code() == std::error_condition(EDQUOT, std::generic_category()));
    CHECK(e.code() != std::errc::no_space_on_device);
  }
  SUBCASE("libzmq's own codes stay in the zmq category, equal to no std::errc") {
    for (int code : {EFSM, ETERM, EMTHREAD, ENOCOMPATPROTO}) {
      INFO(code);
      const zmqkit::error e(code, "context");
      CHECK(e.code().default_error_condition().category() == zmqkit::zmq_category());
      CHECK(e.code() == std::error_code(code, zmqkit::zmq_category()));
      CHECK(e.code() != std::error_condition(code, std::generic_category()));
    }
  }
}

TEST_CASE("error: SHALL be caught as std::system_error") {
  try {
    throw zmqkit::error(EFSM, "send");
  } catch (const std::system_error& e) {
    CHECK(e.code() == std::error_code(EFSM, zmqkit::zmq_category()));
  }
}

TEST_CASE("decode_error: SHALL say 'field: reason' and keep the field") {
  const zmqkit::decode_error e("envelope.seq", "0 is not a valid sequence number");
  CHECK(std::string(e.what()) == "envelope.seq: 0 is not a valid sequence number");
  CHECK(e.field() == "envelope.seq");
}

TEST_CASE("translate: SHALL turn a zmq::error_t into zmqkit::error with its context") {
  zmq::context_t ctx;
  zmq::socket_t s(ctx, zmq::socket_type::pair);
  try {
    zmqkit::detail::translate("bind nowhere", [&] { s.bind("bogus://x"); });
    FAIL("bound to a made-up transport");
  } catch (const zmqkit::error& e) {
    CHECK(e.code() == std::errc::protocol_not_supported);
    CHECK(std::string(e.what()).rfind("bind nowhere", 0) == 0);
  }

  SUBCASE("and pass through results and other exceptions") {
    CHECK(zmqkit::detail::translate("sum", [] { return 40 + 2; }) == 42);
    CHECK_THROWS_AS(zmqkit::detail::translate("decode",
                                              []() -> int { throw zmqkit::decode_error("f", "r"); }),
                    zmqkit::decode_error);
  }
}
