#pragma once
// `trellis check [--control-admin ADDR] [--ca-dir DIR] [--proxy ADDR ...] [-o text|json]`
//
// A Linkerd-style checklist (√ ok, ‼ warning, × error, each problem with a hint):
//   trellis-control     admin API reachable, ready, status answers, version matches the CLI
//   trellis-identity    anchors and issuer within validity, valid for 60 more days (warning),
//                       supported algorithms, issuer named identity.<ns>.<td>, issuer chains to
//                       an anchor, issuer key matches (from --ca-dir; otherwise the expiry
//                       times in the control plane's status)
//   trellis-resources   manifests the store could not load (file:line:column message), and
//                       the traffic policy compiler's problems (all-zero TrafficSplit, route
//                       matches shadowed by Gateway API precedence, ...) from the status
//   trellis-data-plane  proxies' certificates valid (status.proxies and --proxy admin
//                       addresses: /identity chain verifies to the anchors) and versions match
//
// The flow is gather (HTTP and files: probe_control, load_ca_dir, probe_proxy), then
// evaluate_checks() — a pure function of those inputs and a time, which the tests drive.

#include <chrono>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tls/ossl.h"

namespace trellis::cli {

using SystemTime = std::chrono::system_clock::time_point;

// Linkerd warns when anchors or the issuer expire within 60 days.
inline constexpr std::chrono::hours kCertificateWarnWindow{24 * 60};

enum class CheckStatus { kOk, kWarning, kError };

struct CheckResult {
  std::string description;
  CheckStatus status = CheckStatus::kOk;
  std::vector<std::string> details;  // what was found (one line each)
  std::string hint;                  // what to do about it (warnings and errors)
};

struct CheckCategory {
  std::string name;
  std::vector<CheckResult> checks;
};

// trellis-control's admin API (C-5).
struct ControlProbe {
  std::string address;
  std::string unreachable;           // non-empty: the reason the connection failed
  int ready_status = 0;              // GET /ready
  std::string ready_body;
  int status_status = 0;             // GET /api/v1/status
  std::optional<nlohmann::json> status;
  std::string status_error;          // invalid JSON, ...
};

// The C-2 CA directory.
struct CaMaterial {
  std::string dir;
  std::vector<std::string> errors;   // unreadable / unparseable files
  std::vector<tls::X509Ptr> anchors;
  tls::X509Ptr issuer;
  std::vector<tls::X509Ptr> issuer_chain;  // certificates after the issuer in issuer.crt
  tls::EvpPkeyPtr issuer_key;
};

// A proxy's admin port (C-6).
struct ProxyProbe {
  std::string address;
  std::string unreachable;
  int identity_status = 0;           // GET /identity
  std::string identity_pem;
  std::string version;               // proxy_build_info{version} from /metrics; empty: unknown
};

struct CheckInputs {
  SystemTime now;
  std::string cli_version;
  // Expected identity domain when the control plane's status does not say.
  std::string control_namespace = "linkerd";
  std::string trust_domain = "cluster.local";
  std::optional<ControlProbe> control;
  std::optional<CaMaterial> ca;
  std::vector<ProxyProbe> proxies;
};

std::vector<CheckCategory> evaluate_checks(const CheckInputs& inputs);
bool checks_passed(const std::vector<CheckCategory>& categories);  // no error (warnings ok)

void print_checks_text(const std::vector<CheckCategory>& categories, std::ostream& out);
nlohmann::json checks_to_json(const std::vector<CheckCategory>& categories);

// The I/O half.
ControlProbe probe_control(const std::string& address);
CaMaterial load_ca_dir(const std::string& dir);
ProxyProbe probe_proxy(const std::string& address);
// The version label of proxy_build_info in Prometheus text; empty when absent.
std::string proxy_version_from_metrics(const std::string& metrics_text);

struct CheckOptions {
  std::string control_admin = "127.0.0.1:9996";
  std::string ca_dir;
  std::vector<std::string> proxies;
  std::string output = "text";  // text | json
  std::string control_namespace = "linkerd";
  std::string trust_domain = "cluster.local";
};

// Exit codes: 0 = all checks passed (warnings allowed), 1 = a check failed, 2 = usage error.
int run_check(const CheckOptions& options, std::ostream& out, std::ostream& err);

}  // namespace trellis::cli
