// zmq-keygen: make a CURVE certificate pair, or print a certificate's
// public key (docs/security.md).
#include <zmqkit/curve.hpp>
#include <zmqkit/durable_subscriber.hpp>

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "common/cli.hpp"

namespace {

// The names durable subscriptions take, and not hidden: a file name that
// is safe in any directory and in a shell.
bool valid_name(const std::string& n) {
  return zmqkit::durable_subscriber::valid_name(n) && n.front() != '.';
}

}  // namespace

int main(int argc, char** argv) {
  using namespace zmqkit;
  using namespace zmqkit::tools;
  const std::string tool = "zmq-keygen";
  CLI::App app{"Make a CURVE key pair as two certificate files, DIR/NAME.key (public, to hand out)\n"
               "and DIR/NAME.key_secret (secret, mode 0600), in the format czmq and pyzmq's\n"
               "zmq.auth read. Prints the public key on stdout.",
               tool};
  std::string name, dir = ".", public_of;
  std::vector<std::string> meta;
  bool force = false;
  app.add_option("name", name, "Certificate name: 1 to 128 of A-Z a-z 0-9 . _ -");
  app.add_option("--dir", dir, "Directory to write into (created if missing) [.]");
  app.add_option("--public", public_of, "Print the public key of this certificate (.key or .key_secret) and exit");
  app.add_option("-M,--meta", meta, "Metadata KEY=VALUE written into both files (repeatable)");
  app.add_flag("--force", force, "Replace existing files of that name");
  app.footer(help_footer(
      "  zmq-keygen forwarder-b --dir /etc/zmqkit            the server's pair\n"
      "  zmq-keygen billing --dir ~/.curve -M owner=billing  a client's pair\n"
      "  zmq-keygen --public /etc/zmqkit/forwarder-b.key      its public key, for --curve-server\n",
      "Exit codes: 0 done, 1 other failure (a directory that cannot be written), 2 usage\n"
      "(a bad name or option, a file that is not a certificate or a secret others can\n"
      "read, a pair that exists without --force).\n"));

  return run_tool(app, argc, argv, [&] {
    if (!public_of.empty()) {
      if (!name.empty()) throw usage_error("give NAME or --public FILE, not both");
      std::cout << certificate::load(public_of).public_key << "\n";
      return int(exit_ok);
    }
    if (name.empty()) throw usage_error("NAME is required (or --public FILE)");
    if (!valid_name(name)) throw usage_error("name '" + name + "': use 1 to 128 of A-Z a-z 0-9 . _ -, not starting with '.'");
    auto cert = certificate::generate();
    for (const auto& m : meta) {
      const auto eq = m.find('=');
      if (eq == std::string::npos || eq == 0)
        throw usage_error("--meta '" + m + "': expected KEY=VALUE");
      cert.metadata.emplace_back(m.substr(0, eq), m.substr(eq + 1));
    }
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
      throw std::runtime_error(dir + ": " + std::strerror(errno));
    const auto base = dir + "/" + name;
    for (const auto* suffix : {".key", ".key_secret"}) {
      struct stat st {};
      if (!force && ::stat((base + suffix).c_str(), &st) == 0)
        throw usage_error(base + suffix + ": exists already; --force replaces it");
    }
    cert.save(base, force);
    say(tool, "wrote " + base + ".key (public) and " + base + ".key_secret (secret, mode 0600)");
    std::cout << cert.public_key << "\n";
    return int(exit_ok);
  });
}
