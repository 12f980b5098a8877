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

TEST_CASE("error: SHALL be caught as std::system_error") {
  try {
    throw zmqkit::error(EFSM, "send");
  } catch (const std::system_error& e) {
    CHECK(e.code().value() == EFSM);
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
    CHECK(e.code().value() == EPROTONOSUPPORT);
    CHECK(std::string(e.what()).rfind("bind nowhere", 0) == 0);
  }

  SUBCASE("and pass through results and other exceptions") {
    CHECK(zmqkit::detail::translate("sum", [] { return 40 + 2; }) == 42);
    CHECK_THROWS_AS(zmqkit::detail::translate("decode",
                                              []() -> int { throw zmqkit::decode_error("f", "r"); }),
                    zmqkit::decode_error);
  }
}
