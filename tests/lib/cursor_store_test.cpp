#include <zmqkit/cursor_store.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include <zmqkit/error.hpp>

#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using zmqkit::cursor_store;
using zmqkit::test::temp_dir;

TEST_CASE("cursor_store: SHALL keep the last value saved under each name across instances") {
  temp_dir d;
  {
    cursor_store c(d / "cursors");
    CHECK_FALSE(c.load_fseq("billing"));
    c.save_fseq("billing", 41);
    c.save_fseq("billing", 42);
    c.save("table", std::string("\0binary\xff", 8));
  }
  cursor_store c(d / "cursors");
  CHECK(c.load_fseq("billing") == 42u);
  CHECK(c.load("table") == std::string("\0binary\xff", 8));
  CHECK(c.names() == std::vector<std::string>{"billing", "table"});
  c.remove("billing");
  c.remove("billing");  // absent: fine
  CHECK_FALSE(c.load("billing"));
  // No temporary files are left behind.
  for (const auto& e : fs::directory_iterator(c.directory()))
    CHECK(e.path().extension() != ".tmp");
}

TEST_CASE("cursor_store: SHALL refuse names that are not plain file names") {
  temp_dir d;
  cursor_store c(d.path());
  for (const char* bad : {"", ".hidden", "a/b", "..", "sp ace", "x\n", "a.tmp", "sub.b.corrupt"}) {
    CAPTURE(bad);
    CHECK_FALSE(cursor_store::valid_name(bad));
    CHECK_THROWS_AS(c.save_fseq(bad, 1), std::invalid_argument);
  }
  CHECK(cursor_store::valid_name("orders.worker-1_A"));
  CHECK(cursor_store::valid_name("sub." + std::string(128, 'a')));  // the forwarder's longest
  CHECK(cursor_store::valid_name(std::string(200, 'a')));
  CHECK_FALSE(cursor_store::valid_name(std::string(201, 'a')));
}

TEST_CASE("cursor_store: SHALL report a damaged file instead of returning a wrong value") {
  temp_dir d;
  cursor_store c(d.path());
  c.save_fseq("sub", 1234567);
  const std::string p = d / "sub";
  SUBCASE("flipped byte") {
    std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(13);
    f.put('\x7f');
  }
  SUBCASE("truncated") { fs::resize_file(p, 10); }
  SUBCASE("not a cursor") { std::ofstream(p) << "hello"; }
  CHECK_THROWS_AS(c.load_fseq("sub"), zmqkit::decode_error);
}

TEST_CASE("cursor_store: SHALL set a damaged file aside as NAME.corrupt, out of the names") {
  temp_dir d;
  cursor_store c(d.path());
  c.save_fseq("sub.billing", 7);
  std::ofstream(d / "sub.bill") << "garbage";
  CHECK_THROWS_AS(c.load_fseq("sub.bill"), zmqkit::decode_error);
  CHECK(c.set_aside("sub.bill") == d / "sub.bill.corrupt");
  {
    std::ifstream kept(d / "sub.bill.corrupt");
    std::string bytes;
    kept >> bytes;
    CHECK(bytes == "garbage");  // as it was
  }
  CHECK_FALSE(c.load_fseq("sub.bill"));  // now absent
  CHECK(c.names() == std::vector<std::string>{"sub.billing"});
  CHECK(c.set_aside_files() == std::vector<std::string>{"sub.bill.corrupt"});
  c.save_fseq("sub.bill", 9);  // the next save leaves the damaged copy alone
  CHECK(c.load_fseq("sub.bill") == 9u);
  CHECK(fs::exists(d / "sub.bill.corrupt"));
  CHECK_THROWS_AS(c.set_aside("missing"), zmqkit::error);
}
