#include "proxy/outbound/outbound_service.h"

#include "base/log.h"
#include "proxy/endpoint/dispatch.h"
#include "proxy/http_observe.h"

namespace trellis::proxy::outbound {
namespace {

// What the request is addressed to, before discovery.
struct Target {
  std::optional<net::SocketAddress> address;  // transparent: the original destination
  std::string authority;                      // ingress: override header or Host
};

Target target_of(const WorkerContext& worker, http::Request& request) {
  Target t;
  if (auto o = request.head.headers.get("l5d-dst-override")) {
    t.authority = std::string(*o);
    request.head.headers.remove("l5d-dst-override");
  }
  if (worker.config().mode == OutboundMode::kTransparent && request.connection &&
      request.connection->original_dst) {
    t.address = request.connection->original_dst;
  }
  if (t.authority.empty()) t.authority = request.head.authority;
  return t;
}

}  // namespace

net::awaitable<http::Response> OutboundService::call(http::Request request) {
  const auto start = std::chrono::steady_clock::now();
  const Target target = target_of(worker_, request);
  const discovery::SnapshotPtr snapshot = worker_.snapshot();

  std::optional<discovery::Destination> destination;
  if (target.address) destination = snapshot->find_by_address(*target.address);
  if (!destination && !target.authority.empty()) {
    destination = snapshot->find_by_authority(target.authority);
  }

  const std::string authority = destination ? destination->authority : target.authority;
  std::string target_addr;
  if (target.address) target_addr = target.address->to_string();
  HttpLabels labels = HttpLabels::make("outbound", authority, target_addr);
  labels.set_tls("no_identity", "not_provided_by_service_discovery", "", "");
  auto& cache = worker_.metrics_cache();

  const http::RequestHead head_copy_for_errors{request.head.method, request.head.scheme,
                                               request.head.authority, request.head.path,
                                               request.head.version, {}};
  http::RequestHead error_head = head_copy_for_errors;
  if (auto ct = request.head.headers.get("content-type")) error_head.headers.add("content-type", *ct);

  endpoint::DispatchOptions options{worker_.config().outbound_connect_timeout,
                                    worker_.config().outbound_failfast_timeout};
  base::Result<endpoint::Dispatched, endpoint::DispatchError> result =
      base::unexpected(endpoint::DispatchError{ProxyError::kInternal, ""});
  if (destination) {
    cache.requests(labels)->inc();
    result = co_await endpoint::send_to_service(worker_, snapshot, *destination,
                                                std::move(request), options);
  } else {
    // Not a known service: forward to the original destination, or to an ip:port authority.
    std::optional<net::SocketAddress> address = target.address;
    if (!address) {
      std::string a = target.authority;
      if (a.find(':') == std::string::npos) a += ":80";
      if (auto parsed = net::SocketAddress::parse(a)) address = *parsed;
    }
    if (!address) {
      cache.requests(labels)->inc();
      cache.error(false, "no_route")->inc();
      auto r = error_response(ProxyError::kNoRoute, error_head,
                              "no service or address found for \"" + target.authority + "\"");
      co_return observe_response(cache, labels, start, std::move(r), to_string(ProxyError::kNoRoute));
    }
    if (target_addr.empty()) labels = HttpLabels::make("outbound", authority, address->to_string());
    labels.set_tls("no_identity", "not_provided_by_service_discovery", "", "");
    cache.requests(labels)->inc();
    result = co_await endpoint::send_to_address(worker_, *address, std::move(request), options);
  }

  if (!result) {
    const auto& err = result.error();
    cache.error(false, to_string(err.error))->inc();
    TRELLIS_LOG_DEBUG("outbound {} {}: {}", error_head.method, authority, err.detail);
    co_return observe_response(cache, labels, start, error_response(err.error, error_head, err.detail),
                               to_string(err.error));
  }
  labels.set_dst(result->endpoint_labels);
  co_return observe_response(cache, labels, start, std::move(result->response));
}

}  // namespace trellis::proxy::outbound
