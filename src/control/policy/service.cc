#include "control/policy/service.h"

#include "control/server/watch_stream.h"

namespace trellis::control::policy {
namespace {

grpc::Status unauthenticated(const char* service) {
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                      std::string(service) + " requires a client certificate from the mesh");
}

}  // namespace

InboundService::InboundService(store::Store& store, PolicyOptions options,
                               destination::PeerIdentity peer_identity, ControlMetrics& metrics)
    : store_(store), options_(std::move(options)), peer_identity_(std::move(peer_identity)),
      metrics_(metrics) {}

grpc::ServerWriteReactor<api::InboundServer>* InboundService::WatchPort(
    grpc::CallbackServerContext* context, const api::InboundPort* request) {
  if (!peer_identity_(context->peer())) {
    metrics_.destination_refused_total.get({"WatchPort"})->inc();
    return new server::RefusedStream<api::InboundServer>(unauthenticated("InboundServerPolicies"));
  }
  const Workload workload = parse_workload(request->workload());
  if (!workload.valid || request->port() == 0 || request->port() > 65535) {
    return new server::RefusedStream<api::InboundServer>(grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        "workload must be \"<namespace>:<pod>\" or \"<namespace>:external:<name>\" and port "
        "1-65535"));
  }
  const uint32_t port = request->port();
  auto* stream = new server::WatchStream<api::InboundServer>(
      [this, workload, port](const store::Snapshot& s) {
        return inbound_server(s, workload, port, options_);
      },
      [workload](const store::Change& c) {
        for (const auto& key : c.changed) {
          if (key.ns == workload.ns || key.kind == "Namespace") return true;
        }
        return false;
      },
      metrics_.destination_streams.get({"WatchPort"}),
      metrics_.destination_updates_total.get({"WatchPort"}));
  server::WatchStream<api::InboundServer>::start_on(stream, store_);
  return stream;
}

OutboundService::OutboundService(store::Store& store, const destination::Resolver& resolver,
                                 destination::PeerIdentity peer_identity, ControlMetrics& metrics)
    : store_(store), resolver_(resolver), peer_identity_(std::move(peer_identity)),
      metrics_(metrics) {}

grpc::ServerWriteReactor<api::OutboundPolicy>* OutboundService::Watch(
    grpc::CallbackServerContext* context, const api::OutboundTarget* request) {
  if (!peer_identity_(context->peer())) {
    metrics_.destination_refused_total.get({"Watch"})->inc();
    return new server::RefusedStream<api::OutboundPolicy>(unauthenticated("OutboundPolicies"));
  }
  const auto target = destination::parse_target(request->path(), request->context_namespace(),
                                                resolver_.options().cluster_domain);
  auto* stream = new server::WatchStream<api::OutboundPolicy>(
      [this, target](const store::Snapshot& s) { return outbound_policy(s, target, resolver_); },
      [target](const store::Change& c) { return destination::Resolver::affects(c, target); },
      metrics_.destination_streams.get({"Watch"}),
      metrics_.destination_updates_total.get({"Watch"}));
  server::WatchStream<api::OutboundPolicy>::start_on(stream, store_);
  return stream;
}

}  // namespace trellis::control::policy
