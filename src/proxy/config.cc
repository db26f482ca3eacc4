#include "proxy/config.h"

#include <fstream>
#include <thread>

#include "base/duration.h"
#include "base/strings.h"

namespace trellis::proxy {
namespace {

using Apply = std::function<base::Result<base::Ok, std::string>(ProxyConfig&, const std::string&)>;

Apply address(net::SocketAddress ProxyConfig::*field) {
  return [field](ProxyConfig& c, const std::string& v) -> base::Result<base::Ok, std::string> {
    auto a = net::SocketAddress::parse(v);
    if (!a) return base::unexpected(a.error());
    c.*field = *a;
    return base::Ok{};
  };
}

Apply duration(std::chrono::milliseconds ProxyConfig::*field) {
  return [field](ProxyConfig& c, const std::string& v) -> base::Result<base::Ok, std::string> {
    auto d = base::parse_go_duration(v);
    if (!d) return base::unexpected(d.error());
    if (d->count() < 0) return base::unexpected(std::string("must not be negative"));
    c.*field = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
    return base::Ok{};
  };
}

Apply text(std::string ProxyConfig::*field) {
  return [field](ProxyConfig& c, const std::string& v) -> base::Result<base::Ok, std::string> {
    c.*field = v;
    return base::Ok{};
  };
}

// An identity-like DNS name: lowercase labels of [a-z0-9-] (checked again by tls::Identity).
Apply dns_name(std::string ProxyConfig::*field, bool allow_empty) {
  return [field, allow_empty](ProxyConfig& c,
                              const std::string& v) -> base::Result<base::Ok, std::string> {
    if (v.empty() && allow_empty) {
      c.*field = v;
      return base::Ok{};
    }
    if (v.empty() || v.size() > 253) return base::unexpected(std::string("expected a DNS name"));
    for (auto label : base::split(v, '.')) {
      if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
        return base::unexpected(std::string("expected a lowercase DNS name"));
      }
      for (char ch : label) {
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-')) {
          return base::unexpected(std::string("expected a lowercase DNS name"));
        }
      }
    }
    c.*field = v;
    return base::Ok{};
  };
}

base::Result<uint64_t, std::string> parse_uint(const std::string& v, uint64_t max) {
  if (v.empty() || v.size() > 19) return base::unexpected(std::string("expected a number"));
  uint64_t out = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return base::unexpected(std::string("expected a number"));
    out = out * 10 + static_cast<uint64_t>(c - '0');
  }
  if (out > max) return base::unexpected("must be at most " + std::to_string(max));
  return out;
}

base::Result<bool, std::string> parse_bool(const std::string& v) {
  if (v == "true" || v == "1") return true;
  if (v == "false" || v == "0") return false;
  return base::unexpected(std::string("expected true or false"));
}

// "25,587,3306" or ranges "4000-4010".
base::Result<std::vector<uint16_t>, std::string> parse_ports(const std::string& v) {
  std::vector<uint16_t> out;
  if (base::trim(v).empty()) return out;
  for (auto part : base::split(v, ',')) {
    part = base::trim(part);
    const size_t dash = part.find('-');
    auto lo = parse_uint(std::string(part.substr(0, dash)), 65535);
    if (!lo || *lo == 0) return base::unexpected("invalid port \"" + std::string(part) + "\"");
    uint64_t hi_value = *lo;
    if (dash != std::string_view::npos) {
      auto hi = parse_uint(std::string(part.substr(dash + 1)), 65535);
      if (!hi || *hi < *lo) return base::unexpected("invalid port range \"" + std::string(part) + "\"");
      hi_value = *hi;
    }
    if (hi_value - *lo > 65535) return base::unexpected(std::string("range too large"));
    for (uint64_t p = *lo; p <= hi_value; ++p) out.push_back(static_cast<uint16_t>(p));
  }
  return out;
}

}  // namespace

