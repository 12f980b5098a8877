#include <zmqkit/producer_table.hpp>

#include <doctest/doctest.h>

#include <zmqkit/error.hpp>

using zmqkit::producer_table;
using verdict = producer_table::verdict;

namespace {
producer_table::sender_id id(std::uint8_t n) {
  producer_table::sender_id s{};
  s[0] = n;
  return s;
}
}  // namespace

TEST_CASE("producer_table: SHALL store the next seq, drop duplicates and refuse gaps when strict") {
  producer_table t;
  CHECK(t.check(id(1), 7, true) == verdict::store);  // first seen: any seq
  t.record(id(1), 7);
  CHECK(t.check(id(1), 7, true) == verdict::duplicate);
  CHECK(t.check(id(1), 3, true) == verdict::duplicate);
  CHECK(t.check(id(1), 8, true) == verdict::store);
  CHECK(t.check(id(1), 9, true) == verdict::ahead);
  CHECK(t.check(id(1), 9, false) == verdict::store);  // plain publishers may skip
  CHECK(t.high(id(1)) == 7);
  CHECK(t.high(id(2)) == 0);
}

TEST_CASE("producer_table: SHALL start a sender that says its oldest unacknowledged seq there, and "
          "go on past a gap from it") {
  producer_table t;
  // Not in the table: only the oldest unacknowledged one starts it.
  CHECK(t.check(id(1), 151, true, 1) == verdict::ahead);
  CHECK(t.check(id(1), 1, true, 1) == verdict::store);
  CHECK(t.check(id(1), 151, true, 151) == verdict::store);  // 1..150 were acknowledged elsewhere
  t.record(id(1), 10);
  CHECK(t.check(id(1), 10, true, 10) == verdict::duplicate);
  CHECK(t.check(id(1), 11, true, 5) == verdict::store);
  CHECK(t.check(id(1), 12, true, 11) == verdict::ahead);
  // The sender was acknowledged up to 19 and holds nothing older: this
  // table lost 11..19, and refusing 20 would hold the sender forever.
  CHECK(t.check(id(1), 20, true, 20) == verdict::store);
}

TEST_CASE("producer_table: SHALL undo a record and forget the least recently seen past its bound") {
  producer_table t(2);
  const auto prev = t.record(id(1), 5);
  CHECK(prev == 0);
  CHECK(t.record(id(1), 6) == 5);
  t.restore(id(1), 5);
  CHECK(t.high(id(1)) == 5);
  t.record(id(2), 1);
  t.record(id(1), 6);  // 1 is now the most recent
  t.record(id(3), 1);  // evicts 2
  CHECK(t.size() == 2);
  CHECK(t.high(id(2)) == 0);
  CHECK(t.high(id(1)) == 6);
  t.restore(id(3), 0);
  CHECK(t.high(id(3)) == 0);
  CHECK(t.size() == 1);
}

TEST_CASE("producer_table: SHALL save and load its contents with the fseq they cover") {
  producer_table t;
  for (std::uint8_t i = 1; i <= 20; ++i) t.record(id(i), i * 10u);
  const auto blob = t.save(12345);
  producer_table u;
  CHECK(u.load(blob) == 12345);
  CHECK(u.size() == 20);
  for (std::uint8_t i = 1; i <= 20; ++i) CHECK(u.high(id(i)) == i * 10u);
  CHECK_THROWS_AS(u.load(blob.substr(0, blob.size() - 1)), zmqkit::decode_error);
  CHECK_THROWS_AS(u.load("short"), zmqkit::decode_error);
}
