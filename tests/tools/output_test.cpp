#include "common/output.hpp"

#include <doctest/doctest.h>

#include <string>

#include "common/cli.hpp"

using namespace zmqkit::tools;

namespace {

zmqkit::message make(const std::string& topic, const std::string& payload_msgpack,
                     const zmqkit::headers& hdrs = {}) {
  zmqkit::envelope_writer w(zmqkit::producer_id{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
  auto body = w.encode(zmqkit::packed(payload_msgpack), hdrs);
  return zmqkit::message::decode(zmq::message_t(topic.data(), topic.size()), std::move(body));
}

std::string format(const std::string& fmt, const std::string& tmpl, const zmqkit::message& m) {
  output_options o;
  o.format = fmt;
  o.template_text = tmpl;
  std::string out;
  formatter(o).append(m, out);
  return out;
}

}  // namespace

TEST_CASE("output: SHALL print jsonl lines that carry everything") {
  const auto m = make("user_registered", "\x81\xa4user\xa3""ada", {{"source", "signup"}});
  const auto line = format("jsonl", "", m);
  CHECK(line.rfind(R"({"topic":"user_registered","seq":1,"producer":"0102030405060708090a0b0c0d0e0f10","time_ns":)", 0) == 0);
  CHECK(line.find(R"("headers":{"source":"signup"},"payload":{"user":"ada"}})" "\n") != std::string::npos);
}

TEST_CASE("output: SHALL print raw payload bytes, or JSON for structured payloads") {
  CHECK(format("raw", "", make("t", "\xa2hi")) == "hi\n");
  CHECK(format("raw", "", make("t", std::string("\xc4\x02\x00\xff", 4))) == std::string("\x00\xff\n", 3));
  CHECK(format("raw", "", make("t", "\x92\x01\x02")) == "[1,2]\n");
  CHECK(format("msgpack", "", make("t", "\x92\x01\x02")) == "\x92\x01\x02");
  CHECK(format("pretty", "", make("t", "\x81\xa1k\x01")).find("payload   {\n  \"k\": 1\n}") != std::string::npos);
}

TEST_CASE("output: SHALL fill -F templates") {
  const auto m = make("cart_updated", "\xa3qty", {{"cart", "c-9"}});
  CHECK(format("raw", "{{topic}}|{{seq}}|{{payload}}|{{raw}}|{{hex}}|{{header:cart}}|{{headers}}", m) ==
        "cart_updated|1|\"qty\"|qty|717479|c-9|{\"cart\":\"c-9\"}\n");
  CHECK(format("raw", "a\\tb\\n{{producer}}", m) == "a\tb\n0102030405060708090a0b0c0d0e0f10\n");
  CHECK_THROWS_AS(format("raw", "{{nope}}", m), usage_error);
}

TEST_CASE("output: SHALL write ISO 8601 UTC times") {
  CHECK(iso8601(1764000000123456789) == "2025-11-24T16:00:00.123456Z");
  CHECK(iso8601(0) == "1970-01-01T00:00:00.000000Z");
}
