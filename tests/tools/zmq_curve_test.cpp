// CURVE through the tools as real processes: zmq-keygen's files, every
// socket pair and a forwarder hop encrypted, the refusals that end a tool
// with exit 4, and pyzmq's zmq.auth certificates and CURVE sockets on the
// other end.
#include <sys/stat.h>

#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "support/python_peer.hpp"
#include "support/temp_dir.hpp"
#include "tools/forwarder_runner.hpp"

using namespace zmqkit::test;
using namespace std::chrono_literals;

namespace {

const std::string any_port = "@tcp://127.0.0.1:*";
const std::string curve_peer = ZMQKIT_TEST_SOURCE_DIR "/tools/curve_peer.py";

// Certificates made with zmq-keygen: a server, an allowed client, a
// stranger, and the allow-list directory holding the client's public key.
struct keys {
  temp_dir dir{"zmqkit-curve"};
  std::string allow = dir / "allow";
  keys() {
    std::filesystem::create_directory(allow);
    for (const char* name : {"server", "client", "stranger"}) make(name);
    allow_key(dir / "client.key");
  }
  // Makes NAME.key and NAME.key_secret in the directory; returns the public key.
  std::string make(const std::string& name) {
    const auto r = run({"zmq-keygen", name, "--dir", dir.path()});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    REQUIRE(r.lines.size() == 1);
    return r.lines[0];
  }
  void allow_key(const std::string& public_file) {
    std::filesystem::copy_file(public_file, allow + "/" + std::filesystem::path(public_file).filename().string());
  }
  std::string secret(const std::string& name) const { return dir / (name + ".key_secret"); }
  std::string pub(const std::string& name) const { return dir / (name + ".key"); }
  // Server-side options: our secret, the allow list.
  std::vector<std::string> server_args() const {
    return {"--curve-secret", secret("server"), "--curve-allow", allow};
  }
  std::vector<std::string> client_args(const std::string& who, const std::string& server = "server") const {
    return {"--curve-secret", secret(who), "--curve-server", pub(server)};
  }
};

std::vector<std::string> cat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  ::stat(path.c_str(), &st);
  return st.st_mode & 07777;
}

// A zmq-pub that binds with CURVE, waits for one subscriber, sends two lines.
std::unique_ptr<process> secured_pub(const keys& k) {
  auto p = std::make_unique<process>(tool(cat({"zmq-pub", any_port, "-v", "--wait-subscribers", "1",
                                               "--wait-timeout", "20", "-m", "first", "-m", "second"},
                                              k.server_args())));
  return p;
}

}  // namespace

TEST_CASE("zmq-keygen: SHALL write a pair, the secret 0600, and print public keys") {
  keys k;
  CHECK(mode_of(k.secret("server")) == 0600);
  CHECK(mode_of(k.pub("server")) == 0644);
  const auto from_secret = run({"zmq-keygen", "--public", k.secret("server")});
  const auto from_public = run({"zmq-keygen", "--public", k.pub("server")});
  CHECK(from_secret.exit_code == 0);
  REQUIRE(from_secret.lines.size() == 1);
  CHECK(from_secret.lines[0].size() == 40);
  CHECK(from_public.lines == from_secret.lines);

  SUBCASE("and SHALL refuse to replace a pair without --force") {
    check_usage_error({"zmq-keygen", "server", "--dir", k.dir.path()});
    CHECK(run({"zmq-keygen", "server", "--dir", k.dir.path(), "--force"}).exit_code == 0);
    CHECK(run({"zmq-keygen", "--public", k.pub("server")}).lines != from_secret.lines);
  }
  SUBCASE("and SHALL refuse bad names, files and arguments with one line") {
    check_usage_error({"zmq-keygen"});
    check_usage_error({"zmq-keygen", "../escape", "--dir", k.dir.path()});
    check_usage_error({"zmq-keygen", "x", "--public", k.pub("server")});
    check_usage_error({"zmq-keygen", "x", "--dir", k.dir.path(), "-M", "novalue"});
    check_usage_error({"zmq-keygen", "--public", "/etc/hostname"});
    check_usage_error({"zmq-keygen", "--public", k.dir / "missing.key"});
    ::chmod(k.secret("client").c_str(), 0644);
    const auto open = run({"zmq-keygen", "--public", k.secret("client")});
    CHECK(open.exit_code == 2);
    CHECK(open.err.find("chmod 600") != std::string::npos);
  }
}

