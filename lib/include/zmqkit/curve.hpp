// CURVE keys and certificate files (docs/security.md).
//
// Certificates are ZPL text files in the layout czmq's zcert and pyzmq's
// zmq.auth write and read: NAME.key holds the public key, NAME.key_secret
// the public and the secret key, both as 40-character Z85 text:
//
//   metadata
//   curve
//       public-key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
//       secret-key = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
//
// Secret files are written 0600 and refused when group or others may read
// them. Every failure throws key_error with one line naming the file.
#pragma once

#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zmqkit {

// A key file or key text that cannot be used: missing, malformed, a bad Z85
// key, a secret file others can read. what() is one line naming the file.
struct key_error : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// The ZAP domain zmqkit's CURVE servers ask for and its authenticator serves.
inline constexpr const char* default_zap_domain = "zmqkit";

// Z85 text of a 32-byte CURVE key is exactly 40 characters.
inline constexpr std::size_t z85_key_size = 40;

// Throws key_error ("<what>: ...") unless text is a 40-character Z85 key.
void check_z85_key(std::string_view text, std::string_view what);
// The 32 bytes a valid Z85 key stands for (check_z85_key first).
std::string z85_key_bytes(std::string_view text);

struct certificate {
  std::string public_key;  // Z85
  std::string secret_key;  // Z85; empty in a public certificate
  std::vector<std::pair<std::string, std::string>> metadata;  // written as given

  // A new key pair from libzmq's CURVE implementation.
  static certificate generate();
  // Reads a .key or .key_secret file. With a secret key present, the file
  // must not be readable by group or others, and the public key must be
  // the one the secret key gives.
  static certificate load(const std::string& path);
  // Reads path when it is a file, else takes text as a Z85 key: what
  // --curve-server KEY|FILE means. Returns the public key.
  static std::string public_key_from(const std::string& key_or_file);

  // Writes base + ".key" (0644) and base + ".key_secret" (0600). Each file
  // is written beside its name and renamed into place, so a crash leaves
  // the old file or the new one. Existing files are refused unless
  // overwrite is set.
  void save(const std::string& base, bool overwrite = false) const;
  // The file's text: public only, or with the secret key.
  std::string to_text(bool with_secret) const;
};

// The public keys (as 32 bytes) of every NAME.key file in dir, as czmq's
// zcertstore and pyzmq's load_certificates read an allow-list directory.
// Files that cannot be read are listed in problems, one line each.
struct key_directory {
  std::set<std::string> keys;
  std::vector<std::string> problems;
};
key_directory load_public_keys(const std::string& dir);

}  // namespace zmqkit
