#pragma once
// InboundServerPolicies.WatchPort and OutboundPolicies.Watch (callback API): complete states
// re-sent on change. Callers must present a verified mesh identity (contract C-4).

#include <grpcpp/grpcpp.h>

#include "api/policy.grpc.pb.h"
#include "control/destination/service.h"
#include "control/metrics.h"
#include "control/policy/policy.h"

namespace trellis::control::policy {

class InboundService final : public api::InboundServerPolicies::CallbackService {
 public:
  InboundService(store::Store& store, PolicyOptions options,
                 destination::PeerIdentity peer_identity, ControlMetrics& metrics);
  grpc::ServerWriteReactor<api::InboundServer>* WatchPort(
      grpc::CallbackServerContext* context, const api::InboundPort* request) override;

 private:
  store::Store& store_;
  const PolicyOptions options_;
  destination::PeerIdentity peer_identity_;
  ControlMetrics& metrics_;
};

class OutboundService final : public api::OutboundPolicies::CallbackService {
 public:
  OutboundService(store::Store& store, const destination::Resolver& resolver,
                  destination::PeerIdentity peer_identity, ControlMetrics& metrics);
  grpc::ServerWriteReactor<api::OutboundPolicy>* Watch(
      grpc::CallbackServerContext* context, const api::OutboundTarget* request) override;

 private:
  store::Store& store_;
  const destination::Resolver& resolver_;
  destination::PeerIdentity peer_identity_;
  ControlMetrics& metrics_;
};

}  // namespace trellis::control::policy