TEST_CASE("zmq-keygen: SHALL show help with its own exit codes, not the socket tools' endpoints") {
  const auto r = run({"zmq-keygen", "--help"});
  CHECK(r.exit_code == 0);
  std::string help;
  for (const auto& l : r.lines) help += l + "\n";
  CHECK(help.find("Exit codes: 0 done, 1 other failure") != std::string::npos);
  CHECK(help.find("zmq-keygen --public") != std::string::npos);
  for (const char* absent : {"Endpoints:", "binds", "idle timeout", "peer unavailable"})
    CHECK_MESSAGE(help.find(absent) == std::string::npos, absent);
}

TEST_CASE("zmq-keygen: SHALL agree with pyzmq's zmq.auth in both directions") {
  if (python_skipped(curve_peer)) return;
  keys k;
  // Ours, read by pyzmq.
  process load(python_argv(curve_peer, {"load", k.secret("client")}));
  const auto line = load.read_line(line_deadline);
  REQUIRE_MESSAGE(line, load.stderr_text());
  const auto ours = run({"zmq-keygen", "--public", k.secret("client")}).lines.at(0);
  CHECK(line->substr(0, 40) == ours);
  CHECK(line->size() == 81);  // the secret key came too

  // pyzmq's, read by us: the public key, and the secret once it is 0600
  // (pyzmq writes it with the umask's mode).
  process certs(python_argv(curve_peer, {"certs", k.dir.path(), "py"}));
  const auto theirs = certs.read_line(line_deadline);
  REQUIRE_MESSAGE(theirs, certs.stderr_text());
  CHECK(run({"zmq-keygen", "--public", k.pub("py")}).lines == std::vector<std::string>{*theirs});
  ::chmod(k.secret("py").c_str(), 0600);
  CHECK(run({"zmq-keygen", "--public", k.secret("py")}).lines == std::vector<std::string>{*theirs});
}

TEST_CASE("curve tools: SHALL carry pub/sub, push/pull and req/rep encrypted") {
  keys k;
  SUBCASE("zmq-pub and zmq-sub") {
    auto pub = secured_pub(k);
    const auto endpoint = ready_endpoint(*pub);
    const auto r = run(cat({"zmq-sub", ">" + endpoint, "-C", "2"}, k.client_args("client")));
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    CHECK(r.lines == std::vector<std::string>{"first", "second"});
    CHECK(exit_code(*pub) == 0);
  }
  SUBCASE("zmq-push and zmq-pull") {
    process pull(tool(cat({"zmq-pull", any_port, "-v", "-C", "1"}, k.server_args())));
    const auto endpoint = ready_endpoint(pull);
    const auto r = run(cat({"zmq-push", ">" + endpoint, "-m", "job-1"}, k.client_args("client")));
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    CHECK(next_line(pull) == "job-1");
    CHECK(exit_code(pull) == 0);
  }
  SUBCASE("zmq-req and zmq-rep") {
    process rep(tool(cat({"zmq-rep", any_port, "-v", "-C", "1", "-q"}, k.server_args())));
    const auto endpoint = ready_endpoint(rep);
    const auto r = run(cat({"zmq-req", ">" + endpoint, "-m", "ping"}, k.client_args("client")));
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    CHECK(r.lines == std::vector<std::string>{"ping"});
    CHECK(exit_code(rep) == 0);
  }
}

