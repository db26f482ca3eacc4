#pragma once
// `trellis install-ca --dir DIR [--control-namespace linkerd] [--trust-domain cluster.local]
//   [--anchor-lifetime 8760h] [--issuer-lifetime 8760h] [--force]`
//
// Creates the mesh CA directory of contract C-2, which `trellis-control --ca-dir DIR` reads:
//   DIR/ca.crt      the trust anchor (self-signed root, "root.<control-ns>.<trust-domain>")
//   DIR/issuer.crt  the issuer, signed by the anchor ("identity.<control-ns>.<trust-domain>")
//   DIR/issuer.key  the issuer's private key, mode 0600
// Existing files are never overwritten without --force (replacing the anchor breaks every
// proxy that trusts the old one).

#include <chrono>
#include <iosfwd>
#include <string>

namespace trellis::cli {

struct InstallCaOptions {
  std::string dir;
  std::string control_namespace = "linkerd";
  std::string trust_domain = "cluster.local";
  std::string anchor_lifetime = "8760h";
  std::string issuer_lifetime = "8760h";
  bool force = false;
};

inline constexpr const char* kCaAnchorFile = "ca.crt";
inline constexpr const char* kCaIssuerCertFile = "issuer.crt";
inline constexpr const char* kCaIssuerKeyFile = "issuer.key";

// Exit codes: 0 = written, 1 = refused (files exist, no --force), 2 = usage or I/O error.
int run_install_ca(const InstallCaOptions& options, std::ostream& out, std::ostream& err,
                   std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace trellis::cli
