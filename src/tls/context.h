#pragma once
// Mesh TLS contexts: the security boundary between proxies (README.md in this folder says what
// each setting defends against). Both sides:
//   - TLS 1.3 only; AES-128-GCM, AES-256-GCM, CHACHA20-POLY1305; groups X25519 then P-256;
//     signature scheme ecdsa_secp256r1_sha256;
//   - no session tickets, no session cache, no early data (0-RTT): every connection is a full
//     handshake validated against the current anchors;
//   - peer chains verified against the trust anchors only (never the system store), purpose
//     (EKU) checked, at most kMaxVerifyDepth intermediates, X509_STRICT, leaf must not be a CA;
//   - identities read from the verified leaf's DNS SAN by type, compared by length.
// Server: client certificate requested and required; SNI must be the server's own identity.
// Client: SNI = the expected server identity, whose DNS SAN must match it exactly.
//
// A context is an immutable SSL_CTX snapshot behind an atomic shared_ptr: rotating the
// certificate or the anchors builds a new SSL_CTX, new handshakes use it, established
// connections keep the one they started with. new_session() may run on any thread.

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tls/error.h"
#include "tls/identity.h"
#include "tls/ossl.h"

namespace trellis::tls {

// ALPN of the mesh transport header (linkerd.md §2.10).
inline constexpr std::string_view kAlpnTransport = "transport.l5d.io/v1";
inline constexpr std::string_view kAlpnH2 = "h2";
inline constexpr std::string_view kAlpnHttp11 = "http/1.1";

// Intermediates allowed between a peer's leaf and an anchor. The mesh needs one (the issuer);
// the cap bounds path-building work a crafted chain can cause (RUSTSEC-2023-0052).
inline constexpr int kMaxVerifyDepth = 4;
// Largest certificate chain accepted from a peer. A mesh chain is about 1.5 KiB.
inline constexpr long kMaxPeerChainBytes = 16 * 1024;

// The certificates peers are verified against: one or more self-signed CA certificates. During
// rotation this is the old+new bundle.
class TrustAnchors {
 public:
  static Result<TrustAnchors> from_pem(std::string_view bundle);
  static Result<TrustAnchors> from_certificates(std::vector<X509Ptr> certs);

  TrustAnchors(const TrustAnchors& other) : certs_(share(other.certs_)) {}
  TrustAnchors& operator=(const TrustAnchors& other) {
    certs_ = share(other.certs_);
    return *this;
  }
  TrustAnchors(TrustAnchors&&) = default;
  TrustAnchors& operator=(TrustAnchors&&) = default;

  const std::vector<X509Ptr>& certificates() const { return certs_; }
  // A fresh X509_STORE holding exactly these anchors.
  Result<X509StorePtr> make_store() const;

 private:
  explicit TrustAnchors(std::vector<X509Ptr> certs) : certs_(std::move(certs)) {}
  std::vector<X509Ptr> certs_;
};

// This proxy's certificate: the leaf, its key, and the intermediates sent after it.
class Credentials {
 public:
  // `chain_pem` is leaf-first (the leaf, then the issuer chain), as the identity service returns.
  static Result<Credentials> from_pem(std::string_view chain_pem, std::string_view key_pem);
  // Checks that the key matches the leaf and the leaf has a usable identity.
  static Result<Credentials> create(X509Ptr leaf, EvpPkeyPtr key, std::vector<X509Ptr> chain);

  Credentials(const Credentials& other)
      : leaf_(share(other.leaf_.get())), key_(share(other.key_.get())),
        chain_(share(other.chain_)), identity_(other.identity_) {}
  Credentials(Credentials&&) = default;

  X509* leaf() const { return leaf_.get(); }
  EVP_PKEY* key() const { return key_.get(); }
  const std::vector<X509Ptr>& chain() const { return chain_; }
  const Identity& identity() const { return identity_; }