TEST_CASE("curve tools: SHALL end a refused client with exit 4 and one clear line") {
  keys k;
  auto pub = secured_pub(k);
  const auto endpoint = ready_endpoint(*pub);
  const auto refused = [&](const std::vector<std::string>& argv, const std::string& why) {
    const auto r = run(argv);
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == 4);
    CHECK(r.lines.empty());
    CHECK(r.err.find(why) != std::string::npos);
    CHECK(r.err.find('\n') == r.err.size() - 1);
  };
  refused(cat({"zmq-sub", ">" + endpoint}, k.client_args("stranger")),
          "refused us (ZAP status 400): is our public key in the server's --curve-allow");
  refused(cat({"zmq-sub", ">" + endpoint}, k.client_args("client", "stranger")),
          "is --curve-server its public key");
  // Depending on timing libzmq reports a mechanism mismatch or a closed handshake.
  refused({"zmq-sub", ">" + endpoint}, "CURVE");
  refused(cat({"zmq-push", ">" + endpoint, "-m", "x"}, k.client_args("client", "stranger")),
          "is --curve-server its public key");
  // Waiting for pullers, zmq-push reads the events itself and still stops.
  refused(cat({"zmq-push", ">" + endpoint, "-m", "x", "--wait-pullers", "1", "--wait-timeout", "60"},
              k.client_args("client", "stranger")),
          "is --curve-server its public key");
  // None of them counted as a subscriber: the real one still gets both.
  const auto r = run(cat({"zmq-sub", ">" + endpoint, "-C", "2"}, k.client_args("client")));
  CHECK(r.lines == std::vector<std::string>{"first", "second"});
  CHECK(exit_code(*pub) == 0);
}

TEST_CASE("curve tools: SHALL refuse CURVE options that do not fit the endpoints") {
  keys k;
  check_usage_error(cat({"zmq-pub", any_port}, {"--curve-secret", k.secret("server")}));
  check_usage_error(cat({"zmq-sub", ">tcp://127.0.0.1:5999"}, {"--curve-secret", k.secret("client")}));
  check_usage_error({"zmq-sub", ">tcp://127.0.0.1:5999", "--curve-server", k.pub("server")});
  check_usage_error({"zmq-pub", any_port, "--curve-allow", k.allow});
  check_usage_error(cat({"zmq-sub", ">tcp://127.0.0.1:5999", "--curve-allow", k.allow}, k.client_args("client")));
  check_usage_error(cat({"zmq-pub", "@ipc://" + (k.dir / "sock")}, k.server_args()));
  check_usage_error(cat({"zmq-sub", ">tcp://127.0.0.1:5999", "--curve-server", "tooshort"},
                        {"--curve-secret", k.secret("client")}));
  check_usage_error(cat({"zmq-sub", ">tcp://127.0.0.1:5999", "--curve-server", k.pub("server")},
                        {"--curve-secret", k.pub("client")}));  // a public file as our secret
  check_usage_error(cat({"zmq-pub", any_port, "--curve-allow", k.dir / "nope"},
                        {"--curve-secret", k.secret("server")}));
  check_usage_error({"zmq-forwarder", "-d", k.dir / "j", "--intake", any_port, "--replay", any_port,
                     "--curve-secret", k.secret("server")});
}

