#pragma once
// The proxy side of Identity.Certify (linkerd.md §3, contract C-3/C-6): a P-256 key generated in
// memory once (never written anywhere), a CSR for our identity, and Certify calls authenticated
// with the service-account token (read fresh from its file each time, never logged). Every new
// certificate is installed into the MeshTls contexts and published to IdentityState; the next
// refresh is at 70% of the remaining lifetime (clamped to [min_refresh, 24h]). A failed
// Certify keeps the current certificate and retries with exponential backoff.
//
// The trust-anchor bundle is watched too (anchors_file): during an anchor rotation the operator
// first distributes a bundle with the old and the new anchor, then switches the issuer. The new
// bundle is installed into both contexts with the current certificate as soon as it is seen; a
// broken bundle is logged and the anchors in force stay.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "net/asio.h"
#include "proxy/control/grpc_channel.h"
#include "proxy/identity/mesh_credentials.h"
#include "proxy/identity/state.h"
#include "proxy/mesh_tls.h"
#include "tls/context.h"

namespace trellis::proxy::identity {

inline constexpr std::string_view kProxyVersion = "0.1.0";
inline constexpr std::string_view kCertifyPath = "/trellis.api.identity.v1.Identity/Certify";

struct IdentityClientOptions {
  std::string token_file;
  std::chrono::milliseconds min_refresh{10000};  // Linkerd's lower clamp
  std::chrono::milliseconds max_refresh{std::chrono::hours(24)};
  std::chrono::milliseconds call_timeout{10000};
  std::chrono::milliseconds retry_base{500};
  std::chrono::milliseconds retry_max{30000};
  std::string anchors_file;  // trust-anchors-file; empty: the anchors are not watched
  std::chrono::milliseconds anchors_poll{1000};
};

class IdentityClient {
 public:
  IdentityClient(control::GrpcChannel& channel, const MeshTls& mesh, tls::TrustAnchors anchors,
                 IdentityState& state, IdentityClientOptions options);

  // Certify loop; runs on the channel's executor until `stop()`.
  net::awaitable<void> run();
  void stop();

  // One Certify attempt: on success the certificate is installed and published. Returns the
  // time until the next refresh, or the error (token problems, gRPC status, bad answer).
  net::awaitable<base::Result<std::chrono::milliseconds, std::string>> certify_once();

  // Trust anchors changed (file reload): used for the next installs.
  void set_anchors(tls::TrustAnchors anchors) { anchors_ = std::move(anchors); }

  // Checks anchors_file once: when it changed, loads it and installs it (with the current
  // certificate, if any) into both contexts. True when new anchors were installed; the error
  // (naming the file) when the new bundle is unusable — the anchors in force stay then.
  base::Result<bool, std::string> poll_anchors();

  uint64_t failures() const { return failures_; }

 private:
  base::Result<std::string, std::string> read_token() const;
  base::Result<base::Ok, std::string> install(const tls::Credentials& credentials);
  net::awaitable<void> watch_anchors();

  control::GrpcChannel& channel_;
  const MeshTls& mesh_;
  tls::TrustAnchors anchors_;
  IdentityState& state_;
  IdentityClientOptions options_;
  tls::EvpPkeyPtr key_;
  std::string csr_der_;
  std::string key_error_;
  bool certified_ = false;
  bool stopped_ = false;
  uint64_t failures_ = 0;
  std::unique_ptr<net::asio::steady_timer> timer_;
  std::optional<tls::Credentials> current_;  // the certificate installed last
  std::unique_ptr<FileWatch> anchors_watch_;
  std::unique_ptr<net::asio::steady_timer> anchors_timer_;
};

}  // namespace trellis::proxy::identity
