#include "proxy/admin/admin.h"

#include "base/log.h"
#include "base/strings.h"

namespace trellis::proxy::admin {
namespace {

constexpr size_t kMaxAdminBody = 1024;

bool is_loopback(const net::SocketAddress& peer) {
  if (peer.ip.is_v4()) return peer.ip.bytes()[0] == 127;
  return peer.ip == *base::IpAddress::parse("::1");
}

std::string path_only(const std::string& target) {
  const size_t q = target.find('?');
  return q == std::string::npos ? target : target.substr(0, q);
}

}  // namespace

AdminService::AdminService(metrics::Registry& registry, AdminOptions options,
                           std::function<std::string()> config_dump, std::function<void()> shutdown)
    : registry_(registry),
      options_(options),
      config_dump_(std::move(config_dump)),
      shutdown_(std::move(shutdown)) {}

net::awaitable<http::Response> AdminService::call(http::Request request) {
  const std::string path = path_only(request.head.path);
  const std::string& method = request.head.method;
  const bool get = method == "GET" || method == "HEAD";

  if (path == "/live") {
    if (!get) co_return http::make_response(405, "method not allowed\n");
    co_return http::make_response(200, "live\n");
  }
  if (path == "/ready") {
    if (!get) co_return http::make_response(405, "method not allowed\n");
    if (!ready()) co_return http::make_response(503, "not ready\n");
    co_return http::make_response(200, "ready\n");
  }
  if (path == "/metrics") {
    if (!get) co_return http::make_response(405, "method not allowed\n");
    co_return http::make_response(200, registry_.render(), std::string(metrics::kTextContentType));
  }
  if (path == "/config_dump") {
    if (!get) co_return http::make_response(405, "method not allowed\n");
    co_return http::make_response(200, config_dump_ ? config_dump_() : "{}", "application/json");
  }
  if (path == "/identity") {
    if (!get) co_return http::make_response(405, "method not allowed\n");
    std::optional<std::string> pem = identity_ ? identity_() : std::nullopt;
    if (!pem) co_return http::make_response(404, "this proxy has no identity certificate\n");
    co_return http::make_response(200, std::move(*pem), "application/x-pem-file");
  }
  if (path == "/proxy-log-level") {
    if (get) co_return http::make_response(200, base::log::level() + "\n");
    if (method != "PUT") co_return http::make_response(405, "method not allowed\n");
    auto body = co_await http::read_all(*request.body, kMaxAdminBody);
    if (!body) co_return http::make_response(413, "log level body too large\n");
    const std::string level(base::trim(body->data));
    if (!base::log::set_level(level)) {
      co_return http::make_response(
          400, "invalid log level \"" + level + "\" (trace, debug, info, warn, error, off)\n");
    }
    TRELLIS_LOG_INFO("log level set to {}", level);
    co_return http::make_response(204);
  }
  if (path == "/shutdown") {
    if (method != "POST") co_return http::make_response(405, "method not allowed\n");
    if (!options_.shutdown_enabled) {
      co_return http::make_response(404, "shutdown endpoint is disabled\n");
    }
    if (!request.connection || !is_loopback(request.connection->peer)) {
      co_return http::make_response(403, "shutdown is only accepted from loopback\n");
    }
    TRELLIS_LOG_INFO("shutdown requested through the admin server");
    if (shutdown_) shutdown_();
    co_return http::make_response(202, "shutting down\n");
  }
  co_return http::make_response(404, "not found\n");
}

}  // namespace trellis::proxy::admin
