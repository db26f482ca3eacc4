#pragma once
// The admin server's request handling (DESIGN.md §1, Linkerd's :4191): /ready, /live, /metrics,
// /config_dump, /identity (the current certificate chain PEM, leaf first; 404 when the proxy has
// none), /proxy-log-level (GET/PUT), /shutdown (POST, loopback clients only, off unless
// enabled — CVE-2024-40632 was an SSRF to this endpoint). Transport-independent: a Service the
// HTTP/1 server connection calls.

#include <atomic>
#include <functional>
#include <optional>
#include <string>

#include "http/service.h"
#include "metrics/registry.h"
#include "metrics/text_format.h"

namespace trellis::proxy::admin {

struct AdminOptions {
  bool shutdown_enabled = false;
};

class AdminService final : public http::Service {
 public:
  AdminService(metrics::Registry& registry, AdminOptions options,
               std::function<std::string()> config_dump, std::function<void()> shutdown);

  net::awaitable<http::Response> call(http::Request request) override;

  void set_ready(bool ready) { ready_.store(ready); }
  // Where GET /identity comes from; set once before serving.
  void set_identity_source(std::function<std::optional<std::string>()> source) {
    identity_ = std::move(source);
  }
  bool ready() const { return ready_.load(); }

 private:
  metrics::Registry& registry_;
  AdminOptions options_;
  std::function<std::string()> config_dump_;
  std::function<void()> shutdown_;
  std::function<std::optional<std::string>()> identity_;
  std::atomic<bool> ready_{false};
};

}  // namespace trellis::proxy::admin
