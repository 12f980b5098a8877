#include <doctest/doctest.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <random>
#include <fstream>
#include <string>
#include <vector>

#include <zmqkit/dedup_window.hpp>
#include <zmqkit/error.hpp>

#include "support/small_tmpfs.hpp"
#include "support/temp_dir.hpp"

using zmqkit::dedup_window;
using zmqkit::producer_id;

namespace {

producer_id id(std::uint8_t b) {
  producer_id p{};
  p.fill(b);
  return p;
}

}  // namespace

TEST_CASE("dedup_window: SHALL remember the last capacity pairs and forget the oldest") {
  dedup_window w(3);
  for (std::uint64_t s = 1; s <= 3; ++s) w.insert(id(1), s);
  w.insert(id(1), 2);  // already there: no change of order
  CHECK(w.size() == 3);
  CHECK(w.contains(id(1), 1));
  CHECK_FALSE(w.contains(id(2), 1));
  w.insert(id(2), 1);
  CHECK_FALSE(w.contains(id(1), 1));
  CHECK(w.contains(id(1), 2));
  CHECK(w.contains(id(2), 1));
  CHECK_THROWS_AS(dedup_window(0), std::invalid_argument);
}

TEST_CASE("dedup_window: SHALL keep its window in a file across reopening and compact it") {
  zmqkit::test::temp_dir dir;
  const auto path = dir / "seen.dedup";
  {
    auto w = dedup_window::open(path, 10);
    for (std::uint64_t s = 1; s <= 25; ++s) w.insert(id(7), s);
    // Compacted at 20 records to the window of 10, then 5 more appended.
    CHECK(std::filesystem::file_size(path) == 8 + 15 * 28);
  }
  auto w = dedup_window::open(path, 10);
  CHECK(w.size() == 10);
  CHECK_FALSE(w.contains(id(7), 15));
  for (std::uint64_t s = 16; s <= 25; ++s) CHECK(w.contains(id(7), s));
  w.insert(id(8), 1);
  auto again = dedup_window::open(path, 10);
  CHECK(again.contains(id(8), 1));
  CHECK_FALSE(again.contains(id(7), 16));
}

TEST_CASE("dedup_window: SHALL cut a torn or corrupt tail and report it, keeping what came before") {
  zmqkit::test::temp_dir dir;
  const auto path = dir / "seen.dedup";
  {
    auto w = dedup_window::open(path, 100);
    for (std::uint64_t s = 1; s <= 5; ++s) w.insert(id(3), s);
  }
  std::vector<std::string> problems;
  const auto log = [&](const std::string& l) { problems.push_back(l); };

  SUBCASE("torn last record") {
    std::filesystem::resize_file(path, 8 + 4 * 28 + 9);
    auto w = dedup_window::open(path, 100, log);
    CHECK(w.size() == 4);
    CHECK_FALSE(w.contains(id(3), 5));
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].find("cut off 9 bytes") != std::string::npos);
    w.insert(id(3), 5);  // appended after the cut, readable next time
    CHECK(dedup_window::open(path, 100).contains(id(3), 5));
  }
  SUBCASE("a flipped byte in the third record") {
    {
      std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(8 + 2 * 28 + 20);
      f.put('\x5a');
    }
    auto w = dedup_window::open(path, 100, log);
    CHECK(w.size() == 2);
    CHECK(std::filesystem::file_size(path) == 8 + 2 * 28);
    CHECK(problems.size() == 1);
  }
  SUBCASE("not a dedup file") {
    std::ofstream(path, std::ios::trunc) << "hello, world";
    CHECK_THROWS_AS((void)dedup_window::open(path, 100), zmqkit::error);
  }
  SUBCASE("missing directory") {
    CHECK_THROWS_AS((void)dedup_window::open(dir / "no/such.dedup", 100), zmqkit::error);
  }
}

TEST_CASE("dedup_window: SHALL refuse an insert the disk cannot take and leave the file readable") {
  zmqkit::test::temp_dir dir;
  std::string why;
  auto fs = zmqkit::test::small_tmpfs::mount(dir / "small", "4k", why);
  if (!fs) {
    MESSAGE("SKIPPED: " << why);
    return;
  }
  const auto path = fs->path() + "/seen.dedup";
  auto w = dedup_window::open(path, 1000000);
  std::uint64_t s = 0;
  bool refused = false;
  for (; s < 1000 && !refused; ++s) {
    try {
      w.insert(id(9), s + 1);
    } catch (const zmqkit::error& e) {
      refused = true;
      CHECK(e.code() == std::errc::no_space_on_device);
    }
  }
  REQUIRE(refused);
  const auto stored = s - 1;  // the last insert was refused
  CHECK_FALSE(w.contains(id(9), s));
  std::vector<std::string> problems;
  auto back = dedup_window::open(path, 1000000, [&](const std::string& l) { problems.push_back(l); });
  CHECK(back.size() == stored);
  CHECK(problems.empty());
}

TEST_CASE("dedup_window: SHALL agree with a plain model over many inserts and evictions") {
  // Few producers and a small seq range make keys collide and come back, so
  // the table's probing and backward-shift deletion are exercised.
  for (const std::size_t capacity : {1u, 2u, 7u, 64u, 1000u}) {
    dedup_window w(capacity);
    std::deque<std::pair<std::uint8_t, std::uint64_t>> model;
    std::mt19937_64 rng(capacity);
    for (int i = 0; i < 20000; ++i) {
      const auto p = static_cast<std::uint8_t>(rng() % 3);
      const std::uint64_t s = rng() % (capacity * 3 + 5);
      const bool known = std::find(model.begin(), model.end(), std::make_pair(p, s)) != model.end();
      REQUIRE(w.contains(id(p), s) == known);
      w.insert(id(p), s);
      if (!known) {
        model.emplace_back(p, s);
        if (model.size() > capacity) model.pop_front();
      }
      REQUIRE(w.size() == model.size());
    }
    for (std::uint8_t p = 0; p < 3; ++p)
      for (std::uint64_t s = 0; s < capacity * 3 + 5; ++s)
        CHECK(w.contains(id(p), s) ==
              (std::find(model.begin(), model.end(), std::make_pair(p, s)) != model.end()));
  }
}
