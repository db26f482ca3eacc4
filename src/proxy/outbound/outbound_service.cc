#include "proxy/outbound/outbound_service.h"

#include "base/log.h"
#include "proxy/endpoint/dispatch.h"
#include "proxy/http_observe.h"
#include "proxy/tunnel/tunnel.h"

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
  const bool connect = request.head.method == "CONNECT";
  Target target = target_of(worker_, request);
  // CONNECT names its target in the authority, whatever address the client dialled.
  if (connect) target.address.reset();
  discovery::SnapshotPtr snapshot = worker_.snapshot();

  std::optional<discovery::Destination> destination;
  if (target.address) destination = snapshot->find_by_address(*target.address);
  if (!destination && !target.authority.empty()) {
    destination = snapshot->find_by_authority(target.authority);
  }
  if (!destination && snapshot->resolver()) {
    // Control-plane discovery learns targets on first use (waits at most the fail-fast timeout;
    // a target the control plane does not know goes to its original destination below).
    destination = co_await discovery::resolve_lazily(snapshot, target.address, target.authority,
                                                     worker_.config().outbound_failfast_timeout);
  }

  const std::string authority = destination ? destination->authority : target.authority;
  std::string target_addr;
  if (target.address) target_addr = target.address->to_string();
  HttpLabels labels = HttpLabels::make("outbound", authority, target_addr);
  labels.set_tls("no_identity", "not_provided_by_service_discovery", "", "");
  auto& cache = worker_.metrics_cache();

  const http::RequestHead error_head = error_head_of(request.head);
  // Every way out counts the request exactly once, with the labels known at that point (dst_*
  // and tls once the endpoint is picked).
  auto fail = [&](const endpoint::DispatchError& err) {
    cache.error(false, to_string(err.error))->inc();
    TRELLIS_LOG_DEBUG("outbound {} {}: {}", error_head.method, authority, err.detail);
    return observe_response(cache, labels, start, error_response(err.error, error_head, err.detail),
                            to_string(err.error));
  };

  endpoint::DispatchOptions options{worker_.config().outbound_connect_timeout,
                                    worker_.config().outbound_failfast_timeout};
  base::Result<endpoint::Dispatched, endpoint::DispatchError> result =
      base::unexpected(endpoint::DispatchError{ProxyError::kInternal, ""});
  if (destination && has_routes(*destination, request.head)) {
    RoutedResult routed = co_await route_request(worker_, routes_, snapshot, *destination,
                                                 std::move(request));
    labels.set_dst(routed.endpoint_labels);
    if (!routed.identity.empty()) labels.set_tls("true", "", "", routed.identity);
    cache.requests(labels)->inc();
    if (!routed.error.empty()) cache.error(false, routed.error)->inc();
    co_return observe_response(cache, labels, start, std::move(routed.response), routed.error);
  }
  if (destination) {
    auto picked = co_await endpoint::pick_endpoint(worker_, snapshot, *destination,
                                                   options.failfast_timeout);
    if (!picked) {
      cache.requests(labels)->inc();
      co_return fail(picked.error());
    }
    labels.set_dst(picked->labels);
    if (endpoint::is_meshed(worker_, *picked)) labels.set_tls("true", "", "", picked->identity);
    cache.requests(labels)->inc();
    if (connect) {
      const std::string identity =
          endpoint::is_meshed(worker_, *picked) ? picked->identity : std::string();
      auto stream = co_await endpoint::connect_stream(worker_, picked->address, identity,
                                                      options.connect_timeout);
      if (!stream) co_return fail(stream.error());
      co_return observe_response(cache, labels, start,
                                 tunnel::connect_established(std::move(*stream)));
    }
    result = co_await endpoint::send_to_endpoint(worker_, *picked, std::move(request), options);
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
      co_return fail({ProxyError::kNoRoute,
                      "no service or address found for \"" + target.authority + "\""});
    }
    if (target_addr.empty()) labels = HttpLabels::make("outbound", authority, address->to_string());
    labels.set_tls("no_identity", "not_provided_by_service_discovery", "", "");
    cache.requests(labels)->inc();
    if (connect) {
      auto stream = co_await endpoint::connect_stream(worker_, *address, std::string(),
                                                      options.connect_timeout);
      if (!stream) co_return fail(stream.error());
      co_return observe_response(cache, labels, start,
                                 tunnel::connect_established(std::move(*stream)));
    }
    result = co_await endpoint::send_to_address(worker_, *address, std::move(request), options);
  }

  if (!result) co_return fail(result.error());
  co_return observe_response(cache, labels, start, std::move(result->response));
}

}  // namespace trellis::proxy::outbound
