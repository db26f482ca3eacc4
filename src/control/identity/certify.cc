#include "control/identity/certify.h"

#include <google/protobuf/util/time_util.h>

#include "base/log.h"
#include "control/identity/token.h"
#include "tls/pem.h"
#include "tls/x509.h"

namespace trellis::control::identity {
namespace {

namespace api = trellis::api::identity::v1;

std::string to_der(const X509* cert) {
  unsigned char* buf = nullptr;
  const int len = i2d_X509(cert, &buf);
  if (len <= 0) return {};
  std::string out(reinterpret_cast<const char*>(buf), static_cast<size_t>(len));
  OPENSSL_free(buf);
  return out;
}

}  // namespace

void ProxyRegistry::record(Entry entry) {
  std::lock_guard lock(mu_);
  entries_[entry.identity] = std::move(entry);
}

std::vector<ProxyRegistry::Entry> ProxyRegistry::current(
    std::chrono::system_clock::time_point now) const {
  std::lock_guard lock(mu_);
  std::vector<Entry> out;
  for (const auto& [id, e] : entries_) {
    if (e.not_after > now) out.push_back(e);
  }
  return out;
}

IdentityService::IdentityService(std::string token_key, const CaStore& ca, CertifyOptions options,
                                 ControlMetrics& metrics, ProxyRegistry& proxies)
    : token_key_(std::move(token_key)), ca_(ca), options_(std::move(options)),
      metrics_(metrics), proxies_(proxies) {}

grpc::Status IdentityService::refuse(grpc::StatusCode code, const char* reason,
                                     std::string message) {
  metrics_.identity_certify_refused_total.get({reason})->inc();
  return grpc::Status(code, std::move(message));
}

grpc::Status IdentityService::Certify(grpc::ServerContext* context,
                                      const api::CertifyRequest* request,
                                      api::CertifyResponse* response) {
  std::string version;
  const auto& md = context->client_metadata();
  if (auto it = md.find("trellis-proxy-version"); it != md.end()) {
    version.assign(it->second.data(), std::min<size_t>(it->second.size(), 64));
  }
  return certify(*request, version, *response);
}

grpc::Status IdentityService::certify(const api::CertifyRequest& request,
                                      const std::string& proxy_version,
                                      api::CertifyResponse& response) {
  // 1. Who is asking: the token (never logged).
  auto claims = verify_token(token_key_, request.token());
  if (!claims) {
    const TokenError e = claims.error();
    const char* what = e == TokenError::kMissing        ? "no service-account token was sent"
                       : e == TokenError::kMalformed    ? "the service-account token is malformed"
                       : e == TokenError::kBadSignature ? "the service-account token's signature "
                                                          "does not verify"
                                                        : "the service-account token has expired";
    TRELLIS_LOG_INFO("identity: refused a certificate for {:.253}: {}", request.identity(), what);
    return refuse(grpc::StatusCode::UNAUTHENTICATED, to_string(e), what);
  }
  // 2. May that service account have this identity?
  auto expected = tls::service_account_identity(claims->service_account, claims->ns,
                                                options_.domain);
  if (!expected || expected->str() != request.identity()) {
    std::string msg = "service account " + claims->ns + "/" + claims->service_account +
                      " cannot certify identity \"" + request.identity().substr(0, 253) + "\"";
    if (expected) msg += " (its identity is " + expected->str() + ")";
    TRELLIS_LOG_INFO("identity: refused: {}", msg);
    return refuse(grpc::StatusCode::PERMISSION_DENIED, "identity_mismatch", msg);
  }
  // 3. The CSR.
  auto csr = tls::csr_from_der(request.certificate_signing_request());
  if (!csr) {
    return refuse(grpc::StatusCode::INVALID_ARGUMENT, "invalid_csr",
                  "the certificate signing request does not decode (DER PKCS#10 expected): " +
                      csr.error().detail);
  }
  tls::LeafOptions leaf_options;
  leaf_options.lifetime = options_.cert_ttl;
  leaf_options.now = std::chrono::system_clock::now();
  const std::shared_ptr<const CaMaterial> ca = ca_.current();  // one issuer for the whole answer
  auto leaf = tls::sign_leaf(ca->issuer, csr->get(), *expected, leaf_options);
  if (!leaf) {
    const auto& e = leaf.error();
    if (e.code == tls::ErrorCode::kIssuerExpired || e.code == tls::ErrorCode::kOpenSsl) {
      TRELLIS_LOG_ERROR("identity: cannot sign for {}: {}: {}", expected->str(),
                        tls::to_string(e.code), e.detail);
      return refuse(grpc::StatusCode::UNAVAILABLE, "issuer_unavailable",
                    std::string("the issuer cannot sign: ") + tls::to_string(e.code));
    }
    TRELLIS_LOG_INFO("identity: refused a CSR for {}: {}: {}", expected->str(),
                     tls::to_string(e.code), e.detail);
    return refuse(grpc::StatusCode::INVALID_ARGUMENT, "invalid_csr",
                  std::string("invalid certificate signing request: ") + tls::to_string(e.code) +
                      (e.detail.empty() ? std::string() : ": " + e.detail));
  }
  response.set_leaf_certificate(to_der(leaf->get()));
  response.add_intermediate_certificates(to_der(ca->issuer.ca.cert.get()));
  for (const auto& c : ca->issuer.chain) response.add_intermediate_certificates(to_der(c.get()));
  const auto not_after = tls::not_after(leaf->get());
  *response.mutable_valid_until() = google::protobuf::util::TimeUtil::SecondsToTimestamp(
      std::chrono::duration_cast<std::chrono::seconds>(not_after.time_since_epoch()).count());
  metrics_.identity_certify_total.get({})->inc();
  proxies_.record({expected->str(), not_after, proxy_version, std::chrono::system_clock::now()});
  TRELLIS_LOG_INFO("identity: issued a certificate for {}", expected->str());
  return grpc::Status::OK;
}

}  // namespace trellis::control::identity
