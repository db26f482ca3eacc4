#include "control/destination/service.h"

#include "base/log.h"
#include "control/server/watch_stream.h"

namespace trellis::control::destination {

DestinationService::DestinationService(store::Store& store, const Resolver& resolver,
                                       PeerIdentity peer_identity, ControlMetrics& metrics)
    : store_(store), resolver_(resolver), peer_identity_(std::move(peer_identity)),
      metrics_(metrics) {}

grpc::ServerWriteReactor<api::Update>* DestinationService::Get(
    grpc::CallbackServerContext* context, const api::GetDestination* request) {
  if (!peer_identity_(context->peer())) {
    metrics_.destination_refused_total.get({"Get"})->inc();
    return new server::RefusedStream<api::Update>(
        grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                     "Destination requires a client certificate from the mesh"));
  }
  const Target target =
      parse_target(request->path(), request->context_namespace(), resolver_.options().cluster_domain);
  TRELLIS_LOG_DEBUG("destination: Get {} (ns {})", request->path(), request->context_namespace());
  auto* stream = new server::WatchStream<api::Update>(
      [this, target](const store::Snapshot& s) { return resolver_.resolve(s, target); },
      [target](const store::Change& c) { return Resolver::affects(c, target); },
      metrics_.destination_streams.get({"Get"}), metrics_.destination_updates_total.get({"Get"}));
  server::WatchStream<api::Update>::start_on(stream, store_);
  return stream;
}

grpc::ServerWriteReactor<api::Profile>* DestinationService::GetProfile(
    grpc::CallbackServerContext* context, const api::GetDestination* request) {
  if (!peer_identity_(context->peer())) {
    metrics_.destination_refused_total.get({"GetProfile"})->inc();
    return new server::RefusedStream<api::Profile>(
        grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                     "Destination requires a client certificate from the mesh"));
  }
  const Target target =
      parse_target(request->path(), request->context_namespace(), resolver_.options().cluster_domain);
  // The client's namespace selects consumer routes and client-side profile overrides (C-9).
  std::string client_ns = request->context_namespace();
  TRELLIS_LOG_DEBUG("destination: GetProfile {} (ns {})", request->path(), client_ns);
  auto* stream = new server::WatchStream<api::Profile>(
      [this, target, client_ns](const store::Snapshot& s) {
        return resolver_.profile(s, target, client_ns);
      },
      [target, client_ns](const store::Change& c) {
        return Resolver::affects_profile(c, target, client_ns);
      },
      metrics_.destination_streams.get({"GetProfile"}),
      metrics_.destination_updates_total.get({"GetProfile"}));
  server::WatchStream<api::Profile>::start_on(stream, store_);
  return stream;
}

}  // namespace trellis::control::destination
