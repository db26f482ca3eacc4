#pragma once
// Everything one worker thread owns: its executor, connection pools, balancers and metric handle
// cache. Nothing here is shared with other workers (DESIGN.md §7.3): workers share only the
// configuration, the metrics registry and immutable discovery snapshots.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "http/h1conn/pool.h"
#include "http/h1conn/server_connection.h"
#include "net/asio.h"
#include "http/h2/settings.h"
#include "proxy/balance/p2c.h"
#include "proxy/endpoint/h2_clients.h"
#include "proxy/config.h"
#include "proxy/discovery/snapshot.h"
#include "proxy/http_metrics.h"
#include "proxy/mesh_tls.h"
#include "proxy/metrics.h"

namespace trellis::proxy {

struct BalancerEntry {
  balance::P2cBalancer balancer;
  uint64_t snapshot_version = UINT64_MAX;
  const discovery::ServicePort* port = nullptr;  // valid for snapshot_version only
};

class WorkerContext {
 public:
  WorkerContext(int index, net::asio::any_io_executor executor, const ProxyConfig& config,
                discovery::DiscoverySource& discovery, ProxyMetrics& metrics)
      : index_(index), executor_(std::move(executor)), config_(config), discovery_(discovery),
        metrics_(metrics), metrics_cache_(metrics), random_(0x5eed0000ULL + index),
        h2_clients_(executor_) {}

  int index() const { return index_; }
  net::asio::any_io_executor executor() const { return executor_; }
  const ProxyConfig& config() const { return config_; }
  discovery::SnapshotPtr snapshot() const { return discovery_.current(); }
  ProxyMetrics& metrics() { return metrics_; }
  HttpMetricsCache& metrics_cache() { return metrics_cache_; }
  http::h1::ServerCounters& h1_counters() { return h1_counters_; }
  http::h1::ShutdownSignal& shutdown_signal() { return shutdown_; }
  endpoint::H2Clients& h2_clients() { return h2_clients_; }
  http::h2::H2Counters& h2_server_counters() { return h2_server_counters_; }
  const http::h2::H2Settings& h2_settings() const { return h2_settings_; }
  balance::FastRandom& random() { return random_; }
  // Null when the proxy has no mesh identity. Set once before the worker starts.
  const MeshTls* mesh_tls() const { return mesh_tls_; }
  void set_mesh_tls(const MeshTls* mesh_tls) { mesh_tls_ = mesh_tls; }

  // The HTTP/1 pool for an endpoint, created on first use.
  http::h1::Pool& pool(const net::SocketAddress& address, std::chrono::milliseconds connect_timeout);
  // The balancer for a service port, refreshed when `snapshot` is newer than the one it was
  // built from (an older snapshot never downgrades it).
  balance::P2cBalancer& balancer(const discovery::SnapshotPtr& snapshot,
                                 const discovery::Destination& destination);
  // The balancer for an authority if one exists, without refreshing it.
  balance::P2cBalancer* find_balancer(const std::string& authority);

  // Requests of this worker waiting for an available endpoint (bounded by queue_capacity).
  size_t& waiting_for_endpoint() { return waiting_for_endpoint_; }

  uint64_t next_connection_id() { return (static_cast<uint64_t>(index_) << 48) | ++connections_; }

 private:
  int index_;
  net::asio::any_io_executor executor_;
  const ProxyConfig& config_;
  discovery::DiscoverySource& discovery_;
  ProxyMetrics& metrics_;
  HttpMetricsCache metrics_cache_;
  http::h1::ServerCounters h1_counters_;
  http::h1::ShutdownSignal shutdown_;
  balance::FastRandom random_;
  std::map<net::SocketAddress, std::unique_ptr<http::h1::Pool>> pools_;
  endpoint::H2Clients h2_clients_;
  http::h2::H2Counters h2_server_counters_;
  http::h2::H2Settings h2_settings_;
  std::unordered_map<std::string, BalancerEntry> balancers_;
  uint64_t connections_ = 0;
  size_t waiting_for_endpoint_ = 0;
  const MeshTls* mesh_tls_ = nullptr;
};

}  // namespace trellis::proxy
