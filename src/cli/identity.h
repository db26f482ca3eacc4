#pragma once
// `trellis identity ADDR|POD [--admin-port 4191] [-o text|pem]`
//
// Prints the certificate chain a proxy is currently serving, read from its admin endpoint
// `GET /identity` (contract C-6): subject, DNS SAN, issuer, validity, serial, key and
// fingerprint per certificate; `-o pem` prints the chain as PEM instead. ADDR is the proxy's
// admin address (host:port, or a bare IP with --admin-port). Pod names need the local runtime
// (`trellis up`) to find the pod's address.

#include <chrono>
#include <iosfwd>
#include <string>
#include <vector>

namespace trellis::cli {

struct IdentityOptions {
  std::vector<std::string> targets;
  int admin_port = 4191;
  std::string output = "text";  // text | pem
};

// Resolves a target to an admin address: "host:port" as is, a bare IP + admin_port. Empty when
// the target is a pod name (needs the runtime).
std::string proxy_admin_address(const std::string& target, int admin_port);

// Exit codes: 0 = printed, 1 = a proxy had no certificate or could not be reached,
// 2 = usage error.
int run_identity(const IdentityOptions& options, std::ostream& out, std::ostream& err,
                 std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace trellis::cli
