#include <zmqkit/curve.hpp>

#include <sys/stat.h>

#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "support/temp_dir.hpp"

using zmqkit::certificate;
using zmqkit::key_error;

namespace {

void write(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream(path) << text;
  ::chmod(path.c_str(), mode);
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  ::stat(path.c_str(), &st);
  return st.st_mode & 07777;
}

// The message of the key_error f throws, or "" if it throws none.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const key_error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("certificate: SHALL write a pair that reads back, the secret file 0600") {
  zmqkit::test::temp_dir dir;
  auto c = certificate::generate();
  c.metadata = {{"name", "billing"}};
  c.save(dir / "billing");

  CHECK(mode_of(dir / "billing.key_secret") == 0600);
  CHECK(mode_of(dir / "billing.key") == 0644);
  const auto secret = certificate::load(dir / "billing.key_secret");
  CHECK(secret.public_key == c.public_key);
  CHECK(secret.secret_key == c.secret_key);
  CHECK(secret.metadata == c.metadata);
  const auto pub = certificate::load(dir / "billing.key");
  CHECK(pub.public_key == c.public_key);
  CHECK(pub.secret_key.empty());
  CHECK(certificate::public_key_from(dir / "billing.key") == c.public_key);
  CHECK(certificate::public_key_from(c.public_key) == c.public_key);

  SUBCASE("and SHALL not overwrite an existing pair unless asked to") {
    const auto other = certificate::generate();
    CHECK(contains(error_of([&] { other.save(dir / "billing"); }), "exists already"));
    CHECK(certificate::load(dir / "billing.key").public_key == c.public_key);
    other.save(dir / "billing", true);
    CHECK(certificate::load(dir / "billing.key").public_key == other.public_key);
    CHECK(mode_of(dir / "billing.key_secret") == 0600);
  }
}

TEST_CASE("certificate: SHALL read the files czmq and pyzmq write") {
  zmqkit::test::temp_dir dir;
  const auto c = certificate::generate();
  // pyzmq: bare metadata values; czmq: quoted; both: 4-space indentation.
  write(dir / "py.key_secret",
        "#   ****  Generated on 2026-11-23 10:00:00 by pyzmq  ****\n"
        "#   ZeroMQ CURVE **Secret** Certificate\n\n"
        "metadata\n    owner = ops\ncurve\n"
        "    public-key = \"" + c.public_key + "\"\n"
        "    secret-key = \"" + c.secret_key + "\"\n",
        0600);
  write(dir / "cz.key", "#   czmq\r\n\r\nmetadata\r\n    name = \"x\"\r\ncurve\r\n    public-key = \"" +
                            c.public_key + "\"\r\n",
        0644);
  const auto py = certificate::load(dir / "py.key_secret");
  CHECK(py.secret_key == c.secret_key);
  CHECK(py.metadata == std::vector<std::pair<std::string, std::string>>{{"owner", "ops"}});
  CHECK(certificate::load(dir / "cz.key").public_key == c.public_key);
}

TEST_CASE("certificate: SHALL refuse bad files with one line naming the file") {
  zmqkit::test::temp_dir dir;
  const auto c = certificate::generate();
  const auto body = [&](const std::string& pub, const std::string& sec) {
    return "curve\n    public-key = \"" + pub + "\"\n" +
           (sec.empty() ? std::string() : "    secret-key = \"" + sec + "\"\n");
  };
  const auto refused = [&](const std::string& text, mode_t mode) {
    write(dir / "bad.key_secret", text, mode);
    const auto e = error_of([&] { certificate::load(dir / "bad.key_secret"); });
    CHECK(e.find('\n') == std::string::npos);
    CHECK(contains(e, dir / "bad.key_secret"));
    return e;
  };
  CHECK(contains(refused(body(c.public_key, c.secret_key), 0644), "chmod 600"));
  CHECK(contains(refused(body(c.public_key, c.secret_key), 0640), "mode 0640"));
  CHECK(contains(refused(body(c.public_key.substr(1), ""), 0600), "40 characters, this one has 39"));
  CHECK(contains(refused(body(c.public_key, c.secret_key.substr(0, 39) + "~"), 0600),
                 "is not a Z85 character"));
  const auto other = certificate::generate();
  CHECK(contains(refused(body(other.public_key, c.secret_key), 0600), "not the one its secret-key gives"));
  CHECK(contains(refused("hello\n", 0600), "no curve public-key"));
  CHECK(contains(refused(std::string("\x7f" "ELF\0\0\x01", 7), 0600), "not text"));
  CHECK(contains(refused("curve\n  public-key = \"x\"\n", 0600), "4 spaces"));
  CHECK(contains(refused("curve\n    public-key = \"" + c.public_key + "\n", 0600), "quote is not closed"));
  CHECK(contains(refused(std::string(100 * 1024, '#'), 0600), "too large"));
  CHECK(contains(error_of([&] { certificate::load(dir / "missing.key"); }), "No such file"));
  CHECK(contains(error_of([&] { certificate::load(dir.path()); }), "not a regular file"));
  CHECK(contains(error_of([&] { certificate::public_key_from("short"); }), "neither a certificate file"));
}

TEST_CASE("load_public_keys: SHALL take every NAME.key in a directory and list the bad ones") {
  zmqkit::test::temp_dir dir;
  const auto a = certificate::generate(), b = certificate::generate();
  a.save(dir / "a");
  b.save(dir / "b");
  write(dir / "junk.key", "not a certificate\n", 0644);
  write(dir / "notes.txt", "ignored\n", 0644);
  const auto found = zmqkit::load_public_keys(dir.path());
  CHECK(found.keys.size() == 2);
  CHECK(found.keys.count(zmqkit::z85_key_bytes(a.public_key)) == 1);
  CHECK(found.keys.count(zmqkit::z85_key_bytes(b.public_key)) == 1);
  REQUIRE(found.problems.size() == 1);
  CHECK(contains(found.problems[0], "junk.key"));
  CHECK(contains(error_of([&] { zmqkit::load_public_keys(dir / "nope"); }), "No such file"));
}
