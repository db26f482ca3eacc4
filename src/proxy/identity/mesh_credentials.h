#pragma once
// Building the proxy's MeshTls and keeping it current.
//
// MeshTls is created once, before the workers start, and never replaced (workers hold a plain
// pointer); certificate and anchor rotation go through its contexts' update(). Two ways to get
// a certificate (contract C-6):
//   - static files (identity-cert-file + identity-key-file): loaded at start-up, reloaded by
//     FileCredentials when they change on disk;
//   - the identity service (control-addr + identity-name): IdentityClient (identity_client.h)
//     certifies and installs each new certificate. Until the first one arrives the server context
//     holds a placeholder: a throw-away self-signed chain no peer trusts, so meshed inbound
//     connections fail closed, and /ready stays 503.

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "net/asio.h"
#include "proxy/config.h"
#include "proxy/identity/state.h"
#include "proxy/mesh_tls.h"
#include "tls/context.h"

namespace trellis::proxy::identity {

// Loads a PEM bundle of trust anchors; errors name the file.
base::Result<tls::TrustAnchors, std::string> load_trust_anchors(const std::string& path);
// Loads a leaf-first chain and its key; errors name the file.
base::Result<tls::Credentials, std::string> load_credentials(const std::string& cert_file,
                                                             const std::string& key_file);

// Credentials for `identity` chained to an anchor nobody else has: what the server context holds
// before the first real certificate.
base::Result<tls::Credentials, std::string> placeholder_credentials(const tls::Identity& identity);

// Checks the identity settings fit together (cert without key, identity without anchors, a
// control plane without a token, ...). Errors name the settings.
base::Result<base::Ok, std::string> validate_identity_config(const ProxyConfig& config);

// The MeshTls for `config`, or nullptr when the proxy has no identity. With static files the
// certificate must be valid and, when identity-name is set, carry that identity.
base::Result<std::unique_ptr<MeshTls>, std::string> make_mesh_tls(const ProxyConfig& config);

// Installs `credentials` (and `anchors`) into both contexts of `mesh`.
base::Result<base::Ok, std::string> install(const MeshTls& mesh,
                                            const tls::Credentials& credentials,
                                            const tls::TrustAnchors& anchors);

// Watches a set of files and reports when any of them changed (mtime, size or inode), so
// editors and Kubernetes' symlink swaps are both seen.
class FileWatch {
 public:
  explicit FileWatch(std::vector<std::string> paths);
  // True when something changed since the last call (the first call records the state).
  bool changed();

 private:
  struct State {
    std::filesystem::file_time_type mtime{};
    uintmax_t size = 0;
    uint64_t inode = 0;
    bool exists = false;
    friend bool operator==(const State&, const State&) = default;
  };
  static State stat(const std::string& path);
  std::vector<std::string> paths_;
  std::vector<State> states_;
};

// Reloads identity-cert-file, identity-key-file and trust-anchors-file when they change and
// installs them. A bad file is logged (naming it) and the current credentials stay.
class FileCredentials {
 public:
  // `state` (may be null) is told about every certificate installed.
  FileCredentials(const ProxyConfig& config, const MeshTls& mesh, IdentityState* state);
  // Polls every `interval` on `executor` until the executor stops.
  void start(net::asio::any_io_executor executor,
             std::chrono::milliseconds interval = std::chrono::seconds(1));
  // Checks once; returns the error of a failed reload (nothing installed then).
  base::Result<bool, std::string> poll();

 private:
  std::string cert_file_, key_file_, anchors_file_;
  const MeshTls& mesh_;
  IdentityState* state_;
  FileWatch watch_;
};

}  // namespace trellis::proxy::identity
