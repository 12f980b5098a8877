// Unique endpoints per transport, so tests run in parallel without clashes:
// inproc and ipc names carry the pid and a counter; tcp binds port 0 ("*")
// and the test reads the kernel's choice back from the pattern.
#pragma once

#include <string>
#include <vector>

namespace zmqkit::test {

enum class transport { inproc, ipc, tcp };

const std::vector<transport>& all_transports();
const char* name(transport t);
// An address to bind: inproc://…, ipc:///tmp/…, or tcp://127.0.0.1:*.
std::string bind_address(transport t);

}  // namespace zmqkit::test
