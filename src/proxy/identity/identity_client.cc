#include "proxy/identity/identity_client.h"

#include <fstream>
#include <random>
#include <sstream>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include "api/identity.pb.h"
#include "base/log.h"
#include "tls/ca.h"
#include "tls/pem.h"
#include "tls/x509.h"

namespace trellis::proxy::identity {
namespace {

// Tokens are small (a JWT is ~1 KiB); anything much larger is not a token.
constexpr size_t kMaxTokenBytes = 64 * 1024;

std::string describe(const tls::Error& e) {
  return e.detail.empty() ? std::string(tls::to_string(e.code))
                          : std::string(tls::to_string(e.code)) + ": " + e.detail;
}

base::Result<tls::X509Ptr, std::string> from_der(const std::string& der, const char* what) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  tls::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    tls::drain_openssl_errors("d2i_X509");
    return base::unexpected(std::string("the ") + what + " is not a DER certificate");
  }
  return cert;
}

// Empty when `credentials` verify to one of `anchors` now, else why not.
std::string why_not_chained(const tls::Credentials& credentials, const tls::TrustAnchors& anchors) {
  auto store = anchors.make_store();
  if (!store) return describe(store.error());
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  for (const auto& c : credentials.chain()) sk_X509_push(untrusted, c.get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  std::string why = "cannot verify";
  if (ctx != nullptr &&
      X509_STORE_CTX_init(ctx, store->get(), credentials.leaf(), untrusted) == 1) {
    why = X509_verify_cert(ctx) == 1
              ? ""
              : X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
  }
  X509_STORE_CTX_free(ctx);
  sk_X509_free(untrusted);
  ERR_clear_error();
  return why;
}

}  // namespace

IdentityClient::IdentityClient(control::GrpcChannel& channel, const MeshTls& mesh,
                               tls::TrustAnchors anchors, IdentityState& state,
                               IdentityClientOptions options)
    : channel_(channel),
      mesh_(mesh),
      anchors_(std::move(anchors)),
      state_(state),
      options_(std::move(options)) {
  // The file's state now: the anchors we were given were read from it just before.
  if (!options_.anchors_file.empty()) {
    anchors_watch_ = std::make_unique<FileWatch>(std::vector<std::string>{options_.anchors_file});
  }
  // One key for the life of the process: it never leaves memory (linkerd.md §3).
  auto key = tls::generate_p256_key();
  if (!key) {
    key_error_ = "cannot generate a key: " + describe(key.error());
    return;
  }
  auto csr = tls::create_csr(mesh_.identity, key->get());
  if (!csr) {
    key_error_ = "cannot create a CSR: " + describe(csr.error());
    return;
  }
  auto der = tls::csr_to_der(csr->get());
  if (!der) {
    key_error_ = "cannot encode the CSR: " + describe(der.error());
    return;
  }
  key_ = std::move(key).value();
  csr_der_ = std::move(der).value();
}

base::Result<std::string, std::string> IdentityClient::read_token() const {
  std::ifstream in(options_.token_file, std::ios::binary);
  if (!in) return base::unexpected("identity token file " + options_.token_file + " cannot be read");
  std::ostringstream out;
  out << in.rdbuf();
  std::string token = out.str();
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
    token.pop_back();
  }
  if (token.empty()) return base::unexpected("identity token file " + options_.token_file + " is empty");
  if (token.size() > kMaxTokenBytes) {
    return base::unexpected("identity token file " + options_.token_file + " is too large");
  }
  return token;
}

net::awaitable<base::Result<std::chrono::milliseconds, std::string>> IdentityClient::certify_once() {
  if (!key_) co_return base::unexpected(key_error_);
  auto token = read_token();
  if (!token) co_return base::unexpected(token.error());

  api::identity::v1::CertifyRequest request;
  request.set_identity(mesh_.identity.str());
  request.set_token(*token);
  request.set_certificate_signing_request(csr_der_);
  std::string bytes;
  request.SerializeToString(&bytes);
  control::Metadata metadata = {{"trellis-proxy-version", std::string(kProxyVersion)}};
  auto answer = co_await channel_.unary(std::string(kCertifyPath), std::move(bytes),
                                        std::move(metadata), options_.call_timeout);
  if (!answer) co_return base::unexpected("Certify refused: " + control::to_string(answer.error()));

  api::identity::v1::CertifyResponse response;
  if (!response.ParseFromString(*answer)) {
    co_return base::unexpected(std::string("Certify answer is not a CertifyResponse"));
  }
  auto leaf = from_der(response.leaf_certificate(), "leaf certificate");
  if (!leaf) co_return base::unexpected(leaf.error());
  std::vector<tls::X509Ptr> chain;
  for (const auto& der : response.intermediate_certificates()) {
    auto cert = from_der(der, "intermediate certificate");
    if (!cert) co_return base::unexpected(cert.error());
    chain.push_back(std::move(cert).value());
  }
  auto credentials = tls::Credentials::create(std::move(leaf).value(), tls::share(key_.get()),
                                              std::move(chain));
  if (!credentials) {
    co_return base::unexpected("Certify answer unusable: " + describe(credentials.error()));
  }
  if (credentials->identity() != mesh_.identity) {
    co_return base::unexpected("Certify answered a certificate for " +
                               credentials->identity().str());
  }
  const auto now = std::chrono::system_clock::now();
  const auto expiry = tls::not_after(credentials->leaf());
  if (expiry <= now) co_return base::unexpected(std::string("Certify answered an expired certificate"));
  // On failure the contexts keep the current certificate.
  if (auto installed = install(*credentials); !installed) co_return base::unexpected(installed.error());

  state_.publish(*credentials);
  current_.emplace(*credentials);
  if (!certified_) {
    certified_ = true;
    // The control connection was made without a client certificate; Destination needs one.
    channel_.reconnect();
  }
  auto refresh = std::chrono::duration_cast<std::chrono::milliseconds>((expiry - now) * 7 / 10);
  refresh = std::clamp(refresh, options_.min_refresh, options_.max_refresh);
  TRELLIS_LOG_INFO("certified {} until {}s since epoch; refresh in {}ms", mesh_.identity.str(),
                   std::chrono::duration_cast<std::chrono::seconds>(expiry.time_since_epoch()).count(),
                   refresh.count());
  co_return refresh;
}

