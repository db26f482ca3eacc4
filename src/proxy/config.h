#pragma once
// Proxy configuration: every setting has an environment variable TRELLIS_PROXY_<NAME> (what the
// injector sets) and a command-line flag --<name> (flags win). The table in config.cc is the one
// list of settings; docs/proxy-config.md is generated from the same names.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "net/socket_address.h"

namespace trellis::proxy {

enum class OutboundMode { kTransparent, kIngress };

struct ProxyConfig {
  net::SocketAddress inbound_listen = *net::SocketAddress::parse("0.0.0.0:4143");
  net::SocketAddress outbound_listen = *net::SocketAddress::parse("127.0.0.1:4140");
  net::SocketAddress admin_listen = *net::SocketAddress::parse("127.0.0.1:4191");
  // Where inbound traffic is delivered: the application on this host, at the original port.
  std::string inbound_app_ip = "127.0.0.1";
  // When set, inbound connections without an original destination go to this port (tests and
  // ingress set-ups without iptables).
  uint16_t inbound_default_port = 0;
  OutboundMode mode = OutboundMode::kTransparent;
  int workers = 0;  // 0 = the CPU quota of this process (cgroup), at least 1
  std::string discovery_file;

  std::chrono::milliseconds detect_timeout{10000};
  std::chrono::milliseconds outbound_connect_timeout{1000};
  std::chrono::milliseconds inbound_connect_timeout{300};
  std::chrono::milliseconds outbound_failfast_timeout{3000};
  std::chrono::milliseconds inbound_failfast_timeout{1000};
  size_t queue_capacity = 10000;
  std::chrono::milliseconds http1_pool_idle_timeout{3000};
  size_t http1_pool_max_idle_per_endpoint = 10000;
  std::chrono::milliseconds tcp_idle_timeout{std::chrono::hours(1)};
  std::chrono::milliseconds header_read_timeout{10000};
  std::chrono::milliseconds shutdown_grace_period{120000};
  std::chrono::milliseconds metrics_retain_idle{600000};
  // Ports that skip protocol detection (Linkerd's default list).
  std::vector<uint16_t> opaque_ports{25, 587, 3306, 4444, 5432, 6379, 9300, 11211};
  std::string log_level = "info";
  bool admin_shutdown_enabled = false;

  // Control plane and identity (contract C-6).
  std::string control_addr;  // host:port of trellis-control's gRPC listener; empty: none
  std::string control_identity =
      "trellis-control.linkerd.serviceaccount.identity.linkerd.cluster.local";
  std::string identity_name;        // this proxy's identity; empty: taken from the certificate
  std::string identity_token_file;  // service-account token (C-3), re-read on every Certify
  std::string trust_anchors_file;   // PEM bundle of trust anchors
  std::string identity_cert_file;   // static credentials (tests, ingress) instead of Certify
  std::string identity_key_file;
  std::string ns = "default";       // the workload's namespace (short names resolve in it)
  std::string pod_name;
  // How long a discovery target nobody asked for is kept subscribed.
  std::chrono::milliseconds discovery_unused_timeout{600000};

  // True when the proxy has (or will obtain) a mesh identity.
  bool has_identity() const {
    return !identity_cert_file.empty() || (!control_addr.empty() && !identity_name.empty());
  }
};

struct ConfigSetting {
  std::string name;         // "detect-timeout": flag --detect-timeout, env TRELLIS_PROXY_DETECT_TIMEOUT
  std::string description;
  std::string default_value;
  std::function<base::Result<base::Ok, std::string>(ProxyConfig&, const std::string&)> apply;
};

const std::vector<ConfigSetting>& config_settings();

// "detect-timeout" -> "TRELLIS_PROXY_DETECT_TIMEOUT"
std::string env_name(const std::string& setting);

// Applies every TRELLIS_PROXY_* variable found through `getenv`. Errors name the variable and the
// value: `TRELLIS_PROXY_DETECT_TIMEOUT="5x" is not valid: unknown unit "x" ...`. Unknown
// TRELLIS_PROXY_* variables (in `environ`) are errors too, with a suggestion.
base::Result<base::Ok, std::string> apply_environment(
    ProxyConfig& config, const std::function<std::optional<std::string>(const std::string&)>& getenv,
    const std::vector<std::string>& all_names = {});

// The worker count to use: `configured` if > 0, else the cgroup CPU quota (rounded up), else the
// number of CPUs, at least 1.
int effective_workers(int configured);

}  // namespace trellis::proxy
