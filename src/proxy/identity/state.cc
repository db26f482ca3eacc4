#include "proxy/identity/state.h"

#include "tls/pem.h"
#include "tls/x509.h"

namespace trellis::proxy::identity {

IdentityState::IdentityState(metrics::Registry& registry)
    : expiration_(registry
                      .gauge("identity_cert_expiration_timestamp_seconds",
                             "Time when this proxy's current mTLS identity certificate expires "
                             "(seconds since the UNIX epoch).",
                             {})
                      .get({})),
      refreshes_(registry
                     .counter("identity_cert_refresh_total",
                              "Total count of identity certificates installed.", {})
                     .get({})) {}

void IdentityState::publish(const tls::Credentials& credentials) {
  std::vector<tls::X509Ptr> chain;
  chain.push_back(tls::share(credentials.leaf()));
  for (const auto& c : credentials.chain()) chain.push_back(tls::share(c.get()));
  auto pem = tls::to_pem(chain);
  const auto expiry = tls::not_after(credentials.leaf());
  std::function<void()> callback;
  {
    std::lock_guard lock(mu_);
    chain_pem_ = pem ? std::optional<std::string>(*pem) : std::nullopt;
    not_after_ = expiry;
    identity_ = credentials.identity().str();
    callback = callback_;
  }
  expiration_->set(std::chrono::duration_cast<std::chrono::seconds>(expiry.time_since_epoch())
                       .count());
  refreshes_->inc();
  if (callback) callback();
}

void IdentityState::on_certificate(std::function<void()> callback) {
  std::lock_guard lock(mu_);
  callback_ = std::move(callback);
}

std::optional<std::string> IdentityState::chain_pem() const {
  std::lock_guard lock(mu_);
  return chain_pem_;
}

std::optional<std::chrono::system_clock::time_point> IdentityState::not_after() const {
  std::lock_guard lock(mu_);
  return not_after_;
}

std::string IdentityState::identity() const {
  std::lock_guard lock(mu_);
  return identity_;
}

uint64_t IdentityState::refreshes() const { return refreshes_->value(); }

}  // namespace trellis::proxy::identity
