#pragma once
// `trellis diagnostics endpoints AUTHORITY... [--control-admin ADDR] [-n NS] [-o text|json]`
// `trellis diagnostics profile AUTHORITY [--control-admin ADDR] [-n NS] [-o text|json]`
//
// Prints what the control plane resolves for an authority: trellis-control's admin endpoint
// `GET /api/v1/endpoints?path=AUTHORITY&ns=NS` (contract C-5) returns the current
// Destination.Get Update as protobuf JSON. The table has Linkerd's columns plus the identity:
//   NAMESPACE  IP  PORT  POD  SERVICE  IDENTITY
//
// `profile` prints the traffic policy the control plane sends a proxy of namespace NS for the
// authority (`GET /api/v1/profile?path=AUTHORITY&ns=NS`: Destination.GetProfile's current
// Profile, contract C-9): where it comes from, the retry budget, and the routes in the order the
// proxy tries them with their matches, backends, retries and timeouts.

#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace trellis::cli {

inline constexpr const char* kDefaultControlAdmin = "127.0.0.1:9996";

struct DiagnosticsEndpointsOptions {
  std::vector<std::string> authorities;
  std::string control_admin = kDefaultControlAdmin;
  std::string ns = "default";
  std::string output = "text";  // text | json
};

// One row of the table, decoded from an Update (camelCase or proto field names both accepted).
struct EndpointRow {
  std::string ns;
  std::string ip;
  std::string port;
  std::string pod;
  std::string service;
  std::string identity;
};

// False when the Update says the authority is not a known service.
bool update_exists(const nlohmann::json& update);
std::vector<EndpointRow> endpoint_rows(const nlohmann::json& update);

// Percent-encodes a query parameter value (RFC 3986 unreserved characters pass through).
std::string url_encode(const std::string& value);

// The message printed when trellis-control's admin API cannot be reached.
std::string control_unreachable_message(const std::string& address, const std::string& reason);

struct DiagnosticsProfileOptions {
  std::string authority;
  std::string control_admin = kDefaultControlAdmin;
  std::string ns = "default";
  std::string output = "text";  // text | json
};

// The text rendering of a Profile (protobuf JSON); empty when it names no service.
std::string profile_text(const nlohmann::json& profile);

// Exit codes: 0 = the authority is a service, 1 = it is not or the control plane could not
// answer, 2 = usage error.
int run_diagnostics_profile(const DiagnosticsProfileOptions& options, std::ostream& out,
                            std::ostream& err);

// Exit codes: 0 = every authority resolved, 1 = one is not a known service or the control
// plane could not answer, 2 = usage error.
int run_diagnostics_endpoints(const DiagnosticsEndpointsOptions& options, std::ostream& out,
                              std::ostream& err);

}  // namespace trellis::cli
