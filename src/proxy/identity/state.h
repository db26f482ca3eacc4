#pragma once
// What the proxy currently knows about its own certificate, for the admin server (/identity,
// /config_dump, /ready) and the identity metrics. Written by whoever installs certificates
// (FileCredentials, IdentityClient), read by the admin thread; never on the data path.

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "metrics/family.h"
#include "metrics/registry.h"
#include "tls/context.h"

namespace trellis::proxy::identity {

class IdentityState {
 public:
  // Registers identity_cert_expiration_timestamp_seconds and identity_cert_refresh_total.
  explicit IdentityState(metrics::Registry& registry);

  // A certificate was installed: remembers its chain and expiry, updates the metrics and calls
  // the on_certificate callback.
  void publish(const tls::Credentials& credentials);
  // Called after every publish (the proxy releases its /ready latch on the first).
  void on_certificate(std::function<void()> callback);

  // The current chain, leaf first, as PEM; nullopt before the first certificate.
  std::optional<std::string> chain_pem() const;
  std::optional<std::chrono::system_clock::time_point> not_after() const;
  std::string identity() const;
  uint64_t refreshes() const;

 private:
  metrics::Handle<metrics::Gauge> expiration_;
  metrics::Handle<metrics::Counter> refreshes_;
  mutable std::mutex mu_;
  std::optional<std::string> chain_pem_;
  std::optional<std::chrono::system_clock::time_point> not_after_;
  std::string identity_;
  std::function<void()> callback_;
};

}  // namespace trellis::proxy::identity