 private:
  Credentials(X509Ptr leaf, EvpPkeyPtr key, std::vector<X509Ptr> chain, Identity identity)
      : leaf_(std::move(leaf)), key_(std::move(key)), chain_(std::move(chain)),
        identity_(std::move(identity)) {}
  X509Ptr leaf_;
  EvpPkeyPtr key_;
  std::vector<X509Ptr> chain_;
  Identity identity_;
};

struct ServerOptions {
  // Protocols accepted, in the server's preference order. A client offering ALPN with none of
  // these is refused (no_application_protocol); a client offering none gets none. Empty: ALPN
  // is not negotiated at all.
  std::vector<std::string> alpn = {std::string(kAlpnTransport), std::string(kAlpnH2),
                                   std::string(kAlpnHttp11)};
  // mTLS. Only the identity service turns this off: a proxy asking for its first certificate
  // has none to present (linkerd.md §3).
  bool require_client_certificate = true;
  // Refuse a ClientHello whose SNI is not our identity (unrecognized_name). The inbound proxy
  // already routes on SNI before terminating; this keeps a misrouted connection from being
  // terminated with a certificate the client did not ask for.
  bool require_sni_match = true;
};

class ServerContext {
 public:
  static Result<std::unique_ptr<ServerContext>> create(ServerOptions options,
                                                       const Credentials& credentials,
                                                       const TrustAnchors& anchors);
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  // Certificate rotation: builds and installs a new SSL_CTX. On error the current one stays.
  Result<Ok> update(const Credentials& credentials, const TrustAnchors& anchors);
  Result<Ok> update(const Credentials& credentials);  // keeps the current anchors

  // An SSL for one accepted connection, bound to the current snapshot.
  Result<SslPtr> new_session() const;
  Identity identity() const;

 private:
  struct Snapshot;
  explicit ServerContext(ServerOptions options) : options_(std::move(options)) {}
  Result<std::shared_ptr<const Snapshot>> build(const Credentials& credentials,
                                                const TrustAnchors& anchors) const;

  const ServerOptions options_;
  std::atomic<std::shared_ptr<const Snapshot>> current_;
};

struct ClientOptions {
  // Protocols offered by default (new_session can override per connection). Empty: none.
  std::vector<std::string> alpn;
};

class ClientContext {
 public:
  // `credentials` may be null: the identity client has no certificate yet and authenticates
  // with a token instead (linkerd.md §3).
  static Result<std::unique_ptr<ClientContext>> create(ClientOptions options,
                                                       const Credentials* credentials,
                                                       const TrustAnchors& anchors);
  ClientContext(const ClientContext&) = delete;
  ClientContext& operator=(const ClientContext&) = delete;

  Result<Ok> update(const Credentials* credentials, const TrustAnchors& anchors);

  // An SSL for one connection to `server`: SNI = server, and the handshake fails unless the
  // server's verified leaf has exactly that DNS SAN. `alpn` replaces the default offer.
  Result<SslPtr> new_session(const Identity& server,
                             const std::vector<std::string>* alpn = nullptr) const;

 private:
  struct Snapshot;
  explicit ClientContext(ClientOptions options) : options_(std::move(options)) {}
  Result<std::shared_ptr<const Snapshot>> build(const Credentials* credentials,
                                                const TrustAnchors& anchors) const;

  const ClientOptions options_;
  std::atomic<std::shared_ptr<const Snapshot>> current_;
};

// What a completed handshake established about the peer.
struct PeerInfo {
  std::optional<Identity> identity;  // nullopt only for a server not requiring client certs
  std::string alpn;                  // empty when none was negotiated
};

// Reads the peer identity from the *verified* leaf after a handshake: fails unless OpenSSL
// reports a successful verification, and, on a client session, re-checks the expected server
// identity (defence in depth: the verify callback already did).
Result<PeerInfo> verified_peer(SSL* ssl);

// The identity a client session expects of its server (nullopt on server sessions).
std::optional<std::string> expected_server_identity(SSL* ssl);

}  // namespace trellis::tls
