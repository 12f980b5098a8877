#include "common/input.hpp"

#include <doctest/doctest.h>

#include <regex>
#include <string>

#include "common/cli.hpp"

using namespace zmqkit::tools;

TEST_CASE("input: SHALL send raw text as str and other bytes as bin") {
  CHECK(parse_input("hello", "raw", "t", {}).payload == "\xa5hello");
  CHECK(parse_input(std::string("\xff\x00", 2), "raw", "t", {}).payload ==
        std::string("\xc4\x02\xff\x00", 4));
}

TEST_CASE("input: SHALL read each input format") {
  CHECK(parse_input("[1,2]", "json", "t", {}).payload == "\x92\x01\x02");
  CHECK(parse_input("\x92\x01\x02", "msgpack", "t", {}).payload == "\x92\x01\x02");
  CHECK_THROWS_AS(parse_input("\x92\x01", "msgpack", "t", {}), zmqkit::decode_error);

  const auto m = parse_input(R"({"topic":"order_placed","headers":{"k":"v"},"payload":{"$base64":"AQ=="}})",
                             "jsonl-envelope", "default", {{"x", "y"}});
  CHECK(m.topic == "order_placed");
  CHECK(m.headers == zmqkit::headers{{"x", "y"}, {"k", "v"}});
  CHECK(m.payload == std::string("\xc4\x01\x01", 3));
  CHECK(parse_input(R"({"payload":1})", "jsonl-envelope", "default", {}).topic == "default");
  CHECK_THROWS_AS(parse_input(R"({"topic":1,"payload":1})", "jsonl-envelope", "", {}), std::invalid_argument);
  CHECK_THROWS_AS(parse_input(R"({"headers":{"k":1},"payload":1})", "jsonl-envelope", "", {}),
                  std::invalid_argument);
  CHECK_THROWS_AS(parse_input(R"({"topic":"t"})", "jsonl-envelope", "", {}), std::invalid_argument);
  CHECK_THROWS_AS(parse_input("[1]", "jsonl-envelope", "", {}), std::invalid_argument);
}

TEST_CASE("input: SHALL expand -m templates") {
  CHECK(expand_template("n={{seq}}", 7) == "n=7");
  CHECK(expand_template("{{unknown}} {{seq", 1) == "{{unknown}} {{seq");
  const auto uuid = expand_template("{{uuid}}", 1);
  CHECK(std::regex_match(uuid, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
  for (int i = 0; i < 100; ++i) {
    const auto r = std::stoi(expand_template("{{random 3 5}}", 1));
    CHECK((r >= 3 && r <= 5));
  }
  CHECK(std::regex_match(expand_template("{{time}}", 1),
                         std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)")));
  CHECK(expand_template("{{random 5 3}}", 1) == "{{random 5 3}}");  // an empty range is not ours
}

TEST_CASE("input: SHALL cycle -m messages up to --count and number them") {
  input_options opts;
  opts.messages = {"a{{seq}}", "b{{seq}}"};
  opts.count = 5;
  message_source source(opts, [](const std::string&) {});
  std::string got;
  while (auto m = source.next()) got += m->payload.substr(1) + " ";
  CHECK(got == "a1 b2 a3 b4 a5 ");
}

TEST_CASE("input: SHALL report, count and skip bad input unless strict") {
  input_options opts;
  opts.messages = {"{\"a\":1}", "nope", "[3]"};
  opts.format = "json";
  std::vector<std::string> reports;
  message_source lenient(opts, [&](const std::string& s) { reports.push_back(s); });
  int sent = 0;
  while (lenient.next()) ++sent;
  CHECK(sent == 2);
  CHECK(lenient.rejected() == 1);
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].rfind("message 2: invalid JSON", 0) == 0);

  opts.strict = true;
  message_source strict(opts, [](const std::string&) {});
  CHECK(strict.next());
  CHECK_THROWS_WITH(strict.next(), doctest::Contains("--strict"));
}

TEST_CASE("input: SHALL refuse a header without '=' and two input sources") {
  input_options opts;
  opts.messages = {"x"};
  opts.headers = {"novalue"};
  CHECK_THROWS_AS(message_source(opts, {}), usage_error);
  opts.headers = {};
  opts.slurp = true;
  CHECK_THROWS_AS(message_source(opts, {}), usage_error);
}

TEST_CASE("input: SHALL keep the order of JSON object keys") {
  // {"z":1,"a":2} stays in that order: a relay must not reorder maps.
  CHECK(parse_input(R"({"z":1,"a":2})", "json", "t", {}).payload == "\x82\xa1z\x01\xa1" "a\x02");
}
