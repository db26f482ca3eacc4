#include "tls/context.h"

#include <openssl/err.h>

#include "tls/pem.h"
#include "tls/x509.h"

namespace trellis::tls {
namespace {

constexpr const char* kCipherSuites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
// linkerd2-proxy offers X25519MLKEM768 first; OpenSSL 3.0 has no ML-KEM (security.md §3.1).
constexpr const char* kGroups = "X25519:P-256";
constexpr const char* kSignatureAlgorithms = "ecdsa_secp256r1_sha256";

// Per-SSL_CTX settings the callbacks need. Stored as SSL_CTX ex_data so they live exactly as
// long as the SSL_CTX — which an in-flight handshake keeps alive after a rotation replaced it.
struct CtxConfig {
  std::string alpn_wire;     // server: accepted protocols, preference order, wire format
  std::string own_identity;  // server: the only SNI accepted when require_sni_match
  bool require_sni_match = false;
};

void free_ctx_config(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<CtxConfig*>(ptr);
}

void free_expected_identity(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<Identity*>(ptr);
}

int ctx_config_index() {
  static const int index =
      SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, &free_ctx_config);
  return index;
}

// A client session's expected server identity. (Index 0, "app data", belongs to Asio.)
int expected_identity_index() {
  static const int index =
      SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, &free_expected_identity);
  return index;
}

const CtxConfig* config_of(SSL* ssl) {
  return static_cast<const CtxConfig*>(
      SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_config_index()));
}

const Identity* expected_of(SSL* ssl) {
  return static_cast<const Identity*>(SSL_get_ex_data(ssl, expected_identity_index()));
}

Result<std::string> alpn_wire(const std::vector<std::string>& protocols) {
  std::string wire;
  for (const auto& p : protocols) {
    if (p.empty() || p.size() > 255) {
      return fail(ErrorCode::kInvalidArgument, "ALPN protocol names are 1..255 bytes");
    }
    wire.push_back(static_cast<char>(p.size()));
    wire += p;
  }
  return wire;
}

// Runs for every certificate of the peer chain after OpenSSL's own checks (signature, time,
// purpose/EKU, depth). Adds the checks that are ours: on the leaf (depth 0), it must not be a
// CA, and its DNS SAN must be the identity we expect (client) or a valid identity (server).
int verify_callback(int preverify_ok, X509_STORE_CTX* store) {
  if (preverify_ok != 1) return 0;
  if (X509_STORE_CTX_get_error_depth(store) != 0) return 1;
  X509* leaf = X509_STORE_CTX_get_current_cert(store);
  auto* ssl = static_cast<SSL*>(
      X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  if (leaf == nullptr || ssl == nullptr) return 0;
  // A CA certificate must never authenticate a workload (SPIFFE X509-SVID; the EKU/CA
  // confusion of Envoy CVE-2022-21657).
  if (X509_check_ca(leaf) != 0) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_INVALID_PURPOSE);
    return 0;
  }
  if (SSL_is_server(ssl) == 0) {
    const Identity* expected = expected_of(ssl);
    if (expected == nullptr || !has_exact_dns_identity(leaf, *expected)) {
      X509_STORE_CTX_set_error(store, X509_V_ERR_HOSTNAME_MISMATCH);
      return 0;
    }
  } else if (!identity_of(leaf).ok()) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  return 1;
}

