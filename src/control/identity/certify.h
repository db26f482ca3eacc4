#pragma once
// Identity.Certify (contract C-3): token → service account → identity; CSR checked by
// tls::validate_csr; leaf signed by the issuer with the configured lifetime.
//
// Refusals, in the order checked:
//   UNAUTHENTICATED    no token, malformed token, bad signature, expired token
//   PERMISSION_DENIED  the token's service account cannot certify the requested identity
//   INVALID_ARGUMENT   the CSR (undecodable, or the tls::validate_csr error text)
//   UNAVAILABLE        the issuer cannot sign now (expired)
// each counted in identity_certify_refused_total{reason}.

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "api/identity.grpc.pb.h"
#include "control/identity/ca_dir.h"
#include "control/metrics.h"
#include "tls/identity.h"

namespace trellis::control::identity {

// The proxies that certified recently, for /api/v1/status and `trellis check`.
class ProxyRegistry {
 public:
  struct Entry {
    std::string identity;
    std::chrono::system_clock::time_point not_after;
    std::string version;  // gRPC metadata trellis-proxy-version; "" when not sent
    std::chrono::system_clock::time_point last_certified;
  };
  void record(Entry entry);
  // Entries whose certificate has not expired at `now`, by identity.
  std::vector<Entry> current(std::chrono::system_clock::time_point now) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

struct CertifyOptions {
  std::chrono::seconds cert_ttl = std::chrono::hours(24);
  tls::IdentityDomain domain;
};

class IdentityService final : public trellis::api::identity::v1::Identity::Service {
 public:
  // `ca` is read at every Certify, so an issuer rotation applies to the next one.
  IdentityService(std::string token_key, const CaStore& ca, CertifyOptions options,
                  ControlMetrics& metrics, ProxyRegistry& proxies);

  grpc::Status Certify(grpc::ServerContext* context,
                       const trellis::api::identity::v1::CertifyRequest* request,
                       trellis::api::identity::v1::CertifyResponse* response) override;

  // The same without gRPC (tests, and the control plane's own leaf uses sign directly).
  grpc::Status certify(const trellis::api::identity::v1::CertifyRequest& request,
                       const std::string& proxy_version,
                       trellis::api::identity::v1::CertifyResponse& response);

 private:
  grpc::Status refuse(grpc::StatusCode code, const char* reason, std::string message);

  const std::string token_key_;
  const CaStore& ca_;
  const CertifyOptions options_;
  ControlMetrics& metrics_;
  ProxyRegistry& proxies_;
};

}  // namespace trellis::control::identity
