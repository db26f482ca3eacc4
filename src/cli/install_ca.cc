#include "cli/install_ca.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <ostream>
#include <tuple>
#include <vector>

#include "base/duration.h"
#include "cli/cert_info.h"
#include "cli/command.h"
#include "tls/ca.h"
#include "tls/identity.h"
#include "tls/pem.h"

namespace trellis::cli {
namespace {

namespace fs = std::filesystem;

// Writes `content` to `path` with `mode` through a temporary file in the same directory and a
// rename, so a reader (trellis-control) never sees a half-written key or certificate, and the
// key is never readable by others, not even for a moment.
std::string write_file_atomically(const fs::path& path, const std::string& content, mode_t mode) {
  fs::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return "cannot create " + tmp.string() + ": " + std::strerror(errno);
  size_t written = 0;
  while (written < content.size()) {
    ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string error = "cannot write " + tmp.string() + ": " + std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return error;
    }
    written += static_cast<size_t>(n);
  }
  // The umask may have narrowed `mode` further, never widened it; make it exact.
  ::fchmod(fd, mode);
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    std::string error = "cannot write " + tmp.string() + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return error;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string error = "cannot rename " + tmp.string() + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return error;
  }
  return {};
}

base::Result<std::chrono::seconds, std::string> parse_lifetime(const char* flag,
                                                               const std::string& text) {
  auto d = base::parse_go_duration(text);
  if (!d) return base::unexpected(std::string(flag) + ": " + d.error());
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(*d);
  if (secs.count() <= 0) {
    return base::unexpected(std::string(flag) + ": must be positive, got \"" + text + "\"");
  }
  return secs;
}

}  // namespace

