#pragma once
// ControlPlane: trellis-control assembled — store, CA, own certificate, token writer, gRPC
// services behind the TLS front, admin HTTP. apps/trellis-control parses flags into
// ControlPlaneOptions and runs one; tests run one in-process.
//
// Threads: the store's source thread (reloads, watches), gRPC's own threads (callback streams,
// Certify), one io thread (TLS front + admin HTTP), the token writer, the certificate renewer.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "base/result.h"
#include "control/destination/resolver.h"
#include "control/destination/service.h"
#include "control/identity/ca_dir.h"
#include "control/identity/certify.h"
#include "control/identity/token_writer.h"
#include "control/metrics.h"
#include "control/policy/service.h"
#include "control/server/admin.h"
#include "control/server/peers.h"
#include "control/server/tls_front.h"
#include "control/store/store.h"
#include "metrics/registry.h"
#include "net/asio.h"
#include "net/socket_address.h"
#include "tls/context.h"

namespace trellis::control::server {

struct ControlPlaneOptions {
  std::string store_dir;
  std::string ca_dir;
  std::string listen = "127.0.0.1:8086";
  std::string admin_listen = "127.0.0.1:9996";
  std::string token_dir;       // empty: no tokens written
  std::string token_key_file;  // empty: a random key kept in memory (tokens die with the process)
  std::chrono::seconds token_ttl = std::chrono::hours(24);
  std::chrono::seconds cert_ttl = std::chrono::hours(24);
  tls::IdentityDomain domain;
  std::string cluster_domain = "cluster.local";
  std::string default_inbound_policy = "all-unauthenticated";
  std::string version = "0.1.0";
  // How often the CA directory is checked for a new issuer or anchors (applied without a
  // restart: the next Certify signs with the new issuer, our own certificate is reissued).
  std::chrono::milliseconds ca_poll_interval{1000};
};

class ControlPlane {
 public:
  // Loads everything and starts serving; errors are start-up problems, described for humans.
  static base::Result<std::unique_ptr<ControlPlane>, std::string> start(ControlPlaneOptions options);
  ~ControlPlane();

  const net::SocketAddress& grpc_address() const { return grpc_address_; }
  const net::SocketAddress& admin_address() const { return admin_address_; }
  const std::string& token_key() const { return token_key_; }
  std::shared_ptr<const identity::CaMaterial> ca() const { return ca_->current(); }
  const tls::Identity& identity() const { return *identity_; }
  store::Store& store() { return *store_; }

  // Stops serving (idempotent); streams are cancelled.
  void shutdown();

 private:
  explicit ControlPlane(ControlPlaneOptions options);
  base::Result<base::Ok, std::string> init();
  base::Result<tls::Credentials, std::string> issue_own_certificate();
  void renew_loop();
  // Polls the CA directory; true when new material was installed.
  bool reload_ca();

  ControlPlaneOptions options_;
  metrics::Registry registry_;
  std::unique_ptr<ControlMetrics> metrics_;
  std::unique_ptr<identity::CaStore> ca_;
  std::unique_ptr<identity::CaDirWatch> ca_watch_;
  std::optional<tls::Identity> identity_;
  std::unique_ptr<tls::ServerContext> tls_context_;
  std::string token_key_;

  std::unique_ptr<store::Store> store_;
  std::unique_ptr<store::Store::Watch> store_metrics_watch_;
  std::unique_ptr<identity::TokenWriter> token_writer_;
  std::unique_ptr<destination::Resolver> resolver_;
  identity::ProxyRegistry proxies_;
  PeerIdentities peers_;

  std::unique_ptr<identity::IdentityService> identity_service_;
  std::unique_ptr<destination::DestinationService> destination_service_;
  std::unique_ptr<policy::InboundService> inbound_service_;
  std::unique_ptr<policy::OutboundService> outbound_service_;
  std::unique_ptr<grpc::Server> grpc_server_;

  net::asio::io_context io_;
  std::unique_ptr<TlsFront> front_;
  std::unique_ptr<net::tcp::acceptor> admin_acceptor_;
  std::unique_ptr<AdminService> admin_;
  std::thread io_thread_;
  net::SocketAddress grpc_address_;
  net::SocketAddress admin_address_;

  std::mutex renew_mu_;
  std::condition_variable renew_cv_;
  bool stopping_ = false;
  std::chrono::system_clock::time_point own_not_before_;
  std::chrono::system_clock::time_point own_not_after_;
  std::thread renew_thread_;
  bool stopped_ = false;
};

}  // namespace trellis::control::server