int servername_callback(SSL* ssl, int* alert, void*) {
  const CtxConfig* config = config_of(ssl);
  if (config == nullptr || !config->require_sni_match) return SSL_TLSEXT_ERR_OK;
  // OpenSSL has already refused a host_name containing NUL, so the C string is the whole name.
  const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (sni == nullptr || std::string_view(sni) != config->own_identity) {
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  return SSL_TLSEXT_ERR_OK;
}

// Picks the first of our protocols (server preference) that the client offered. Parses the
// client's list with bounds checks instead of SSL_select_next_proto (CVE-2024-5535).
int alpn_callback(SSL* ssl, const unsigned char** out, unsigned char* out_len,
                  const unsigned char* in, unsigned int in_len, void*) {
  const CtxConfig* config = config_of(ssl);
  if (config == nullptr || config->alpn_wire.empty()) return SSL_TLSEXT_ERR_NOACK;
  const std::string_view ours = config->alpn_wire;
  const std::string_view theirs(reinterpret_cast<const char*>(in), in_len);
  for (size_t i = 0; i < ours.size(); i += 1 + static_cast<uint8_t>(ours[i])) {
    const std::string_view want = ours.substr(i + 1, static_cast<uint8_t>(ours[i]));
    for (size_t j = 0; j < theirs.size();) {
      const size_t len = static_cast<uint8_t>(theirs[j]);
      if (len == 0 || j + 1 + len > theirs.size()) break;  // malformed: stop looking
      if (theirs.substr(j + 1, len) == want) {
        *out = in + j + 1;
        *out_len = static_cast<unsigned char>(len);
        return SSL_TLSEXT_ERR_OK;
      }
      j += 1 + len;
    }
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;  // no_application_protocol (RFC 7301 §3.2)
}

// What both roles share; `server` picks the method, the purpose and the verify mode.
Result<SslCtxPtr> mesh_context(bool server, const Credentials* credentials,
                               const TrustAnchors& anchors, bool verify_peer,
                               std::unique_ptr<CtxConfig> config) {
  SslCtxPtr ctx(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()));
  if (!ctx) return openssl_failure("SSL_CTX_new");
  SSL_CTX* c = ctx.get();
  if (SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_ciphersuites(c, kCipherSuites) != 1 ||
      SSL_CTX_set1_groups_list(c, kGroups) != 1 ||
      SSL_CTX_set1_sigalgs_list(c, kSignatureAlgorithms) != 1 ||
      SSL_CTX_set1_client_sigalgs_list(c, kSignatureAlgorithms) != 1) {
    return openssl_failure("configuring TLS 1.3 parameters");
  }
  // No resumption of any kind: a resumed session would skip verification against the
  // *current* anchors (Envoy CVE-2022-21654), and 0-RTT data is replayable (CVE-2025-64763).
  SSL_CTX_set_options(c, SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                             SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  if (SSL_CTX_set_num_tickets(c, 0) != 1 || SSL_CTX_set_max_early_data(c, 0) != 1 ||
      SSL_CTX_set_recv_max_early_data(c, 0) != 1) {
    return openssl_failure("disabling tickets and early data");
  }
  // Send exactly the configured chain; never complete it from the trust store.
  SSL_CTX_set_mode(c, SSL_MODE_NO_AUTO_CHAIN);
  SSL_CTX_set_max_cert_list(c, kMaxPeerChainBytes);

  // Verification: our anchors only (no system store), strict X.509, the right purpose for
  // the peer's role (EKU clientAuth from clients, serverAuth from servers), bounded depth.
  auto store = anchors.make_store();
  if (!store) return base::unexpected(store.error());
  SSL_CTX_set_cert_store(c, store->release());
  X509_VERIFY_PARAM* param = SSL_CTX_get0_param(c);
  if (X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT) != 1 ||
      X509_VERIFY_PARAM_set_purpose(param, server ? X509_PURPOSE_SSL_CLIENT
                                                  : X509_PURPOSE_SSL_SERVER) != 1) {
    return openssl_failure("configuring verification");
  }
  SSL_CTX_set_verify_depth(c, kMaxVerifyDepth);
  if (verify_peer) {
    const int mode = SSL_VERIFY_PEER | (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0);
    SSL_CTX_set_verify(c, mode, verify_callback);
  } else {
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
  }

  if (credentials != nullptr) {
    if (SSL_CTX_use_certificate(c, credentials->leaf()) != 1 ||
        SSL_CTX_use_PrivateKey(c, credentials->key()) != 1 ||
        SSL_CTX_check_private_key(c) != 1) {
      return openssl_failure("installing the certificate");
    }
    for (const auto& cert : credentials->chain()) {
      if (SSL_CTX_add1_chain_cert(c, cert.get()) != 1) {
        return openssl_failure("SSL_CTX_add1_chain_cert");
      }
    }
  }

  if (SSL_CTX_set_ex_data(c, ctx_config_index(), config.get()) != 1) {
    return openssl_failure("SSL_CTX_set_ex_data");
  }
  config.release();  // owned by the SSL_CTX now (free_ctx_config)
  if (server) {
    SSL_CTX_set_tlsext_servername_callback(c, servername_callback);
    SSL_CTX_set_alpn_select_cb(c, alpn_callback, nullptr);
  }
  return ctx;
}

}  // namespace

// === TrustAnchors ===

Result<TrustAnchors> TrustAnchors::from_pem(std::string_view bundle) {
  auto certs = certificates_from_pem(bundle);
  if (!certs) return base::unexpected(certs.error());
  return from_certificates(std::move(*certs));
}

