// Certificate files. The reader takes the part of ZPL (the ZeroMQ Property
// Language, rfc.zeromq.org/spec/4) that certificates use: "#" comments,
// sections by four-space indentation, name = value with the value quoted or
// bare. That reads what czmq and pyzmq write, and writes what they read.
#include <zmqkit/curve.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include <zmq.h>

#include "posix_file.hpp"

namespace zmqkit {
namespace {

constexpr std::string_view z85_alphabet =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
// A certificate is a few hundred bytes; anything far larger is not one.
constexpr off_t max_file_size = 64 * 1024;

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string read_small_file(const std::string& path, struct stat& st) {
  // The mode checked is the mode of the file opened (a symlink's target).
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw key_error(path + ": " + std::strerror(errno));
  detail::fd_handle handle(fd);
  if (::fstat(fd, &st) != 0) throw key_error(path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw key_error(path + ": not a regular file");
  if (st.st_size > max_file_size) throw key_error(path + ": too large for a certificate");
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  const auto n = detail::pread_some(fd, text.data(), text.size(), 0, path);
  text.resize(n);
  return text;
}

std::string now_text() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::array<char, 32> buf{};
  std::strftime(buf.data(), buf.size(), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf.data();
}

// Writes text to path by way of a temporary beside it: link() refuses to
// replace an existing file, rename() replaces it.
void write_file(const std::string& path, const std::string& text, mode_t mode, bool overwrite) {
  const auto tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  {
    auto fd = detail::open_file(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    // The umask may have taken bits away; it never adds any. Set exactly.
    if (::fchmod(fd.get(), mode) != 0) detail::throw_errno(errno, "fchmod", tmp);
    detail::write_all(fd.get(), text, tmp);
    detail::sync_data(fd.get(), tmp);
  }
  const int rc = overwrite ? ::rename(tmp.c_str(), path.c_str()) : ::link(tmp.c_str(), path.c_str());
  const int err = errno;
  ::unlink(tmp.c_str());
  if (rc != 0 && err == EEXIST)
    throw key_error(path + ": exists already; not replaced");
  if (rc != 0) detail::throw_errno(err, overwrite ? "rename" : "link", path);
}

}  // namespace

void check_z85_key(std::string_view text, std::string_view what) {
  if (text.size() != z85_key_size)
    throw key_error(std::string(what) + ": a Z85 CURVE key is 40 characters, this one has " +
                    std::to_string(text.size()));
  for (const char c : text)
    if (z85_alphabet.find(c) == std::string_view::npos)
      throw key_error(std::string(what) + ": " + quoted(std::string(1, c)) +
                      " is not a Z85 character");
  std::array<std::uint8_t, 32> bytes{};
  const std::string z(text);
  if (zmq_z85_decode(bytes.data(), z.c_str()) == nullptr)
    throw key_error(std::string(what) + ": not a valid Z85 key");
}

std::string z85_key_bytes(std::string_view text) {
  std::array<std::uint8_t, 32> bytes{};
  const std::string z(text);
  if (zmq_z85_decode(bytes.data(), z.c_str()) == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

certificate certificate::generate() {
  std::array<char, z85_key_size + 1> pub{}, sec{};
  if (zmq_curve_keypair(pub.data(), sec.data()) != 0)
    throw key_error(std::string("cannot make a CURVE key pair: ") + zmq_strerror(zmq_errno()));
  certificate c;
  c.public_key = pub.data();
  c.secret_key = sec.data();
  return c;
}

certificate certificate::load(const std::string& path) {
  struct stat st {};
  const auto text = read_small_file(path, st);
  certificate c;
  std::vector<std::string> sections;  // the path to the current line's parent
  std::size_t line_no = 0, start = 0;
  while (start <= text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    start = end + 1;
    ++line_no;
    const auto where = path + ": line " + std::to_string(line_no);
    if (line.find('\0') != std::string_view::npos) throw key_error(where + ": not text");
    std::size_t indent = 0;
    while (indent < line.size() && line[indent] == ' ') ++indent;
    const auto body = trim(line.substr(indent));
    if (body.empty() || body.front() == '#') continue;
    const auto level = indent / 4;
    if (indent % 4 != 0 || level > sections.size())
      throw key_error(where + ": indentation must be 4 spaces per level");
    sections.resize(level);
    const auto eq = body.find('=');
    const auto name = trim(body.substr(0, eq));
    if (name.empty()) throw key_error(where + ": a name is missing before '='");
    std::string_view value;
    if (eq != std::string_view::npos) {
      value = trim(body.substr(eq + 1));
      if (!value.empty() && (value.front() == '"' || value.front() == '\'')) {
        const auto close = value.find(value.front(), 1);
        if (close == std::string_view::npos) throw key_error(where + ": the quote is not closed");
        value = value.substr(1, close - 1);
      } else {
        value = trim(value.substr(0, value.find('#')));
      }
    }
    std::string full;
    for (const auto& s : sections) full += s + "/";
    full += std::string(name);
    if (full == "curve/public-key") c.public_key = std::string(value);
    else if (full == "curve/secret-key") c.secret_key = std::string(value);
    else if (level == 1 && sections[0] == "metadata")
      c.metadata.emplace_back(std::string(name), std::string(value));
    sections.emplace_back(name);
  }
  if (c.public_key.empty())
    throw key_error(path + ": no curve public-key in it (is it a ZeroMQ certificate?)");
  check_z85_key(c.public_key, path + ": public-key");
  if (!c.secret_key.empty()) {
    if ((st.st_mode & 077) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      throw key_error(path + ": holds a secret key but group or others may read it (mode " +
                      mode + "); run chmod 600 " + path);
    }
    check_z85_key(c.secret_key, path + ": secret-key");
    std::array<char, z85_key_size + 1> derived{};
    if (zmq_curve_public(derived.data(), c.secret_key.c_str()) != 0 ||
        c.public_key != derived.data())
      throw key_error(path + ": public-key is not the one its secret-key gives");
  }
  return c;
}

std::string certificate::public_key_from(const std::string& key_or_file) {
  struct stat st {};
  if (::stat(key_or_file.c_str(), &st) == 0) return load(key_or_file).public_key;
  if (key_or_file.size() != z85_key_size)
    throw key_error(quoted(key_or_file) +
                    ": neither a certificate file nor a 40-character Z85 public key");
  check_z85_key(key_or_file, "server key");
  return key_or_file;
}

std::string certificate::to_text(bool with_secret) const {
  std::string t = "#   ****  Generated on " + now_text() + " by zmqkit  ****\n";
  t += with_secret ? "#   ZeroMQ CURVE **Secret** Certificate\n"
                     "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n"
                   : "#   ZeroMQ CURVE Public Certificate\n"
                     "#   Exchange securely, or use a secure mechanism to verify the contents\n"
                     "#   of this file after exchange.\n";
  t += "\nmetadata\n";
  for (const auto& [k, v] : metadata) t += "    " + k + " = \"" + v + "\"\n";
  t += "curve\n    public-key = \"" + public_key + "\"\n";
  if (with_secret) t += "    secret-key = \"" + secret_key + "\"\n";
  return t;
}

void certificate::save(const std::string& base, bool overwrite) const {
  check_z85_key(public_key, "public key");
  check_z85_key(secret_key, "secret key");
  for (const auto& [k, v] : metadata)
    if (k.find_first_of("=#\"\n ") != std::string::npos || v.find_first_of("\"\n") != std::string::npos)
      throw key_error("metadata " + quoted(k) + ": names and values cannot hold quotes or newlines");
  if (!overwrite)
    for (const auto* suffix : {".key", ".key_secret"})
      if (detail::exists(base + suffix))
        throw key_error(base + suffix + ": exists already; not replaced");
  write_file(base + ".key_secret", to_text(true), 0600, overwrite);
  write_file(base + ".key", to_text(false), 0644, overwrite);
  const auto slash = base.rfind('/');
  detail::sync_directory(slash == std::string::npos ? "." : slash == 0 ? "/" : base.substr(0, slash));
}

key_directory load_public_keys(const std::string& dir) {
  key_directory out;
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0)
    throw key_error(dir + ": " + std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) throw key_error(dir + ": not a directory");
  std::vector<std::string> names;
  try {
    names = detail::list_directory(dir);
  } catch (const std::exception& e) {
    throw key_error(e.what());
  }
  for (const auto& name : names) {
    if (name.size() <= 4 || name.compare(name.size() - 4, 4, ".key") != 0) continue;
    try {
      const auto c = certificate::load(dir + "/" + name);
      out.keys.insert(z85_key_bytes(c.public_key));
    } catch (const key_error& e) {
      out.problems.emplace_back(e.what());
    }
  }
  return out;
}

}  // namespace zmqkit
