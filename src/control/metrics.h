#pragma once
// trellis-control's metrics, declared in one list (DESIGN.md §7.9).

#include "metrics/registry.h"

namespace trellis::control {

struct ControlMetrics {
  metrics::Family<metrics::Gauge>& store_resources;
  metrics::Family<metrics::Gauge>& store_errors;
  metrics::Family<metrics::Counter>& store_updates_total;
  metrics::Family<metrics::Gauge>& destination_streams;          // {rpc}
  metrics::Family<metrics::Counter>& destination_updates_total;  // {rpc}
  metrics::Family<metrics::Counter>& destination_refused_total;  // {rpc}
  metrics::Family<metrics::Counter>& identity_certify_total;
  metrics::Family<metrics::Counter>& identity_certify_refused_total;  // {reason}
  metrics::Family<metrics::Counter>& grpc_tls_handshakes_total;       // {result}

  static ControlMetrics create(metrics::Registry& registry);
};

}  // namespace trellis::control