Result<TrustAnchors> TrustAnchors::from_certificates(std::vector<X509Ptr> certs) {
  if (certs.empty()) return fail(ErrorCode::kInvalidArgument, "empty trust-anchor bundle");
  for (const auto& c : certs) {
    if (X509_check_ca(c.get()) != 1) {
      return fail(ErrorCode::kNotCa, "trust anchor without basicConstraints CA:TRUE");
    }
    // Anchors are roots: the store only ends chains at self-signed certificates.
    if (X509_self_signed(c.get(), 1) != 1) {
      ERR_clear_error();
      return fail(ErrorCode::kNotCa, "trust anchor is not a self-signed root");
    }
  }
  return TrustAnchors(std::move(certs));
}

Result<X509StorePtr> TrustAnchors::make_store() const {
  X509StorePtr store(X509_STORE_new());
  if (!store) return openssl_failure("X509_STORE_new");
  for (const auto& c : certs_) {
    if (X509_STORE_add_cert(store.get(), c.get()) != 1) {
      const unsigned long e = ERR_peek_last_error();
      // The same anchor twice in a bundle is harmless.
      if (ERR_GET_REASON(e) != X509_R_CERT_ALREADY_IN_HASH_TABLE) {
        return openssl_failure("X509_STORE_add_cert");
      }
      ERR_clear_error();
    }
  }
  return store;
}

// === Credentials ===

Result<Credentials> Credentials::from_pem(std::string_view chain_pem, std::string_view key_pem) {
  auto certs = certificates_from_pem(chain_pem);
  if (!certs) return base::unexpected(certs.error());
  auto key = private_key_from_pem(key_pem);
  if (!key) return base::unexpected(key.error());
  X509Ptr leaf = std::move(certs->front());
  certs->erase(certs->begin());
  return create(std::move(leaf), std::move(*key), std::move(*certs));
}

Result<Credentials> Credentials::create(X509Ptr leaf, EvpPkeyPtr key, std::vector<X509Ptr> chain) {
  if (!leaf || !key) return fail(ErrorCode::kInvalidArgument, "certificate and key required");
  if (X509_check_private_key(leaf.get(), key.get()) != 1) {
    return fail(ErrorCode::kKeyMismatch, drain_openssl_errors("key does not match certificate"));
  }
  auto identity = identity_of(leaf.get());
  if (!identity) return fail(ErrorCode::kInvalidIdentity, identity.error().detail);
  return Credentials(std::move(leaf), std::move(key), std::move(chain), std::move(*identity));
}

// === ServerContext ===

struct ServerContext::Snapshot {
  SslCtxPtr ctx;
  Identity identity;
  TrustAnchors anchors;
};

Result<std::shared_ptr<const ServerContext::Snapshot>> ServerContext::build(
    const Credentials& credentials, const TrustAnchors& anchors) const {
  auto config = std::make_unique<CtxConfig>();
  auto wire = alpn_wire(options_.alpn);
  if (!wire) return base::unexpected(wire.error());
  config->alpn_wire = std::move(*wire);
  config->own_identity = credentials.identity().str();
  config->require_sni_match = options_.require_sni_match;
  auto ctx = mesh_context(true, &credentials, anchors, options_.require_client_certificate,
                          std::move(config));
  if (!ctx) return base::unexpected(ctx.error());
  return std::shared_ptr<const Snapshot>(
      new Snapshot{std::move(*ctx), credentials.identity(), anchors});
}

Result<std::unique_ptr<ServerContext>> ServerContext::create(ServerOptions options,
                                                             const Credentials& credentials,
                                                             const TrustAnchors& anchors) {
  std::unique_ptr<ServerContext> context(new ServerContext(std::move(options)));
  if (auto r = context->update(credentials, anchors); !r) return base::unexpected(r.error());
  return context;
}

Result<Ok> ServerContext::update(const Credentials& credentials, const TrustAnchors& anchors) {
  auto snapshot = build(credentials, anchors);
  if (!snapshot) return base::unexpected(snapshot.error());
  current_.store(std::move(*snapshot));
  return Ok{};
}

Result<Ok> ServerContext::update(const Credentials& credentials) {
  return update(credentials, current_.load()->anchors);
}

