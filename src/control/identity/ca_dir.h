#pragma once
// The CA directory (contract C-2), written by `trellis install-ca` or by the user:
//   ca.crt      trust anchors (PEM bundle of self-signed CA certificates)
//   issuer.crt  the issuer certificate, optionally followed by intermediates up to an anchor
//   issuer.key  the issuer's private key (PEM)

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

}  // namespace trellis::control::identity
