#pragma once
// The inbound HTTP pipeline for requests arriving for the local application: target = the
// application at inbound_app_ip:<original port>; the client identity header is never trusted
// from the network (a spoofed l5d-client-id is removed); golden metrics with
// direction="inbound"; proxy errors as responses.

#include "http/service.h"
#include "proxy/worker_context.h"

namespace trellis::proxy::inbound {

class InboundService final : public http::Service {
 public:
  explicit InboundService(WorkerContext& worker) : worker_(worker) {}
  net::awaitable<http::Response> call(http::Request request) override;

 private:
  WorkerContext& worker_;
};

// The application address for a connection: inbound_app_ip and the original destination port
// (or inbound_default_port when the connection was not redirected). nullopt: nowhere to go.
std::optional<net::SocketAddress> app_address(const ProxyConfig& config,
                                              const http::ConnectionInfo& connection);

}  // namespace trellis::proxy::inbound
