#include "proxy/inbound/inbound_service.h"

#include "base/log.h"
#include "proxy/endpoint/dispatch.h"
#include "proxy/http_observe.h"
#include "proxy/inbound/route_observe.h"

namespace trellis::proxy::inbound {

std::optional<net::SocketAddress> app_address(const ProxyConfig& config,
                                              const http::ConnectionInfo& connection) {
  uint16_t port = connection.original_dst ? connection.original_dst->port : config.inbound_default_port;
  if (port == 0) return std::nullopt;
  auto ip = base::IpAddress::parse(config.inbound_app_ip);
  if (!ip) return std::nullopt;
  return net::SocketAddress{*ip, port};
}

net::awaitable<http::Response> InboundService::call(http::Request request) {
  const auto start = std::chrono::steady_clock::now();
  auto& cache = worker_.metrics_cache();
  // Only the proxy may assert a client identity, and only from a verified mTLS handshake.
  request.head.headers.remove("l5d-client-id");
  if (request.connection && !request.connection->client_identity.empty()) {
    request.head.headers.add("l5d-client-id", request.connection->client_identity);
  }
  // An HTTP/1 request that crossed the mesh as HTTP/2 (contract C-7): the application gets it
  // back as HTTP/1 and never sees the header.
  if (auto orig = request.head.headers.get(endpoint::kOrigProtoHeader)) {
    if (request.head.version == http::Version::kHttp2 && *orig == "HTTP/1.1") {
      request.head.version = http::Version::kHttp11;
    } else if (request.head.version == http::Version::kHttp2 && *orig == "HTTP/1.0") {
      request.head.version = http::Version::kHttp10;
    }
    request.head.headers.remove(endpoint::kOrigProtoHeader);
  }
  const std::optional<net::SocketAddress> app =
      request.connection ? app_address(worker_.config(), *request.connection) : std::nullopt;
  HttpLabels labels = HttpLabels::make("inbound", "", app ? app->to_string() : "");
  if (request.connection && request.connection->tls) {
    labels.set_tls("true", "", request.connection->client_identity,
                   worker_.mesh_tls() ? worker_.mesh_tls()->identity.str() : std::string());
  } else {
    labels.set_tls("no_identity", "no_tls_from_remote", "", "");
  }
  cache.requests(labels)->inc();
  const std::optional<InboundRoute> route =
      match_inbound_route(worker_, request.head, request.connection && request.connection->tls);
  auto& route_metrics = worker_.metrics().route;

  http::RequestHead error_head{request.head.method, request.head.scheme, request.head.authority,
                               request.head.path, request.head.version, {}};
  if (auto ct = request.head.headers.get("content-type")) error_head.headers.add("content-type", *ct);
  if (!app) {
    cache.error(true, "no_target_port")->inc();
    if (route) fail_inbound_route(route_metrics, *route, 404, to_string(ProxyError::kNoRoute));
    co_return observe_response(cache, labels, start,
                               error_response(ProxyError::kNoRoute, error_head,
                                              "connection was not redirected; no application port"),
                               to_string(ProxyError::kNoRoute));
  }
  endpoint::DispatchOptions options{worker_.config().inbound_connect_timeout,
                                    worker_.config().inbound_failfast_timeout};
  auto result = co_await endpoint::send_to_address(worker_, *app, std::move(request), options);
  if (!result) {
    const auto& err = result.error();
    cache.error(true, to_string(err.error))->inc();
    TRELLIS_LOG_DEBUG("inbound {} {}: {}", error_head.method, error_head.path, err.detail);
    if (route) {
      fail_inbound_route(route_metrics, *route, http_status(err.error), to_string(err.error));
    }
    co_return observe_response(cache, labels, start, error_response(err.error, error_head, err.detail),
                               to_string(err.error));
  }
  if (route) finish_inbound_route(route_metrics, *route, result->response.head);
  co_return observe_response(cache, labels, start, std::move(result->response));
}

}  // namespace trellis::proxy::inbound
