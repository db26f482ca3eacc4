#pragma once
// The CA directory (contract C-2), written by `trellis install-ca` or by the user:
//   ca.crt      trust anchors (PEM bundle of self-signed CA certificates)
//   issuer.crt  the issuer certificate, optionally followed by intermediates up to an anchor
//   issuer.key  the issuer's private key (PEM)

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "tls/ca.h"
#include "tls/context.h"

namespace trellis::control::identity {

struct CaMaterial {
  tls::TrustAnchors anchors;
  tls::Issuer issuer;
  std::string anchors_pem;
};

// Loads and checks the directory: the key matches the issuer, the issuer is a CA and chains to
// one of the anchors. Errors name the file and the problem (start-up).
base::Result<std::shared_ptr<const CaMaterial>, std::string> load_ca_dir(const std::string& dir);

// The CA material in force. Readers (Certify, the admin API, the control plane's own renewal)
// take a reference-counted snapshot per use, so replacing it (issuer rotation) never disturbs a
// signature in progress. Any thread.
class CaStore {
 public:
  explicit CaStore(std::shared_ptr<const CaMaterial> initial) : current_(std::move(initial)) {}
  std::shared_ptr<const CaMaterial> current() const { return current_.load(); }
  void set(std::shared_ptr<const CaMaterial> material) { current_.store(std::move(material)); }

 private:
  std::atomic<std::shared_ptr<const CaMaterial>> current_;
};

// Notices changes of the directory's three files (mtime, size, inode: editors, `cp`, and
// Kubernetes' symlink swaps of a mounted Secret) and reloads them. A user replacing the issuer
// writes two files; a reload that fails (say the new certificate with the old key) is retried
// at every poll until the files fit together, and the material in force stays meanwhile.
class CaDirWatch {
 public:
  // The first poll() compares against the state at construction (what load_ca_dir read).
  explicit CaDirWatch(std::string dir);

  struct Reloaded {
    std::shared_ptr<const CaMaterial> material;  // null: nothing changed or the reload failed
    std::string error;                           // non-empty: the reload failed (new problem)
  };
  Reloaded poll();

 private:
  struct FileState {
    std::filesystem::file_time_type mtime{};
    uintmax_t size = 0;
    uint64_t inode = 0;
    bool exists = false;
    friend bool operator==(const FileState&, const FileState&) = default;
  };
  std::vector<FileState> stat_all() const;

  std::string dir_;
  std::vector<FileState> loaded_;  // the state last loaded successfully
  std::string last_error_;         // reported once per distinct failure
};

}  // namespace trellis::control::identity