const std::vector<ConfigSetting>& config_settings() {
  static const std::vector<ConfigSetting> settings = {
      {"inbound-listen-addr", "Inbound listener (redirected inbound traffic)", "0.0.0.0:4143",
       address(&ProxyConfig::inbound_listen)},
      {"outbound-listen-addr", "Outbound listener (redirected outbound traffic)", "127.0.0.1:4140",
       address(&ProxyConfig::outbound_listen)},
      {"admin-listen-addr", "Admin server: /metrics /ready /live /config_dump", "127.0.0.1:4191",
       address(&ProxyConfig::admin_listen)},
      {"inbound-app-ip", "Address of the application inbound traffic is delivered to", "127.0.0.1",
       [](ProxyConfig& c, const std::string& v) -> base::Result<base::Ok, std::string> {
         auto ip = base::IpAddress::parse(v);
         if (!ip) return base::unexpected(ip.error());
         c.inbound_app_ip = v;
         return base::Ok{};
       }},
      {"inbound-default-port",
       "Application port for inbound connections that were not redirected (0 = refuse them)", "0",
       [](ProxyConfig& c, const std::string& v) -> base::Result<base::Ok, std::string> {
         auto p = parse_uint(v, 65535);
         if (!p) return base::unexpected(p.error());
         c.inbound_default_port = static_cast<uint16_t>(*p);
         return base::Ok{};
       }},
      {"mode", "Outbound target selection: transparent (SO_ORIGINAL_DST) or ingress "
               "(l5d-dst-override, then Host)", "transparent",
       [](ProxyConfig& c, const std::string& v) -> base::Result<base::Ok, std::string> {
         if (v == "transparent") c.mode = OutboundMode::kTransparent;
         else if (v == "ingress") c.mode = OutboundMode::kIngress;
         else return base::unexpected(std::string("expected transparent or ingress"));
         return base::Ok{};
       }},
      {"workers", "Worker threads (0 = the CPU quota)", "0",
       [](ProxyConfig& c, const std::string& v) -> base::Result<base::Ok, std::string> {
         auto n = parse_uint(v, 256);
         if (!n) return base::unexpected(n.error());
         c.workers = static_cast<int>(*n);
         return base::Ok{};
       }},
      {"discovery-file", "Static discovery file (YAML/JSON), reloaded on change", "",
       [](ProxyConfig& c, const std::string& v) -> base::Result<base::Ok, std::string> {
         c.discovery_file = v;
         return base::Ok{};
       }},
      {"detect-timeout", "Protocol detection timeout; then the connection is opaque TCP", "10s",
       duration(&ProxyConfig::detect_timeout)},
      {"outbound-connect-timeout", "Connect timeout to outbound endpoints", "1s",
       duration(&ProxyConfig::outbound_connect_timeout)},
      {"inbound-connect-timeout", "Connect timeout to the local application", "300ms",
       duration(&ProxyConfig::inbound_connect_timeout)},
      {"outbound-failfast-timeout", "How long requests wait for an available endpoint before 503",
       "3s", duration(&ProxyConfig::outbound_failfast_timeout)},
      {"inbound-failfast-timeout", "Same for inbound", "1s",
       duration(&ProxyConfig::inbound_failfast_timeout)},
      {"queue-capacity", "Requests that may wait for an endpoint, per service port", "10000",
       [](ProxyConfig& c, const std::string& v) -> base::Result<base::Ok, std::string> {
         auto n = parse_uint(v, 1000000);
         if (!n) return base::unexpected(n.error());
         c.queue_capacity = *n;
         return base::Ok{};
       }},
      {"http1-pool-idle-timeout", "Idle HTTP/1 connections to an endpoint are closed after", "3s",
       duration(&ProxyConfig::http1_pool_idle_timeout)},
      {"tcp-idle-timeout", "Opaque TCP connections idle this long are closed", "1h",
       duration(&ProxyConfig::tcp_idle_timeout)},
      {"header-read-timeout", "Total time allowed to receive a request's headers (408 after)",
       "10s", duration(&ProxyConfig::header_read_timeout)},
      {"shutdown-grace-period", "On SIGTERM, how long in-flight requests may finish", "120s",
       duration(&ProxyConfig::shutdown_grace_period)},
      {"metrics-retain-idle", "Metric series idle this long are dropped", "10m",
       duration(&ProxyConfig::metrics_retain_idle)},
      {"opaque-ports", "Ports that skip protocol detection (comma list, ranges allowed)",
       "25,587,3306,4444,5432,6379,9300,11211",
       [](ProxyConfig& c, const std::string& v) -> base::Result<base::Ok, std::string> {
         auto p = parse_ports(v);
         if (!p) return base::unexpected(p.error());
         c.opaque_ports = *p;
         return base::Ok{};
       }},
      {"log-level", "trace, debug, info, warn, error or off", "info",
       [](ProxyConfig& c, const std::string& v) -> base::Result<base::Ok, std::string> {
         static const std::vector<std::string> levels = {"trace", "debug", "info", "warn", "error", "off"};
         if (std::find(levels.begin(), levels.end(), v) == levels.end()) {
           return base::unexpected(std::string("expected one of trace, debug, info, warn, error, off"));
         }
         c.log_level = v;
         return base::Ok{};
       }},
      {"admin-shutdown", "Enable POST /shutdown on the admin server (loopback clients only)",
       "false",
       [](ProxyConfig& c, const std::string& v) -> base::Result<base::Ok, std::string> {
         auto b = parse_bool(v);
         if (!b) return base::unexpected(b.error());
         c.admin_shutdown_enabled = *b;
         return base::Ok{};
       }},
      {"control-addr",
       "host:port of trellis-control's gRPC listener (empty: discovery comes from discovery-file)",
       "",
       [](ProxyConfig& c, const std::string& v) -> base::Result<base::Ok, std::string> {
         if (!v.empty()) {
           const size_t colon = v.rfind(':');
           if (colon == std::string::npos || colon == 0) {
             return base::unexpected(std::string("expected host:port"));
           }
           auto p = parse_uint(v.substr(colon + 1), 65535);
           if (!p || *p == 0) return base::unexpected(std::string("expected host:port"));
         }
         c.control_addr = v;
         return base::Ok{};
       }},
      {"control-identity", "Expected mTLS identity of the control plane",
       "trellis-control.linkerd.serviceaccount.identity.linkerd.cluster.local",
       dns_name(&ProxyConfig::control_identity, false)},
      {"identity-name",
       "This proxy's identity (<sa>.<ns>.serviceaccount.identity.<control-ns>.<trust-domain>)", "",
       dns_name(&ProxyConfig::identity_name, true)},
      {"identity-token-file", "Service-account token sent with Certify (re-read every time)", "",
       text(&ProxyConfig::identity_token_file)},
      {"trust-anchors-file", "PEM bundle of the mesh trust anchors", "",
       text(&ProxyConfig::trust_anchors_file)},
      {"identity-cert-file",
       "Static certificate chain PEM (leaf first) instead of the identity service", "",
       text(&ProxyConfig::identity_cert_file)},
      {"identity-key-file", "Private key PEM of identity-cert-file", "",
       text(&ProxyConfig::identity_key_file)},
      {"namespace", "The workload's namespace (short service names resolve in it)", "default",
       dns_name(&ProxyConfig::ns, false)},
      {"pod-name", "The workload's pod name", "", text(&ProxyConfig::pod_name)},
      {"discovery-unused-timeout",
       "Control-plane discovery targets unused this long are unsubscribed", "10m",
       duration(&ProxyConfig::discovery_unused_timeout)},
  };
  return settings;
}