base::Result<base::Ok, std::string> IdentityClient::install(const tls::Credentials& credentials) {
  if (auto r = mesh_.server->update(credentials, anchors_); !r) {
    return base::unexpected("cannot install the certificate: " + describe(r.error()));
  }
  if (auto r = mesh_.client->update(&credentials, anchors_); !r) {
    return base::unexpected("cannot install the certificate: " + describe(r.error()));
  }
  return base::Ok{};
}

base::Result<bool, std::string> IdentityClient::poll_anchors() {
  if (!anchors_watch_ || !anchors_watch_->changed()) return false;
  auto anchors = load_trust_anchors(options_.anchors_file);
  if (!anchors) return base::unexpected(anchors.error());
  if (current_) {
    // The operator's bundle wins even when it no longer holds the anchor of our current
    // certificate (peers with the new bundle would refuse it anyway); the next Certify brings
    // one from the new issuer. Said loudly, since until then new connections to us fail.
    if (auto why = why_not_chained(*current_, *anchors); !why.empty()) {
      TRELLIS_LOG_WARN("identity: our current certificate does not verify to the new trust "
                       "anchors in {} ({}); peers using them will refuse it until the next "
                       "refresh", options_.anchors_file, why);
    }
    auto previous = std::move(anchors_);
    anchors_ = std::move(anchors).value();
    if (auto r = install(*current_); !r) {
      anchors_ = std::move(previous);
      return base::unexpected("trust anchors file " + options_.anchors_file + ": " + r.error());
    }
  } else {
    // No certificate yet: only the client side matters (verifying the control plane); the
    // server side keeps its placeholder until the first certificate brings these anchors.
    if (auto r = mesh_.client->update(nullptr, *anchors); !r) {
      return base::unexpected("trust anchors file " + options_.anchors_file + ": " +
                              describe(r.error()));
    }
    anchors_ = std::move(anchors).value();
  }
  return true;
}

net::awaitable<void> IdentityClient::watch_anchors() {
  anchors_timer_ =
      std::make_unique<net::asio::steady_timer>(co_await net::asio::this_coro::executor);
  while (!stopped_) {
    anchors_timer_->expires_after(options_.anchors_poll);
    auto [ec] = co_await anchors_timer_->async_wait(net::use_nothrow);
    if (ec || stopped_) co_return;
    auto polled = poll_anchors();
    if (!polled) {
      TRELLIS_LOG_ERROR("identity: {}; keeping the trust anchors in force", polled.error());
    } else if (*polled) {
      TRELLIS_LOG_INFO("identity: trust anchors reloaded from {} ({} anchor(s))",
                       options_.anchors_file, anchors_.certificates().size());
    }
  }
}

void IdentityClient::stop() {
  stopped_ = true;
  if (timer_) timer_->cancel();
  if (anchors_timer_) anchors_timer_->cancel();
}

net::awaitable<void> IdentityClient::run() {
  timer_ = std::make_unique<net::asio::steady_timer>(co_await net::asio::this_coro::executor);
  if (anchors_watch_) {
    net::asio::co_spawn(co_await net::asio::this_coro::executor, watch_anchors(),
                        net::asio::detached);
  }
  control::Backoff backoff(options_.retry_base, options_.retry_max,
                           static_cast<uint64_t>(std::random_device{}()));
  while (!stopped_) {
    auto next = co_await certify_once();
    std::chrono::milliseconds wait;
    if (next) {
      backoff.reset();
      wait = *next;
    } else {
      ++failures_;
      wait = backoff.next();
      TRELLIS_LOG_WARN("identity: {}; {}; retrying in {}ms", next.error(),
                       certified_ ? "keeping the current certificate" : "no certificate yet",
                       wait.count());
    }
    if (stopped_) break;
    timer_->expires_after(wait);
    co_await timer_->async_wait(net::use_nothrow);
  }
}

}  // namespace trellis::proxy::identity
