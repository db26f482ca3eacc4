#pragma once
// trellis-control's admin HTTP API (contract C-5), served over HTTP/1 by http::h1::serve_h1:
//   GET /ready               200 "ready\n" once the store's first load and the CA are in, else 503
//   GET /live                200 "live\n"
//   GET /metrics             Prometheus text
//   GET /api/v1/status       version, identity domain, store (resources, errors), CA, proxies
//   GET /api/v1/endpoints?path=web.emojivoto.svc.cluster.local:80&ns=default
//                            Destination.Get's current Update as protobuf JSON
//   GET /api/v1/profile?path=web.emojivoto.svc.cluster.local:80&ns=default
//                            Destination.GetProfile's current Profile (with the compiled traffic
//                            policy for a client in namespace ns) as protobuf JSON

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "control/destination/resolver.h"
#include "control/identity/ca_dir.h"
#include "control/identity/certify.h"
#include "control/store/store.h"
#include "http/service.h"
#include "metrics/registry.h"
#include "tls/identity.h"

namespace trellis::control::server {

struct AdminContext {
  std::string version;
  tls::IdentityDomain domain;
  store::Store* store = nullptr;
  const identity::CaStore* ca = nullptr;  // read per request: follows issuer rotations
  identity::ProxyRegistry* proxies = nullptr;
  const destination::Resolver* resolver = nullptr;
  metrics::Registry* registry = nullptr;
};

class AdminService final : public http::Service {
 public:
  explicit AdminService(AdminContext context) : context_(std::move(context)) {}

  net::awaitable<http::Response> call(http::Request request) override;

  void set_ready(bool ready) { ready_.store(ready); }
  bool ready() const { return ready_.load(); }

  // The JSON bodies (public for tests).
  std::string status_json() const;
  std::string endpoints_json(const std::string& path, const std::string& ns) const;
  std::string profile_json(const std::string& path, const std::string& ns) const;

 private:
  AdminContext context_;
  std::atomic<bool> ready_{false};
};

// Splits "/a/b?x=1&y=%3A" into the path and decoded query parameters.
std::string url_path(const std::string& target);
std::string query_param(const std::string& target, const std::string& name);

// RFC 3339 UTC with seconds: "2027-01-01T00:00:00Z".
std::string rfc3339(std::chrono::system_clock::time_point t);

}  // namespace trellis::control::server
