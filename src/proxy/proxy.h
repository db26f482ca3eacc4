#pragma once
// The proxy process: listeners (inbound, outbound, admin), worker threads with one io_context
// each and SO_REUSEPORT acceptors, the discovery source, the metrics registry, and graceful
// shutdown (stop accepting; HTTP/1 connections finish their response with Connection: close;
// everything ends within the grace period).

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "metrics/registry.h"
#include "net/asio.h"
#include "proxy/admin/admin.h"
#include "proxy/config.h"
#include "proxy/discovery/snapshot.h"
#include "proxy/metrics.h"
#include "tls/context.h"

namespace trellis::proxy {

class Worker;
struct MeshTls;
namespace identity {
class IdentityState;
class FileCredentials;
class IdentityClient;
}  // namespace identity
namespace control {
class GrpcChannel;
}  // namespace control

class Proxy {
 public:
  // `discovery` may be null when config.control_addr is set: discovery then comes from the
  // control plane (discovery::ControlSource).
  Proxy(ProxyConfig config, std::unique_ptr<discovery::DiscoverySource> discovery);
  ~Proxy();

  // Loads the mesh identity (throws std::runtime_error naming the file on failure), binds every
  // listener (throws std::system_error with the address on failure) and starts the worker and
  // admin threads. After start() the bound addresses are known (port 0 resolved).
  void start();
  // Graceful shutdown; returns when every thread has finished (at most the grace period).
  void shutdown();
  // Blocks until SIGTERM/SIGINT or an admin /shutdown, then shuts down gracefully.
  void run_until_signal();

  net::SocketAddress inbound_address() const { return inbound_bound_; }
  net::SocketAddress outbound_address() const { return outbound_bound_; }
  net::SocketAddress admin_address() const { return admin_bound_; }
  metrics::Registry& registry() { return registry_; }
  std::string config_dump() const;

 private:
  void request_shutdown();
  void start_control_clients();

  ProxyConfig config_;
  std::unique_ptr<discovery::DiscoverySource> discovery_;
  metrics::Registry registry_;
  ProxyMetrics metrics_;
  std::unique_ptr<MeshTls> mesh_tls_;  // null without an identity; outlives the workers
  std::unique_ptr<identity::IdentityState> identity_state_;
  std::unique_ptr<identity::FileCredentials> file_credentials_;
  std::vector<std::unique_ptr<Worker>> workers_;
  net::asio::io_context admin_io_;
  std::unique_ptr<admin::AdminService> admin_service_;
  std::unique_ptr<net::tcp::acceptor> admin_acceptor_;
  std::thread admin_thread_;
  net::SocketAddress inbound_bound_, outbound_bound_, admin_bound_;
  // The control-plane clients: one thread, one connection (identity and discovery).
  std::unique_ptr<tls::ClientContext> control_tls_;  // when the proxy has no MeshTls
  std::unique_ptr<control::GrpcChannel> control_channel_;
  std::unique_ptr<identity::IdentityClient> identity_client_;
  std::unique_ptr<net::asio::io_context> control_io_;
  std::thread control_thread_;
  std::atomic<bool> shutdown_requested_{false};
  std::atomic<bool> stopped_{false};
};

}  // namespace trellis::proxy