Result<SslPtr> ServerContext::new_session() const {
  SslPtr ssl(SSL_new(current_.load()->ctx.get()));  // the SSL holds its own SSL_CTX reference
  if (!ssl) return openssl_failure("SSL_new");
  return ssl;
}

Identity ServerContext::identity() const { return current_.load()->identity; }

// === ClientContext ===

struct ClientContext::Snapshot {
  SslCtxPtr ctx;
  std::string alpn_wire;
};

Result<std::shared_ptr<const ClientContext::Snapshot>> ClientContext::build(
    const Credentials* credentials, const TrustAnchors& anchors) const {
  auto wire = alpn_wire(options_.alpn);
  if (!wire) return base::unexpected(wire.error());
  auto ctx = mesh_context(false, credentials, anchors, true, std::make_unique<CtxConfig>());
  if (!ctx) return base::unexpected(ctx.error());
  return std::shared_ptr<const Snapshot>(new Snapshot{std::move(*ctx), std::move(*wire)});
}

Result<std::unique_ptr<ClientContext>> ClientContext::create(ClientOptions options,
                                                             const Credentials* credentials,
                                                             const TrustAnchors& anchors) {
  std::unique_ptr<ClientContext> context(new ClientContext(std::move(options)));
  if (auto r = context->update(credentials, anchors); !r) return base::unexpected(r.error());
  return context;
}

Result<Ok> ClientContext::update(const Credentials* credentials, const TrustAnchors& anchors) {
  auto snapshot = build(credentials, anchors);
  if (!snapshot) return base::unexpected(snapshot.error());
  current_.store(std::move(*snapshot));
  return Ok{};
}

Result<SslPtr> ClientContext::new_session(const Identity& server,
                                          const std::vector<std::string>* alpn) const {
  const auto snapshot = current_.load();
  SslPtr ssl(SSL_new(snapshot->ctx.get()));
  if (!ssl) return openssl_failure("SSL_new");
  if (SSL_set_tlsext_host_name(ssl.get(), server.str().c_str()) != 1) {
    return openssl_failure("SSL_set_tlsext_host_name");
  }
  auto* expected = new Identity(server);
  if (SSL_set_ex_data(ssl.get(), expected_identity_index(), expected) != 1) {
    delete expected;
    return openssl_failure("SSL_set_ex_data");
  }
  std::string wire = snapshot->alpn_wire;
  if (alpn != nullptr) {
    auto w = alpn_wire(*alpn);
    if (!w) return base::unexpected(w.error());
    wire = std::move(*w);
  }
  // SSL_set_alpn_protos returns 0 on success.
  if (!wire.empty() &&
      SSL_set_alpn_protos(ssl.get(), reinterpret_cast<const unsigned char*>(wire.data()),
                          static_cast<unsigned int>(wire.size())) != 0) {
    return openssl_failure("SSL_set_alpn_protos");
  }
  return ssl;
}

// === After the handshake ===

std::optional<std::string> expected_server_identity(SSL* ssl) {
  const Identity* expected = expected_of(ssl);
  if (expected == nullptr) return std::nullopt;
  return expected->str();
}

Result<PeerInfo> verified_peer(SSL* ssl) {
  PeerInfo info;
  const unsigned char* alpn = nullptr;
  unsigned int alpn_len = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  if (alpn != nullptr) info.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_len);

  X509* cert = SSL_get0_peer_certificate(ssl);
  const bool server = SSL_is_server(ssl) == 1;
  if (cert == nullptr) {
    if (!server) return fail(ErrorCode::kNoPeerIdentity, "server sent no certificate");
    if ((SSL_get_verify_mode(ssl) & SSL_VERIFY_FAIL_IF_NO_PEER_CERT) != 0) {
      return fail(ErrorCode::kPeerCertificateRequired, "client sent no certificate");
    }
    return info;  // the identity service: no client certificate expected
  }
  const long result = SSL_get_verify_result(ssl);
  if (result != X509_V_OK || (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) == 0) {
    return fail(ErrorCode::kPeerCertificateInvalid, X509_verify_cert_error_string(result));
  }
  auto identity = identity_of(cert);
  if (!identity) return base::unexpected(identity.error());
  if (!server) {
    const Identity* expected = expected_of(ssl);
    if (expected == nullptr || *expected != *identity) {
      return fail(ErrorCode::kPeerIdentityMismatch, "server is " + identity->str());
    }
  }
  info.identity = std::move(*identity);
  return info;
}

}  // namespace trellis::tls
