#include "control/metrics.h"

namespace trellis::control {

ControlMetrics ControlMetrics::create(metrics::Registry& r) {
  const metrics::FamilyOptions forever{metrics::kRetainForever};
  return ControlMetrics{
      r.gauge("store_resources", "Objects in force in the store", {}, forever),
      r.gauge("store_errors", "Resource errors currently reported by the store", {}, forever),
      r.counter("store_updates_total", "Store snapshots published", {}, forever),
      r.gauge("destination_streams", "Open discovery streams", {"rpc"}, forever),
      r.counter("destination_updates_total", "Messages sent on discovery streams", {"rpc"},
                forever),
      r.counter("destination_refused_total",
                "Discovery calls refused for lack of a verified client identity", {"rpc"},
                forever),
      r.counter("identity_certify_total", "Certificates issued", {}, forever),
      r.counter("identity_certify_refused_total", "Certify requests refused, by reason",
                {"reason"}, forever),
      r.counter("grpc_tls_handshakes_total", "TLS handshakes on the gRPC listener, by result",
                {"result"}, forever),
  };
}

}  // namespace trellis::control