std::string env_name(const std::string& setting) {
  std::string out = "TRELLIS_PROXY_";
  for (char c : setting) out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

base::Result<base::Ok, std::string> apply_environment(
    ProxyConfig& config, const std::function<std::optional<std::string>(const std::string&)>& getenv,
    const std::vector<std::string>& all_names) {
  std::vector<std::string> errors;
  std::vector<std::string> known;
  for (const auto& s : config_settings()) {
    const std::string name = env_name(s.name);
    known.push_back(name);
    auto value = getenv(name);
    if (!value) continue;
    auto applied = s.apply(config, *value);
    if (!applied) errors.push_back(name + "=\"" + *value + "\" is not valid: " + applied.error());
  }
  for (const auto& name : all_names) {
    if (!base::starts_with(name, "TRELLIS_PROXY_")) continue;
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    std::string msg = "unknown setting " + name;
    const std::string near = base::closest_match(name, known);
    if (!near.empty()) msg += " (did you mean " + near + "?)";
    errors.push_back(msg);
  }
  if (!errors.empty()) return base::unexpected(base::join(errors, "\n"));
  return base::Ok{};
}

int effective_workers(int configured) {
  if (configured > 0) return configured;
  // cgroup v2: "max 100000" or "<quota> <period>"
  std::ifstream in("/sys/fs/cgroup/cpu.max");
  std::string quota, period;
  if (in >> quota >> period && quota != "max") {
    auto q = parse_uint(quota, UINT64_MAX / 2);
    auto p = parse_uint(period, UINT64_MAX / 2);
    if (q && p && *p > 0) return static_cast<int>(std::max<uint64_t>(1, (*q + *p - 1) / *p));
  }
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

}  // namespace trellis::proxy