int run_install_ca(const InstallCaOptions& options, std::ostream& out, std::ostream& err,
                   std::chrono::system_clock::time_point now) {
  const char* kPrefix = "trellis install-ca: ";
  // Certificates carry whole seconds; so does everything printed about them.
  now = std::chrono::floor<std::chrono::seconds>(now);
  if (options.dir.empty()) {
    err << kPrefix << "--dir is required\n";
    return 2;
  }
  tls::IdentityDomain domain{options.control_namespace, options.trust_domain};
  if (auto valid = domain.validate(); !valid) {
    err << kPrefix << valid.error().detail << "\n";
    return 2;
  }
  auto anchor_lifetime = parse_lifetime("--anchor-lifetime", options.anchor_lifetime);
  auto issuer_lifetime = parse_lifetime("--issuer-lifetime", options.issuer_lifetime);
  for (const auto* lifetime : {&anchor_lifetime, &issuer_lifetime}) {
    if (!*lifetime) {
      err << kPrefix << lifetime->error() << "\n";
      return 2;
    }
  }

  const fs::path dir(options.dir);
  const fs::path anchor_path = dir / kCaAnchorFile;
  const fs::path issuer_path = dir / kCaIssuerCertFile;
  const fs::path key_path = dir / kCaIssuerKeyFile;
  if (!options.force) {
    std::vector<std::string> existing;
    for (const auto& p : {anchor_path, issuer_path, key_path}) {
      std::error_code ec;
      if (fs::exists(fs::symlink_status(p, ec))) existing.push_back(p.string());
    }
    if (!existing.empty()) {
      err << kPrefix << "refusing to overwrite existing CA files:\n";
      for (const auto& p : existing) err << "  " << p << "\n";
      err << "Replacing the trust anchor breaks every proxy that trusts the current one; "
             "pass --force to overwrite anyway.\n";
      return 1;
    }
  }

  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) {
      err << kPrefix << "cannot create " << dir.string() << ": " << ec.message() << "\n";
      return 2;
    }
    fs::permissions(dir, fs::perms::owner_all, ec);  // it holds a private key
  } else if (!fs::is_directory(dir, ec)) {
    err << kPrefix << dir.string() << " is not a directory\n";
    return 2;
  }

  const std::string anchor_name = "root." + domain.control_namespace + "." + domain.trust_domain;
  auto issuer_name = tls::issuer_identity(domain);
  if (!issuer_name) {
    err << kPrefix << issuer_name.error().detail << "\n";
    return 2;
  }
  auto anchor = tls::create_trust_anchor({anchor_name, *anchor_lifetime, now});
  if (!anchor) {
    err << kPrefix << "cannot create the trust anchor: " << anchor.error().detail << "\n";
    return 2;
  }
  auto issuer = tls::create_issuer(*anchor, {issuer_name->str(), *issuer_lifetime, now});
  if (!issuer) {
    err << kPrefix << "cannot create the issuer: " << issuer.error().detail << "\n";
    return 2;
  }
  auto anchor_pem = tls::to_pem(anchor->cert.get());
  auto issuer_pem = tls::to_pem(issuer->cert.get());
  auto key_pem = tls::private_key_to_pem(issuer->key.get());
  if (!anchor_pem || !issuer_pem || !key_pem) {
    err << kPrefix << "cannot encode the certificates as PEM\n";
    return 2;
  }
  // Each file is replaced atomically, the set is not: after a crash in between, the directory
  // mixes old and new files, which `trellis check --ca-dir` reports (key or chain mismatch).
  for (const auto& [path, content, mode] :
       {std::tuple{key_path, *key_pem, mode_t{0600}},
        std::tuple{issuer_path, *issuer_pem, mode_t{0644}},
        std::tuple{anchor_path, *anchor_pem, mode_t{0644}}}) {
    if (std::string error = write_file_atomically(path, content, mode); !error.empty()) {
      err << kPrefix << error << "\n";
      return 2;
    }
  }

  const CertificateSummary a = summarize_certificate(anchor->cert.get());
  const CertificateSummary i = summarize_certificate(issuer->cert.get());
  const auto issuer_left =
      std::chrono::duration_cast<std::chrono::seconds>(i.not_after - now);
  out << "wrote " << anchor_path.string() << "   trust anchor  " << a.subject << ", expires "
      << format_rfc3339(a.not_after) << "\n";
  out << "wrote " << issuer_path.string() << "  issuer        " << i.subject << ", expires "
      << format_rfc3339(i.not_after) << "\n";
  out << "wrote " << key_path.string() << "  issuer key    " << i.key_algorithm
      << ", mode 0600\n";
  out << "trust anchor SHA-256 fingerprint: " << a.sha256_fingerprint << "\n";
  out << "issuer expires: " << format_rfc3339(i.not_after) << " (in "
      << format_remaining(issuer_left) << ")";
  if (*issuer_lifetime > *anchor_lifetime) out << ", clamped to the trust anchor's expiry";
  out << "\n";
  out << "next: trellis-control --ca-dir " << dir.string() << " --store-dir <manifests>\n";
  return 0;
}

Command add_install_ca_command(CLI::App& app) {
  auto options = std::make_shared<InstallCaOptions>();
  auto* cmd = app.add_subcommand(
      "install-ca", "Create the mesh trust anchor and issuer (ca.crt, issuer.crt, issuer.key)");
  cmd->add_option("--dir", options->dir, "Directory to write the CA files into")->required();
  cmd->add_option("--control-namespace", options->control_namespace,
                  "Namespace of the control plane (part of the identity names)")
      ->capture_default_str();
  cmd->add_option("--trust-domain", options->trust_domain, "Identity trust domain")
      ->capture_default_str();
  cmd->add_option("--anchor-lifetime", options->anchor_lifetime,
                  "Trust anchor validity (Go duration)")
      ->capture_default_str();
  cmd->add_option("--issuer-lifetime", options->issuer_lifetime, "Issuer validity (Go duration)")
      ->capture_default_str();
  cmd->add_flag("--force", options->force, "Overwrite existing CA files");
  return {cmd, [options] { return run_install_ca(*options, std::cout, std::cerr); }};
}

}  // namespace trellis::cli
