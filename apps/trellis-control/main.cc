// trellis-control: the control plane (DESIGN.md §1). Flags (contract C-4) → ControlPlaneOptions →
// run until SIGTERM/SIGINT.

#include <signal.h>

#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "base/duration.h"
#include "base/log.h"
#include "control/server/control_plane.h"

#ifndef TRELLIS_VERSION
#define TRELLIS_VERSION "0.0.0"
#endif

namespace {

using trellis::control::server::ControlPlane;
using trellis::control::server::ControlPlaneOptions;

bool parse_seconds(const std::string& flag, const std::string& text, std::chrono::seconds& out) {
  auto d = trellis::base::parse_go_duration(text);
  if (!d || d->count() <= 0) {
    std::fprintf(stderr, "trellis-control: %s: %s\n", flag.c_str(),
                 d ? "must be positive" : d.error().c_str());
    return false;
  }
  out = std::chrono::duration_cast<std::chrono::seconds>(*d);
  if (out.count() == 0) out = std::chrono::seconds(1);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"trellis-control: discovery, policy and identity for the Trellis mesh"};
  ControlPlaneOptions options;
  options.version = TRELLIS_VERSION;
  std::string token_ttl = "24h";
  std::string cert_ttl = "24h";
  std::string log_level = "info";
  app.add_option("--store-dir", options.store_dir, "directory of manifests (live-reloaded)")
      ->required();
  app.add_option("--ca-dir", options.ca_dir, "CA directory: ca.crt, issuer.crt, issuer.key")
      ->required();
  app.add_option("--listen", options.listen, "gRPC listener (TLS 1.3)")->capture_default_str();
  app.add_option("--admin-listen", options.admin_listen, "admin HTTP listener")
      ->capture_default_str();
  app.add_option("--token-dir", options.token_dir,
                 "write service-account tokens to DIR/<ns>/<sa>/token");
  app.add_option("--token-key-file", options.token_key_file,
                 "token signing key (32 bytes; created when missing)");
  app.add_option("--token-ttl", token_ttl, "token lifetime")->capture_default_str();
  app.add_option("--cert-ttl", cert_ttl, "leaf certificate lifetime")->capture_default_str();
  app.add_option("--control-namespace", options.domain.control_namespace)->capture_default_str();
  app.add_option("--trust-domain", options.domain.trust_domain)->capture_default_str();
  app.add_option("--cluster-domain", options.cluster_domain)->capture_default_str();
  app.add_option("--default-inbound-policy", options.default_inbound_policy)
      ->capture_default_str();
  app.add_option("--log-level", log_level)->capture_default_str();
  app.set_version_flag("--version", TRELLIS_VERSION);
  CLI11_PARSE(app, argc, argv);

  if (!parse_seconds("--token-ttl", token_ttl, options.token_ttl) ||
      !parse_seconds("--cert-ttl", cert_ttl, options.cert_ttl)) {
    return 2;
  }
  trellis::base::log::init("control", log_level);

  // Signals are taken synchronously by this thread; every thread started later inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto cp = ControlPlane::start(options);
  if (!cp) {
    TRELLIS_LOG_ERROR("{}", cp.error());
    return 1;
  }
  TRELLIS_LOG_INFO("control plane ready: grpc {}, admin {}", (*cp)->grpc_address().to_string(),
                   (*cp)->admin_address().to_string());
  int sig = 0;
  sigwait(&signals, &sig);
  TRELLIS_LOG_INFO("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  (*cp)->shutdown();
  return 0;
}
