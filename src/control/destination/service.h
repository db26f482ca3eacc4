#pragma once
// Destination gRPC service (callback API): Get and GetProfile stream complete states computed
// by the Resolver, re-sent when a store change alters them. Callers must present a verified
// mesh identity (contract C-4); others get UNAUTHENTICATED.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <grpcpp/grpcpp.h>

#include "api/destination.grpc.pb.h"
#include "control/destination/resolver.h"
#include "control/metrics.h"
#include "control/store/store.h"

namespace trellis::control::destination {

// The verified client identity of a call, nullopt when none (see server/peers.h).
using PeerIdentity = std::function<std::optional<std::string>(std::string_view peer)>;

class DestinationService final : public api::Destination::CallbackService {
 public:
  DestinationService(store::Store& store, const Resolver& resolver, PeerIdentity peer_identity,
                     ControlMetrics& metrics);

  grpc::ServerWriteReactor<api::Update>* Get(grpc::CallbackServerContext* context,
                                             const api::GetDestination* request) override;
  grpc::ServerWriteReactor<api::Profile>* GetProfile(grpc::CallbackServerContext* context,
                                                     const api::GetDestination* request) override;

 private:
  store::Store& store_;
  const Resolver& resolver_;
  PeerIdentity peer_identity_;
  ControlMetrics& metrics_;
};

}  // namespace trellis::control::destination
