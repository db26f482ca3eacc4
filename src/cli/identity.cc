#include "cli/identity.h"

#include <iostream>
#include <memory>
#include <ostream>

#include "cli/cert_info.h"
#include "cli/command.h"
#include "cli/http_get.h"
#include "tls/pem.h"

namespace trellis::cli {
namespace {

bool looks_like_ip(const std::string& s) {
  if (s.find(':') != std::string::npos) return true;  // IPv6 without a port
  if (s.empty()) return false;
  for (char c : s) {
    if (!(c == '.' || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

void print_certificate(std::ostream& out, const CertificateSummary& c, size_t index, size_t total,
                       SystemTime now) {
  const char* role = index == 0 ? "leaf" : (index + 1 == total ? "issuer" : "intermediate");
  out << "Certificate " << index + 1 << " (" << role << "):\n";
  out << "  Subject:     " << c.subject << "\n";
  out << "  SAN (DNS):   ";
  if (c.dns_sans.empty()) out << "(none)";
  for (size_t i = 0; i < c.dns_sans.size(); ++i) out << (i ? ", " : "") << c.dns_sans[i];
  out << "\n";
  out << "  Issuer:      " << c.issuer << "\n";
  out << "  Not before:  " << format_rfc3339(c.not_before) << "\n";
  const auto left = std::chrono::duration_cast<std::chrono::seconds>(c.not_after - now);
  out << "  Not after:   " << format_rfc3339(c.not_after)
      << (left.count() > 0 ? " (expires in " + format_remaining(left) + ")"
                           : " (EXPIRED " + format_remaining(left) + " ago)")
      << "\n";
  out << "  Serial:      " << c.serial << "\n";
  out << "  Key:         " << c.key_algorithm << (c.is_ca ? ", CA" : "") << "\n";
  out << "  SHA-256:     " << c.sha256_fingerprint << "\n";
}

}  // namespace

std::string proxy_admin_address(const std::string& target, int admin_port) {
  std::string host, port;
  if (split_host_port(target, host, port)) return target;
  if (looks_like_ip(target)) {
    const bool v6 = target.find(':') != std::string::npos;
    return (v6 ? "[" + target + "]" : target) + ":" + std::to_string(admin_port);
  }
  return {};
}

int run_identity(const IdentityOptions& options, std::ostream& out, std::ostream& err,
                 std::chrono::system_clock::time_point now) {
  const char* kPrefix = "trellis identity: ";
  if (options.output != "text" && options.output != "pem") {
    err << kPrefix << "unsupported output format \"" << options.output
        << "\" (use text or pem)\n";
    return 2;
  }
  if (options.admin_port < 1 || options.admin_port > 65535) {
    err << kPrefix << "--admin-port must be 1..65535\n";
    return 2;
  }
  int exit_code = 0;
  for (size_t t = 0; t < options.targets.size(); ++t) {
    const std::string& target = options.targets[t];
    const std::string address = proxy_admin_address(target, options.admin_port);
    if (address.empty()) {
      err << kPrefix << "\"" << target
          << "\" looks like a pod name; finding a pod's proxy needs the local runtime "
             "(`trellis up`), which is not available yet. Pass the proxy's admin address "
             "instead, e.g. 127.0.0.1:4191.\n";
      exit_code = 1;
      continue;
    }
    auto response = http_get(address, "/identity");
    if (!response) {
      err << kPrefix << "cannot reach the proxy admin at " << address << ": " << response.error()
          << " (is the proxy running? its admin port is " << options.admin_port
          << " by default)\n";
      exit_code = 1;
      continue;
    }
    if (response->status == 404) {
      err << kPrefix << "the proxy at " << address
          << " has no certificate (no identity configured, or not certified yet)\n";
      exit_code = 1;
      continue;
    }
    if (response->status != 200) {
      err << kPrefix << "the proxy at " << address << " answered HTTP " << response->status
          << " to GET /identity\n";
      exit_code = 1;
      continue;
    }
    auto chain = tls::certificates_from_pem(response->body);
    if (!chain || chain->empty()) {
      err << kPrefix << "the proxy at " << address << " sent no valid certificate PEM"
          << (chain ? std::string() : ": " + chain.error().detail) << "\n";
      exit_code = 1;
      continue;
    }
    if (options.output == "pem") {
      out << response->body;
      if (!response->body.empty() && response->body.back() != '\n') out << "\n";
      continue;
    }
    if (t > 0) out << "\n";
    out << "Proxy " << address << ": " << chain->size()
        << (chain->size() == 1 ? " certificate" : " certificates") << "\n";
    for (size_t i = 0; i < chain->size(); ++i) {
      print_certificate(out, summarize_certificate((*chain)[i].get()), i, chain->size(), now);
    }
  }
  return exit_code;
}

Command add_identity_command(CLI::App& app) {
  auto options = std::make_shared<IdentityOptions>();
  auto* cmd = app.add_subcommand("identity", "Print the certificate chain of proxies");
  cmd->add_option("target", options->targets,
                  "Proxy admin address (host:port or IP with --admin-port), or a pod name")
      ->required();
  cmd->add_option("--admin-port", options->admin_port, "Proxy admin port for bare IPs")
      ->capture_default_str();
  cmd->add_option("-o,--output", options->output, "Output format: text or pem")
      ->capture_default_str();
  return {cmd, [options] { return run_identity(*options, std::cout, std::cerr); }};
}

}  // namespace trellis::cli
