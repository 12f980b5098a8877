#include <doctest/doctest.h>

#include <zmqkit/sequence_tracker.hpp>

#include <cstdint>

using zmqkit::producer_id;
using zmqkit::sequence_tracker;

namespace {

// A producer id whose bytes all spell n; distinct n, distinct ids.
producer_id id_of(std::uint32_t n) {
  producer_id id{};
  for (std::size_t i = 0; i < id.size(); i += 4) {
    id[i] = static_cast<std::uint8_t>(n);
    id[i + 1] = static_cast<std::uint8_t>(n >> 8);
    id[i + 2] = static_cast<std::uint8_t>(n >> 16);
    id[i + 3] = static_cast<std::uint8_t>(n >> 24);
  }
  return id;
}

bool is_clean(const sequence_tracker::result& r) { return r.missed == 0 && !r.duplicate; }

}  // namespace

TEST_CASE("sequence_tracker: SHALL take the first seq of a producer as its baseline") {
  sequence_tracker t;
  SUBCASE("starting at 1") { CHECK(is_clean(t.observe(id_of(1), 1))); }
  SUBCASE("joining late, at 100") { CHECK(is_clean(t.observe(id_of(1), 100))); }
  CHECK(t.producers() == 1);
}

TEST_CASE("sequence_tracker: SHALL report nothing for consecutive seqs") {
  sequence_tracker t;
  for (std::uint64_t seq = 1; seq <= 100; ++seq) {
    INFO(seq);
    CHECK(is_clean(t.observe(id_of(1), seq)));
  }
}

TEST_CASE("sequence_tracker: SHALL count the seqs skipped since the last one seen") {
  sequence_tracker t;
  (void)t.observe(id_of(1), 1);
  const auto skipped = t.observe(id_of(1), 5);
  CHECK(skipped.missed == 3);
  CHECK_FALSE(skipped.duplicate);
  CHECK(is_clean(t.observe(id_of(1), 6)));
  CHECK(t.observe(id_of(1), 1000000).missed == 999993);
}

TEST_CASE("sequence_tracker: SHALL report a repeated or lower seq as a duplicate") {
  sequence_tracker t;
  (void)t.observe(id_of(1), 10);
  SUBCASE("the same seq") {
    const auto r = t.observe(id_of(1), 10);
    CHECK(r.duplicate);
    CHECK(r.missed == 0);
  }
  SUBCASE("a lower seq") {
    const auto r = t.observe(id_of(1), 3);
    CHECK(r.duplicate);
    CHECK(r.missed == 0);
  }
  SUBCASE("a duplicate does not move the baseline") {
    (void)t.observe(id_of(1), 3);
    CHECK(is_clean(t.observe(id_of(1), 11)));
  }
}

TEST_CASE("sequence_tracker: SHALL track each producer independently") {
  sequence_tracker t;
  CHECK(is_clean(t.observe(id_of(1), 1)));
  CHECK(is_clean(t.observe(id_of(2), 50)));
  CHECK(is_clean(t.observe(id_of(1), 2)));
  CHECK(t.observe(id_of(2), 53).missed == 2);
  CHECK(t.observe(id_of(1), 2).duplicate);
  CHECK_FALSE(t.observe(id_of(2), 54).duplicate);
  CHECK(t.producers() == 2);
}

TEST_CASE("sequence_tracker: SHALL never remember more than max_producers") {
  SUBCASE("a small limit") {
    sequence_tracker t(3);
    for (std::uint32_t n = 0; n < 100; ++n) {
      (void)t.observe(id_of(n), 1);
      CHECK(t.producers() <= 3);
    }
    CHECK(t.producers() == 3);
  }
  SUBCASE("a flood of forged ids against the default limit") {
    sequence_tracker t;
    for (std::uint32_t n = 0; n < 10000; ++n) (void)t.observe(id_of(n), n + 1);
    CHECK(t.producers() == 4096);
  }
  SUBCASE("a limit of one") {
    sequence_tracker t(1);
    (void)t.observe(id_of(1), 1);
    (void)t.observe(id_of(2), 1);
    CHECK(t.producers() == 1);
    CHECK(t.observe(id_of(2), 3).missed == 1);  // the newest one is the one kept
  }
}

TEST_CASE("sequence_tracker: SHALL forget the oldest-inserted producer when full") {
  sequence_tracker t(2);
  (void)t.observe(id_of(1), 1);  // oldest
  (void)t.observe(id_of(2), 1);
  (void)t.observe(id_of(3), 1);  // full: producer 1 makes room
  CHECK(t.producers() == 2);
  CHECK(t.observe(id_of(3), 3).missed == 1);  // remembered
  CHECK(t.observe(id_of(2), 3).missed == 1);  // remembered
  CHECK(t.observe(id_of(1), 9).missed == 0);  // forgotten: a new baseline
}

TEST_CASE("sequence_tracker: SHALL treat a limit of 0 as 1 rather than fail") {
  sequence_tracker t(0);
  CHECK(t.observe(id_of(1), 1).missed == 0);
  CHECK(t.observe(id_of(1), 3).missed == 1);
  CHECK(t.producers() == 1);
}