TEST_CASE("curve tools: SHALL talk to pyzmq CURVE clients with certificates pyzmq made") {
  if (python_skipped(curve_peer)) return;
  keys k;
  process certs(python_argv(curve_peer, {"certs", k.dir.path(), "py"}));
  REQUIRE_MESSAGE(certs.read_line(line_deadline), certs.stderr_text());
  k.allow_key(k.pub("py"));

  SUBCASE("a pyzmq SUB receives from zmq-pub") {
    auto pub = secured_pub(k);
    const auto endpoint = ready_endpoint(*pub);
    process py(python_argv(curve_peer, {"sub", endpoint, k.secret("py"), k.pub("server"), "2"}));
    const auto lines = read_lines(py);
    INFO("pyzmq stderr: " << py.stderr_text());
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].find("\"payload\": \"first\"") != std::string::npos);
    CHECK(lines[1].find("\"payload\": \"second\"") != std::string::npos);
    CHECK(exit_code(py) == 0);
    CHECK(exit_code(*pub) == 0);
  }
  SUBCASE("zmq-sub receives from a pyzmq publisher") {
    process sub(tool(cat({"zmq-sub", any_port, "-v", "-C", "3"}, k.server_args())));
    const auto endpoint = ready_endpoint(sub);
    process py(python_argv(curve_peer, {"pub", endpoint, k.secret("py"), k.pub("server"), "3"}));
    CHECK(read_lines(sub) == std::vector<std::string>{"curve 1", "curve 2", "curve 3"});
    py.write_stdin("done\n");
    py.close_stdin();
    INFO("pyzmq stderr: " << py.stderr_text());
    CHECK(exit_code(py) == 0);
    CHECK(exit_code(sub) == 0);
  }
}

TEST_CASE("curve tools: SHALL secure a forwarder hop from publisher to durable subscriber") {
  keys k;
  k.make("hop-a");
  k.make("hop-b");
  k.make("publisher");
  // B lets in A's link and the subscriber; A lets in the publisher.
  temp_dir allow_a("zmqkit-allow-a"), allow_b("zmqkit-allow-b");
  std::filesystem::copy_file(k.pub("hop-a"), allow_b / "hop-a.key");
  std::filesystem::copy_file(k.pub("client"), allow_b / "client.key");
  std::filesystem::copy_file(k.pub("publisher"), allow_a / "publisher.key");
  temp_dir journal_a("zmqkit-hop-a"), journal_b("zmqkit-hop-b");

  forwarder_proc b(journal_b.path(), {"--intake", any_port, "--replay", any_port, "--curve-secret",
                                      k.secret("hop-b"), "--curve-allow", allow_b.path()});
  forwarder_proc a(journal_a.path(), {"--intake", any_port, "--replay", "none", "--forward-to",
                                      ">" + b.at["intake"], "--curve-secret", k.secret("hop-a"),
                                      "--curve-allow", allow_a.path(), "--curve-server",
                                      k.pub("hop-b")});
  const auto sent = run(cat({"zmq-pub", "--reliable", ">" + a.at["intake"], "-l", "-t", "order_placed"},
                            k.client_args("publisher", "hop-a")),
                        numbered_lines(1, 200));
  REQUIRE_MESSAGE(sent.exit_code == 0, sent.err);

  const auto got = run(cat({"zmq-sub", "--durable", "audit", "--replay", "first", ">" + b.at["replay"],
                            "-C", "200"},
                           k.client_args("client", "hop-b")));
  CHECK_MESSAGE(got.exit_code == 0, got.err);
  CHECK(got.lines == std::vector<std::string>(
                         [] {
                           std::vector<std::string> v;
                           for (int i = 1; i <= 200; ++i) v.push_back(std::to_string(i));
                           return v;
                         }()));

  SUBCASE("and SHALL refuse a subscriber B does not know, and a plain one") {
    const auto stranger = run(cat({"zmq-sub", "--durable", "x", ">" + b.at["replay"]},
                                  k.client_args("stranger", "hop-b")));
    CHECK(stranger.exit_code == 4);
    const auto plain = run({"zmq-sub", "--durable", "x", ">" + b.at["replay"]});
    CHECK(plain.exit_code == 4);
  }
  SUBCASE("and SHALL end a forwarder whose link B refuses with exit 4") {
    temp_dir journal_c("zmqkit-hop-c");
    forwarder_proc c(journal_c.path(), {"--intake", any_port, "--replay", "none", "--forward-to",
                                        ">" + b.at["intake"], "--curve-secret", k.secret("stranger"),
                                        "--curve-allow", allow_a.path(), "--curve-server",
                                        k.pub("hop-b")});
    CHECK(exit_code(*c.p) == 4);
    CHECK(c.p->stderr_text().find(b.at["intake"] + " refused us") != std::string::npos);
  }
}
