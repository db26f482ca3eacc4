#include "cli/check.h"

#include <fstream>
#include <iostream>
#include <memory>
#include <ostream>
#include <sstream>

#include "cli/cert_info.h"
#include "cli/command.h"
#include "cli/diagnostics.h"
#include "cli/http_get.h"
#include "cli/identity.h"
#include "cli/install_ca.h"
#include "tls/identity.h"
#include "tls/pem.h"
#include "tls/x509.h"

namespace trellis::cli {
namespace {

using std::chrono::duration_cast;
using std::chrono::seconds;

constexpr const char* kCaHint =
    "create a new CA with `trellis install-ca --dir DIR` (or supply your own anchor and issuer in "
    "DIR) and restart trellis-control with --ca-dir DIR";
constexpr const char* kIssuerRotateHint =
    "rotate the issuer: create a new one signed by the same trust anchor, put it in the CA "
    "directory and restart trellis-control";

CheckResult ok(std::string description, std::vector<std::string> details = {}) {
  return {std::move(description), CheckStatus::kOk, std::move(details), {}};
}

// Adds a finding to a check: the worst status wins, every detail is kept, the first hint of the
// worst status is the one shown.
void add(CheckResult& check, CheckStatus status, std::string detail, const std::string& hint) {
  if (status > check.status) {
    check.status = status;
    check.hint = hint;
  } else if (status == check.status && check.hint.empty()) {
    check.hint = hint;
  }
  check.details.push_back(std::move(detail));
}

std::string expiry_text(SystemTime not_after, SystemTime now) {
  auto left = duration_cast<seconds>(not_after - now);
  if (left.count() <= 0) {
    return "expired on " + format_rfc3339(not_after) + " (" + format_remaining(left) + " ago)";
  }
  return "expires on " + format_rfc3339(not_after) + " (in " + format_remaining(left) + ")";
}

// Validity of one certificate given only its times (C-5 status carries no PEM).
void check_times(CheckResult& validity, CheckResult& soon, const std::string& what,
                 std::optional<SystemTime> not_before, SystemTime not_after, SystemTime now,
                 const std::string& hint) {
  if (not_before && *not_before > now) {
    add(validity, CheckStatus::kError,
        what + " is not valid yet (not before " + format_rfc3339(*not_before) + ")", hint);
  } else if (not_after <= now) {
    add(validity, CheckStatus::kError, what + " " + expiry_text(not_after, now), hint);
  } else if (not_after - now < kCertificateWarnWindow) {
    add(soon, CheckStatus::kWarning, what + " " + expiry_text(not_after, now), hint);
  }
}

std::string json_string(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

const nlohmann::json* json_field(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::vector<const X509*> raw(const std::vector<tls::X509Ptr>& certs) {
  std::vector<const X509*> out;
  for (const auto& c : certs) out.push_back(c.get());
  return out;
}

bool self_signed(const X509* cert) {
  return X509_check_issued(const_cast<X509*>(cert), const_cast<X509*>(cert)) == X509_V_OK;
}

// ---- trellis-control ---------------------------------------------------------------------

CheckCategory control_checks(const CheckInputs& in, const nlohmann::json** status) {
  CheckCategory cat{"trellis-control", {}};
  const ControlProbe& probe = *in.control;
  CheckResult reach = ok("can reach trellis-control admin at " + probe.address);
  if (!probe.unreachable.empty()) {
    add(reach, CheckStatus::kError,
        "cannot reach trellis-control admin at " + probe.address + ": " + probe.unreachable,
        "is it running? start it with `trellis-control --store-dir DIR --ca-dir DIR "
        "--admin-listen " + probe.address + "`, or pass --control-admin ADDR");
    cat.checks.push_back(std::move(reach));
    return cat;
  }
  cat.checks.push_back(std::move(reach));

  CheckResult ready = ok("control plane is ready");
  if (probe.ready_status != 200) {
    std::string body = probe.ready_body;
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
    add(ready, CheckStatus::kError,
        "GET /ready answered HTTP " + std::to_string(probe.ready_status) +
            (body.empty() ? "" : ": " + body),
        "trellis-control is ready once its store is loaded and its CA is valid; see its log "
        "for the reason");
  }
  cat.checks.push_back(std::move(ready));

  CheckResult api = ok("control plane status API answers");
  if (probe.status_status != 200 || !probe.status || !probe.status->is_object()) {
    add(api, CheckStatus::kError,
        probe.status_status != 200
            ? "GET /api/v1/status answered HTTP " + std::to_string(probe.status_status)
            : "GET /api/v1/status: " +
                  (probe.status_error.empty() ? std::string("not a JSON object")
                                              : probe.status_error),
        "check that --control-admin points at trellis-control's admin listener");
    cat.checks.push_back(std::move(api));
    return cat;
  }
  cat.checks.push_back(std::move(api));
  *status = &*probe.status;

  CheckResult version = ok("control plane and CLI versions match");
  const std::string control_version = json_string(*probe.status, "version");
  if (control_version != in.cli_version) {
    add(version, CheckStatus::kWarning,
        "control plane is " + (control_version.empty() ? "an unknown version" : control_version) +
            ", CLI is " + in.cli_version,
        "use a CLI of the same release as the control plane");
  } else {
    version.details.push_back(control_version);
  }
  cat.checks.push_back(std::move(version));
  return cat;
}

// ---- trellis-identity --------------------------------------------------------------------

void ca_dir_checks(const CheckInputs& in, const tls::Identity* issuer_name, CheckCategory& cat) {
  const CaMaterial& ca = *in.ca;
  CheckResult files = ok("CA files in " + ca.dir + " are readable");
  for (const auto& e : ca.errors) add(files, CheckStatus::kError, e, kCaHint);
  const bool have_files = ca.errors.empty();
  cat.checks.push_back(std::move(files));
  if (!have_files) return;

  CheckResult anchors_valid = ok("trust anchors are within their validity period");
  CheckResult anchors_soon = ok("trust anchors are valid for at least 60 days");
  CheckResult anchors_sane = ok("trust anchors are self-signed CAs with a supported algorithm");
  for (const auto& anchor : ca.anchors) {
    const CertificateSummary s = summarize_certificate(anchor.get());
    const std::string what = "anchor " + s.subject;
    check_times(anchors_valid, anchors_soon, what, s.not_before, s.not_after, in.now, kCaHint);
    if (!s.is_ca || !self_signed(anchor.get())) {
      add(anchors_sane, CheckStatus::kError, what + " is not a self-signed CA certificate",
          kCaHint);
    }
    const bool supported = s.key_algorithm == "ECDSA P-256" || s.key_algorithm == "ECDSA P-384" ||
                           s.key_algorithm == "RSA 2048" || s.key_algorithm == "RSA 4096";
    if (!supported) {
      add(anchors_sane, CheckStatus::kError,
          what + " uses " + s.key_algorithm +
              " (supported: ECDSA P-256/P-384, RSA 2048/4096)",
          kCaHint);
    }
  }
  cat.checks.push_back(std::move(anchors_valid));
  cat.checks.push_back(std::move(anchors_soon));
  cat.checks.push_back(std::move(anchors_sane));

  const X509* issuer = ca.issuer.get();
  const CertificateSummary s = summarize_certificate(issuer);
  CheckResult issuer_valid = ok("issuer certificate is within its validity period");
  CheckResult issuer_soon = ok("issuer certificate is valid for at least 60 days");
  check_times(issuer_valid, issuer_soon, "issuer " + s.subject, s.not_before, s.not_after,
              in.now, kIssuerRotateHint);
  if (issuer_soon.status == CheckStatus::kOk && issuer_valid.status == CheckStatus::kOk) {
    issuer_soon.details.push_back(expiry_text(s.not_after, in.now));
  }
  cat.checks.push_back(std::move(issuer_valid));
  cat.checks.push_back(std::move(issuer_soon));

  CheckResult issuer_sane = ok("issuer certificate is an ECDSA P-256 CA with the identity name");
  if (!s.is_ca) add(issuer_sane, CheckStatus::kError, "issuer is not a CA certificate", kCaHint);
  if (s.key_algorithm != "ECDSA P-256") {
    add(issuer_sane, CheckStatus::kError, "issuer uses " + s.key_algorithm + ", not ECDSA P-256",
        kCaHint);
  }
  if (issuer_name != nullptr && s.subject != "CN=" + issuer_name->str()) {
    add(issuer_sane, CheckStatus::kError,
        "issuer subject is " + s.subject + ", expected CN=" + issuer_name->str(),
        "create the issuer with the common name " + issuer_name->str() +
            " (trellis install-ca does)");
  }
  cat.checks.push_back(std::move(issuer_sane));

  CheckResult chained = ok("issuer certificate is signed by a trust anchor");
  if (std::string why = verify_chain(issuer, raw(ca.issuer_chain), raw(ca.anchors), in.now);
      !why.empty()) {
    add(chained, CheckStatus::kError, "issuer does not verify against ca.crt: " + why,
        "the issuer must be signed by one of the anchors in ca.crt (directly or through the "
        "certificates that follow it in issuer.crt)");
  }
  cat.checks.push_back(std::move(chained));

  CheckResult key = ok("issuer key matches the issuer certificate");
  if (!key_matches(issuer, ca.issuer_key.get())) {
    add(key, CheckStatus::kError, std::string(kCaIssuerKeyFile) + " is not the key of " +
                                      kCaIssuerCertFile,
        "put the issuer's own private key in issuer.key");
  }
  cat.checks.push_back(std::move(key));
}

void status_ca_checks(const CheckInputs& in, const nlohmann::json& ca, CheckCategory& cat) {
  const std::string source = "(from the control plane status; pass --ca-dir for full checks)";
  CheckResult anchors_valid = ok("trust anchors are within their validity period");
  CheckResult anchors_soon = ok("trust anchors are valid for at least 60 days");
  CheckResult issuer_valid = ok("issuer certificate is within its validity period");
  CheckResult issuer_soon = ok("issuer certificate is valid for at least 60 days");
  const nlohmann::json* anchors = json_field(ca, "anchors");
  if (anchors == nullptr || !anchors->is_array() || anchors->empty()) {
    add(anchors_valid, CheckStatus::kError, "the control plane reports no trust anchors", kCaHint);
  } else {
    for (const auto& a : *anchors) {
      auto not_after = parse_rfc3339(json_string(a, "notAfter"));
      const std::string what = "anchor " + json_string(a, "subject");
      if (!not_after) {
        add(anchors_valid, CheckStatus::kError, what + " has no valid notAfter", kCaHint);
        continue;
      }
      check_times(anchors_valid, anchors_soon, what, std::nullopt, *not_after, in.now, kCaHint);
    }
  }
  const nlohmann::json* issuer = json_field(ca, "issuer");
  auto issuer_after = issuer ? parse_rfc3339(json_string(*issuer, "notAfter")) : std::nullopt;
  if (!issuer_after) {
    add(issuer_valid, CheckStatus::kError, "the control plane reports no valid issuer", kCaHint);
  } else {
    check_times(issuer_valid, issuer_soon, "issuer " + json_string(*issuer, "subject"),
                std::nullopt, *issuer_after, in.now, kIssuerRotateHint);
    if (issuer_soon.status == CheckStatus::kOk && issuer_valid.status == CheckStatus::kOk) {
      issuer_soon.details.push_back(expiry_text(*issuer_after, in.now));
    }
  }
  for (auto* c : {&anchors_valid, &anchors_soon, &issuer_valid, &issuer_soon}) {
    c->details.push_back(source);
    cat.checks.push_back(std::move(*c));
  }
}

// With both --ca-dir and the status: is the control plane using that CA?
void ca_match_check(const CheckInputs& in, const nlohmann::json& ca, CheckCategory& cat) {
  if (!in.ca || !in.ca->errors.empty() || !in.ca->issuer) return;
  const nlohmann::json* issuer = json_field(ca, "issuer");
  if (issuer == nullptr) return;
  const CertificateSummary s = summarize_certificate(in.ca->issuer.get());
  auto status_after = parse_rfc3339(json_string(*issuer, "notAfter"));
  const std::string status_subject = json_string(*issuer, "subject");
  CheckResult match = ok("control plane uses the issuer in " + in.ca->dir);
  const bool same_time = status_after && duration_cast<seconds>(*status_after - s.not_after) ==
                                             seconds(0);
  const bool same_name = s.subject.find(status_subject) != std::string::npos;
  if (!same_time || !same_name) {
    add(match, CheckStatus::kWarning,
        "control plane issuer: " + status_subject + " until " + json_string(*issuer, "notAfter") +
            "; " + in.ca->dir + ": " + s.subject + " until " + format_rfc3339(s.not_after),
        "restart trellis-control with --ca-dir " + in.ca->dir + " to use this CA");
  }
  cat.checks.push_back(std::move(match));
}

CheckCategory identity_checks(const CheckInputs& in, const nlohmann::json* status) {
  CheckCategory cat{"trellis-identity", {}};
  tls::IdentityDomain domain{in.control_namespace, in.trust_domain};
  if (status != nullptr) {
    if (auto ns = json_string(*status, "controlNamespace"); !ns.empty()) {
      domain.control_namespace = ns;
    }
    if (auto td = json_string(*status, "trustDomain"); !td.empty()) domain.trust_domain = td;
  }
  auto issuer_name = tls::issuer_identity(domain);
  const nlohmann::json* status_ca = status ? json_field(*status, "ca") : nullptr;
  if (in.ca) {
    ca_dir_checks(in, issuer_name.ok() ? &*issuer_name : nullptr, cat);
    if (status_ca != nullptr) ca_match_check(in, *status_ca, cat);
  } else if (status_ca != nullptr) {
    status_ca_checks(in, *status_ca, cat);
  } else {
    CheckResult none = ok("trust anchors and issuer can be checked");
    add(none, CheckStatus::kError,
        status != nullptr
            ? "no CA information: the control plane reports no CA and no --ca-dir was given"
            : "no CA information: the control plane status is unavailable and no --ca-dir was "
              "given",
        "pass --ca-dir DIR (the directory trellis-control reads with --ca-dir)");
    cat.checks.push_back(std::move(none));
  }
  return cat;
}

// ---- trellis-resources -------------------------------------------------------------------

CheckCategory resource_checks(const nlohmann::json& status) {
  CheckCategory cat{"trellis-resources", {}};
  const nlohmann::json* store = json_field(status, "store");
  CheckResult loaded = ok("resources in the store have no errors");
  std::string dir = store ? json_string(*store, "dir") : std::string();
  const std::string hint =
      "fix the manifests (check them with `trellis validate -f " +
      (dir.empty() ? std::string("DIR") : dir) +
      "`); the last good version of each resource stays in force until then";
  const nlohmann::json* errors = store ? json_field(*store, "errors") : nullptr;
  if (errors != nullptr && errors->is_array()) {
    for (const auto& e : *errors) {
      std::string where = json_string(e, "file");
      for (const char* key : {"line", "column"}) {
        auto it = e.find(key);
        if (it != e.end() && it->is_number_integer() && it->get<long>() > 0) {
          where += ":" + std::to_string(it->get<long>());
        }
      }
      const std::string severity = json_string(e, "severity");
      const bool warning = severity == "warning";
      const std::string object = json_string(e, "object");
      add(loaded, warning ? CheckStatus::kWarning : CheckStatus::kError,
          where + ": " + (warning ? "warning: " : "") + (object.empty() ? "" : object + ": ") +
              json_string(e, "message"),
          hint);
    }
  }
  if (loaded.status == CheckStatus::kOk && store != nullptr) {
    auto it = store->find("resources");
    if (it != store->end() && it->is_number_integer()) {
      loaded.details.push_back(std::to_string(it->get<long>()) + " resources loaded" +
                               (dir.empty() ? "" : " from " + dir));
    }
  }
  cat.checks.push_back(std::move(loaded));
  return cat;
}

// ---- trellis-data-plane ------------------------------------------------------------------

void reported_proxy_checks(const CheckInputs& in, const nlohmann::json& proxies,
                           CheckCategory& cat) {
  CheckResult certs = ok("certified proxies have valid certificates");
  CheckResult versions = ok("certified proxies run the CLI's version");
  size_t count = 0;
  for (const auto& p : proxies) {
    ++count;
    const std::string id = json_string(p, "identity");
    auto not_after = parse_rfc3339(json_string(p, "notAfter"));
    if (!not_after) {
      add(certs, CheckStatus::kError, id + ": no valid notAfter reported",
          "check the proxy's log for identity errors");
    } else if (*not_after <= in.now) {
      add(certs, CheckStatus::kError, id + ": certificate " + expiry_text(*not_after, in.now),
          "the proxy could not renew its certificate: check that it can reach trellis-control "
          "and that its token is valid (see the proxy's log)");
    }
    const std::string version = json_string(p, "version");
    if (version != in.cli_version) {
      add(versions, CheckStatus::kWarning,
          id + " runs " + (version.empty() ? std::string("an unknown version") : version) +
              ", CLI is " + in.cli_version,
          "restart the workload with the current trellis-proxy");
    }
  }
  if (certs.status == CheckStatus::kOk) {
    certs.details.push_back(std::to_string(count) +
                            (count == 1 ? " proxy certified" : " proxies certified"));
  }
  cat.checks.push_back(std::move(certs));
  cat.checks.push_back(std::move(versions));
}

void probed_proxy_checks(const CheckInputs& in, const ProxyProbe& probe, CheckCategory& cat) {
  CheckResult cert = ok("proxy at " + probe.address + " has a valid certificate");
  const std::string hint_down =
      "is the proxy running? pass its admin address (port 4191 by default)";
  if (!probe.unreachable.empty()) {
    add(cert, CheckStatus::kError,
        "cannot reach the proxy admin at " + probe.address + ": " + probe.unreachable, hint_down);
    cat.checks.push_back(std::move(cert));
    return;
  }
  if (probe.identity_status != 200) {
    add(cert, CheckStatus::kError,
        probe.identity_status == 404
            ? std::string("the proxy has no certificate (no identity, or not certified yet)")
            : "GET /identity answered HTTP " + std::to_string(probe.identity_status),
        "configure the proxy's identity (TRELLIS_PROXY_IDENTITY_NAME, token and trust anchors) "
        "and check its log for Certify errors");
    cat.checks.push_back(std::move(cert));
    return;
  }
  auto chain = tls::certificates_from_pem(probe.identity_pem);
  if (!chain || chain->empty()) {
    add(cert, CheckStatus::kError,
        "GET /identity did not return a PEM certificate chain" +
            (chain ? std::string() : ": " + chain.error().detail),
        "check the proxy's version and log");
    cat.checks.push_back(std::move(cert));
    return;
  }
  const X509* leaf = (*chain)[0].get();
  const CertificateSummary s = summarize_certificate(leaf);
  auto identity = tls::identity_of(leaf);
  const std::string name = identity ? identity->str() : s.subject;
  if (!identity) {
    add(cert, CheckStatus::kError, "the leaf has no single valid DNS identity (SANs: " +
                                       std::to_string(s.dns_sans.size()) + ")",
        "the proxy's certificate must be issued by trellis-control");
  }
  const std::string renew_hint =
      "the proxy could not renew its certificate: check that it can reach trellis-control";
  if (s.not_after <= in.now) {
    add(cert, CheckStatus::kError, name + ": certificate " + expiry_text(s.not_after, in.now),
        renew_hint);
  } else if (s.not_before > in.now) {
    add(cert, CheckStatus::kError,
        name + ": certificate not valid before " + format_rfc3339(s.not_before),
        "check the clocks of this machine and the control plane");
  }
  if (in.ca && in.ca->errors.empty() && !in.ca->anchors.empty()) {
    std::vector<const X509*> intermediates;
    for (size_t i = 1; i < chain->size(); ++i) intermediates.push_back((*chain)[i].get());
    if (std::string why = verify_chain(leaf, intermediates, raw(in.ca->anchors), in.now);
        !why.empty()) {
      add(cert, CheckStatus::kError, name + ": chain does not verify to the anchors in " +
                                         in.ca->dir + ": " + why,
          "the proxy trusts other anchors than the control plane: restart it with the "
          "current trust anchors file");
    }
  } else {
    add(cert, CheckStatus::kWarning,
        name + ": chain not verified (no trust anchors: pass --ca-dir)",
        "pass --ca-dir DIR to verify proxy chains against the trust anchors");
  }
  if (cert.status == CheckStatus::kOk) {
    cert.details.push_back(name + ", " + expiry_text(s.not_after, in.now));
  }
  cat.checks.push_back(std::move(cert));

  CheckResult version = ok("proxy at " + probe.address + " runs the CLI's version");
  if (probe.version != in.cli_version) {
    add(version, CheckStatus::kWarning,
        "proxy runs " +
            (probe.version.empty() ? std::string("an unknown version (no proxy_build_info)")
                                   : probe.version) +
            ", CLI is " + in.cli_version,
        "restart the workload with the current trellis-proxy");
  }
  cat.checks.push_back(std::move(version));
}

const char* symbol(CheckStatus status) {
  switch (status) {
    case CheckStatus::kOk: return "\u221a";       // √
    case CheckStatus::kWarning: return "\u203c";  // ‼
    case CheckStatus::kError: return "\u00d7";    // ×
  }
  return "?";
}

const char* result_name(CheckStatus status) {
  switch (status) {
    case CheckStatus::kOk: return "success";
    case CheckStatus::kWarning: return "warning";
    case CheckStatus::kError: return "error";
  }
  return "error";
}

std::string read_file(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read " + path;
    return {};
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::vector<CheckCategory> evaluate_checks(const CheckInputs& in) {
  std::vector<CheckCategory> categories;
  const nlohmann::json* status = nullptr;
  if (in.control) categories.push_back(control_checks(in, &status));
  categories.push_back(identity_checks(in, status));
  if (status != nullptr) categories.push_back(resource_checks(*status));

  CheckCategory data_plane{"trellis-data-plane", {}};
  const nlohmann::json* proxies = status ? json_field(*status, "proxies") : nullptr;
  if (proxies != nullptr && proxies->is_array()) reported_proxy_checks(in, *proxies, data_plane);
  for (const auto& probe : in.proxies) probed_proxy_checks(in, probe, data_plane);
  if (!data_plane.checks.empty()) categories.push_back(std::move(data_plane));
  return categories;
}

bool checks_passed(const std::vector<CheckCategory>& categories) {
  for (const auto& cat : categories) {
    for (const auto& check : cat.checks) {
      if (check.status == CheckStatus::kError) return false;
    }
  }
  return true;
}

void print_checks_text(const std::vector<CheckCategory>& categories, std::ostream& out) {
  for (const auto& cat : categories) {
    out << cat.name << "\n" << std::string(cat.name.size(), '-') << "\n";
    for (const auto& check : cat.checks) {
      out << symbol(check.status) << " " << check.description << "\n";
      if (check.status == CheckStatus::kOk) continue;
      for (const auto& d : check.details) out << "    " << d << "\n";
      if (!check.hint.empty()) out << "    hint: " << check.hint << "\n";
    }
    out << "\n";
  }
  out << "Status check results are " << symbol(checks_passed(categories) ? CheckStatus::kOk
                                                                         : CheckStatus::kError)
      << "\n";
}

nlohmann::json checks_to_json(const std::vector<CheckCategory>& categories) {
  nlohmann::json j;
  j["success"] = checks_passed(categories);
  j["categories"] = nlohmann::json::array();
  for (const auto& cat : categories) {
    nlohmann::json c;
    c["categoryName"] = cat.name;
    c["checks"] = nlohmann::json::array();
    for (const auto& check : cat.checks) {
      nlohmann::json k;
      k["description"] = check.description;
      k["result"] = result_name(check.status);
      k["details"] = check.details;
      if (!check.hint.empty()) k["hint"] = check.hint;
      c["checks"].push_back(std::move(k));
    }
    j["categories"].push_back(std::move(c));
  }
  return j;
}

ControlProbe probe_control(const std::string& address) {
  ControlProbe probe;
  probe.address = address;
  auto ready = http_get(address, "/ready");
  if (!ready) {
    probe.unreachable = ready.error();
    return probe;
  }
  probe.ready_status = ready->status;
  probe.ready_body = ready->body;
  auto status = http_get(address, "/api/v1/status");
  if (!status) {
    probe.status_error = status.error();
    return probe;
  }
  probe.status_status = status->status;
  if (status->status == 200) {
    auto j = nlohmann::json::parse(status->body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      probe.status_error = "invalid JSON";
    } else {
      probe.status = std::move(j);
    }
  }
  return probe;
}

CaMaterial load_ca_dir(const std::string& dir) {
  CaMaterial ca;
  ca.dir = dir;
  const std::string base = dir.empty() || dir.back() == '/' ? dir : dir + "/";
  std::string error;
  std::string text = read_file(base + kCaAnchorFile, error);
  if (error.empty()) {
    auto anchors = tls::certificates_from_pem(text);
    if (anchors && !anchors->empty()) {
      ca.anchors = std::move(*anchors);
    } else {
      ca.errors.push_back(base + kCaAnchorFile + ": no PEM certificate" +
                          (anchors ? std::string() : " (" + anchors.error().detail + ")"));
    }
  } else {
    ca.errors.push_back(error);
  }
  error.clear();
  text = read_file(base + kCaIssuerCertFile, error);
  if (error.empty()) {
    auto chain = tls::certificates_from_pem(text);
    if (chain && !chain->empty()) {
      ca.issuer = std::move((*chain)[0]);
      for (size_t i = 1; i < chain->size(); ++i) ca.issuer_chain.push_back(std::move((*chain)[i]));
    } else {
      ca.errors.push_back(base + kCaIssuerCertFile + ": no PEM certificate" +
                          (chain ? std::string() : " (" + chain.error().detail + ")"));
    }
  } else {
    ca.errors.push_back(error);
  }
  error.clear();
  text = read_file(base + kCaIssuerKeyFile, error);
  if (error.empty()) {
    auto key = tls::private_key_from_pem(text);
    if (key) {
      ca.issuer_key = std::move(*key);
    } else {
      ca.errors.push_back(base + kCaIssuerKeyFile + ": no usable PEM private key (" +
                          key.error().detail + ")");
    }
  } else {
    ca.errors.push_back(error);
  }
  return ca;
}

std::string proxy_version_from_metrics(const std::string& metrics_text) {
  std::istringstream in(metrics_text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("proxy_build_info{", 0) != 0) continue;
    const std::string key = "version=\"";
    size_t at = line.find(key);
    // The label may be preceded by another one ending in "...version": require a boundary.
    while (at != std::string::npos && at > 0 && line[at - 1] != '{' && line[at - 1] != ',') {
      at = line.find(key, at + 1);
    }
    if (at == std::string::npos) continue;
    size_t start = at + key.size();
    size_t end = line.find('"', start);
    if (end != std::string::npos) return line.substr(start, end - start);
  }
  return {};
}

ProxyProbe probe_proxy(const std::string& address) {
  ProxyProbe probe;
  probe.address = address;
  auto identity = http_get(address, "/identity");
  if (!identity) {
    probe.unreachable = identity.error();
    return probe;
  }
  probe.identity_status = identity->status;
  probe.identity_pem = identity->body;
  if (auto metrics = http_get(address, "/metrics"); metrics && metrics->status == 200) {
    probe.version = proxy_version_from_metrics(metrics->body);
  }
  return probe;
}

int run_check(const CheckOptions& options, std::ostream& out, std::ostream& err) {
  if (options.output != "text" && options.output != "json") {
    err << "trellis check: unsupported output format \"" << options.output
        << "\" (use text or json)\n";
    return 2;
  }
  CheckInputs in;
  in.now = std::chrono::system_clock::now();
  in.cli_version = TRELLIS_VERSION;
  in.control_namespace = options.control_namespace;
  in.trust_domain = options.trust_domain;
  in.control = probe_control(options.control_admin);
  if (!options.ca_dir.empty()) in.ca = load_ca_dir(options.ca_dir);
  for (const auto& target : options.proxies) {
    std::string address = proxy_admin_address(target, 4191);
    if (address.empty()) {
      err << "trellis check: --proxy \"" << target
          << "\" looks like a pod name; pass the proxy's admin address (host:port) until the "
             "local runtime (`trellis up`) can find pods\n";
      return 2;
    }
    in.proxies.push_back(probe_proxy(address));
  }
  const auto categories = evaluate_checks(in);
  if (options.output == "json") {
    out << checks_to_json(categories).dump(2) << "\n";
  } else {
    print_checks_text(categories, out);
  }
  return checks_passed(categories) ? 0 : 1;
}

Command add_check_command(CLI::App& app) {
  auto options = std::make_shared<CheckOptions>();
  auto* cmd = app.add_subcommand(
      "check", "Check the control plane, the CA, the resources and the proxies");
  cmd->add_option("--control-admin", options->control_admin, "trellis-control admin address")
      ->capture_default_str();
  cmd->add_option("--ca-dir", options->ca_dir,
                  "CA directory (ca.crt, issuer.crt, issuer.key) to check in full");
  cmd->add_option("--proxy", options->proxies,
                  "Proxy admin address to check (host:port; repeatable)");
  cmd->add_option("-o,--output", options->output, "Output format: text or json")
      ->capture_default_str();
  cmd->add_option("--control-namespace", options->control_namespace,
                  "Expected control namespace when the control plane does not say")
      ->capture_default_str();
  cmd->add_option("--trust-domain", options->trust_domain,
                  "Expected trust domain when the control plane does not say")
      ->capture_default_str();
  return {cmd, [options] { return run_check(*options, std::cout, std::cerr); }};
}

}  // namespace trellis::cli
