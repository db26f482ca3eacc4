#include "control/server/control_plane.h"

#include <filesystem>

#include <openssl/rand.h>

#include "base/log.h"
#include "control/identity/token.h"
#include "control/store/directory_source.h"
#include "http/h1conn/server_connection.h"
#include "metrics/process_collector.h"
#include "tls/ca.h"
#include "tls/x509.h"

namespace trellis::control::server {
namespace {

namespace asio = net::asio;

std::string describe(const tls::Error& e) {
  return std::string(tls::to_string(e.code)) + (e.detail.empty() ? "" : ": " + e.detail);
}

// Renewal at 70% of the lifetime (DESIGN.md §5), never sooner than 1 s from now.
std::chrono::system_clock::time_point renewal_time(std::chrono::system_clock::time_point nb,
                                                   std::chrono::system_clock::time_point na) {
  const auto at = nb + (na - nb) * 7 / 10;
  return std::max(at, std::chrono::system_clock::now() + std::chrono::seconds(1));
}

}  // namespace

ControlPlane::ControlPlane(ControlPlaneOptions options) : options_(std::move(options)) {}

ControlPlane::~ControlPlane() { shutdown(); }

base::Result<std::unique_ptr<ControlPlane>, std::string> ControlPlane::start(
    ControlPlaneOptions options) {
  std::unique_ptr<ControlPlane> cp(new ControlPlane(std::move(options)));
  if (auto ok = cp->init(); !ok) {
    cp->shutdown();
    return base::unexpected(ok.error());
  }
  return cp;
}

base::Result<tls::Credentials, std::string> ControlPlane::issue_own_certificate() {
  auto key = tls::generate_p256_key();
  if (!key) return base::unexpected("generating a key: " + describe(key.error()));
  auto csr = tls::create_csr(*identity_, key->get());
  if (!csr) return base::unexpected("creating a CSR: " + describe(csr.error()));
  tls::LeafOptions leaf_options;
  leaf_options.lifetime = options_.cert_ttl;
  const auto ca = ca_->current();
  auto leaf = tls::sign_leaf(ca->issuer, csr->get(), *identity_, leaf_options);
  if (!leaf) return base::unexpected("signing the control plane's certificate: " +
                                     describe(leaf.error()));
  own_not_before_ = tls::not_before(leaf->get());
  own_not_after_ = tls::not_after(leaf->get());
  std::vector<tls::X509Ptr> chain;
  chain.push_back(tls::share(ca->issuer.ca.cert.get()));
  for (const auto& c : ca->issuer.chain) chain.push_back(tls::share(c.get()));
  auto creds = tls::Credentials::create(std::move(*leaf), std::move(*key), std::move(chain));
  if (!creds) return base::unexpected("control plane credentials: " + describe(creds.error()));
  return std::move(*creds);
}

base::Result<base::Ok, std::string> ControlPlane::init() {
  if (auto ok = options_.domain.validate(); !ok) {
    return base::unexpected("invalid identity domain: " + describe(ok.error()));
  }
  metrics_ = std::make_unique<ControlMetrics>(ControlMetrics::create(registry_));
  registry_.add_collector(std::make_unique<metrics::ProcessCollector>());

  // CA and our own certificate.
  ca_watch_ = std::make_unique<identity::CaDirWatch>(options_.ca_dir);
  auto ca = identity::load_ca_dir(options_.ca_dir);
  if (!ca) return base::unexpected(ca.error());
  ca_ = std::make_unique<identity::CaStore>(*ca);
  auto id = tls::service_account_identity("trellis-control", options_.domain.control_namespace,
                                          options_.domain);
  if (!id) return base::unexpected("control identity: " + describe(id.error()));
  identity_ = *id;
  auto creds = issue_own_certificate();
  if (!creds) return base::unexpected(creds.error());
  tls::ServerOptions server_options;
  server_options.alpn = {std::string(tls::kAlpnH2)};
  server_options.require_client_certificate = false;  // requested per connection (TlsFront)
  server_options.require_sni_match = false;           // clients may connect by address
  auto ctx = tls::ServerContext::create(server_options, *creds, ca_->current()->anchors);
  if (!ctx) return base::unexpected("TLS context: " + describe(ctx.error()));
  tls_context_ = std::move(*ctx);

  // Token key.
  if (!options_.token_key_file.empty()) {
    auto key = identity::load_or_create_token_key(options_.token_key_file);
    if (!key) return base::unexpected(key.error());
    token_key_ = std::move(*key);
  } else {
    token_key_.assign(identity::kTokenKeyBytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(token_key_.data()),
                   static_cast<int>(token_key_.size())) != 1) {
      return base::unexpected(std::string("RAND_bytes failed"));
    }
    TRELLIS_LOG_WARN("no --token-key-file: service-account tokens are signed with a key that "
                     "lives only as long as this process");
  }

  // Store.
  std::error_code ec;
  if (!std::filesystem::is_directory(options_.store_dir, ec)) {
    return base::unexpected(options_.store_dir + ": not a directory");
  }
  store_ = std::make_unique<store::Store>(
      std::make_unique<store::DirectorySource>(options_.store_dir));
  store_metrics_watch_ = store_->watch([this](const store::Change& c) {
    metrics_->store_resources.get({})->set(static_cast<int64_t>(c.snapshot->objects.size()));
    metrics_->store_errors.get({})->set(static_cast<int64_t>(c.snapshot->error_count()));
    metrics_->store_updates_total.get({})->inc();
  });
  store_->start();

  if (!options_.token_dir.empty()) {
    token_writer_ = std::make_unique<identity::TokenWriter>(*store_, token_key_,
                                                            options_.token_dir, options_.token_ttl);
    token_writer_->start();
  }

  // gRPC services.
  destination::ResolverOptions resolver_options;
  resolver_options.cluster_domain = options_.cluster_domain;
  resolver_options.identity_domain = options_.domain;
  resolver_ = std::make_unique<destination::Resolver>(resolver_options);
  auto peer_identity = [this](std::string_view peer) { return peers_.identity(peer); };
  identity::CertifyOptions certify_options;
  certify_options.cert_ttl = options_.cert_ttl;
  certify_options.domain = options_.domain;
  identity_service_ = std::make_unique<identity::IdentityService>(token_key_, *ca_, certify_options,
                                                                  *metrics_, proxies_);
  destination_service_ = std::make_unique<destination::DestinationService>(
      *store_, *resolver_, peer_identity, *metrics_);
  policy::PolicyOptions policy_options;
  policy_options.default_inbound_policy = options_.default_inbound_policy;
  inbound_service_ = std::make_unique<policy::InboundService>(*store_, policy_options,
                                                              peer_identity, *metrics_);
  outbound_service_ = std::make_unique<policy::OutboundService>(*store_, *resolver_,
                                                                peer_identity, *metrics_);
  grpc::ServerBuilder builder;
  builder.RegisterService(identity_service_.get());
  builder.RegisterService(destination_service_.get());
  builder.RegisterService(inbound_service_.get());
  builder.RegisterService(outbound_service_.get());
  builder.SetMaxReceiveMessageSize(1024 * 1024);
  // The internal plaintext listener, reached only through the TLS front (loopback, port
  // chosen by the kernel); see peers.h.
  int backend_port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &backend_port);
  grpc_server_ = builder.BuildAndStart();
  if (!grpc_server_ || backend_port == 0) {
    return base::unexpected(std::string("cannot start the gRPC server"));
  }
  const net::SocketAddress backend{*base::IpAddress::parse("127.0.0.1"),
                                   static_cast<uint16_t>(backend_port)};

  // Listeners.
  auto grpc_addr = net::SocketAddress::parse(options_.listen);
  if (!grpc_addr) return base::unexpected("--listen: " + grpc_addr.error());
  auto admin_addr = net::SocketAddress::parse(options_.admin_listen);
  if (!admin_addr) return base::unexpected("--admin-listen: " + admin_addr.error());
  front_ = std::make_unique<TlsFront>(io_, *tls_context_, backend, peers_, *metrics_);
  try {
    grpc_address_ = front_->listen(*grpc_addr);
  } catch (const std::exception& e) {
    return base::unexpected("cannot listen on " + options_.listen + ": " + e.what());
  }

  AdminContext admin_context;
  admin_context.version = options_.version;
  admin_context.domain = options_.domain;
  admin_context.store = store_.get();
  admin_context.ca = ca_.get();
  admin_context.proxies = &proxies_;
  admin_context.resolver = resolver_.get();
  admin_context.registry = &registry_;
  admin_ = std::make_unique<AdminService>(std::move(admin_context));
  try {
    admin_acceptor_ = std::make_unique<net::tcp::acceptor>(io_);
    const auto ep = admin_addr->endpoint();
    admin_acceptor_->open(ep.protocol());
    admin_acceptor_->set_option(net::tcp::acceptor::reuse_address(true));
    admin_acceptor_->bind(ep);
    admin_acceptor_->listen();
    admin_address_ = net::SocketAddress::from_endpoint(admin_acceptor_->local_endpoint());
  } catch (const std::exception& e) {
    return base::unexpected("cannot listen on " + options_.admin_listen + ": " + e.what());
  }
  asio::co_spawn(io_, [this]() -> net::awaitable<void> {
    while (true) {
      auto [ec, socket] = co_await admin_acceptor_->async_accept(net::use_nothrow);
      if (ec) {
        if (!admin_acceptor_->is_open()) co_return;
        continue;
      }
      asio::co_spawn(io_, [this, s = std::move(socket)]() mutable -> net::awaitable<void> {
        auto info = std::make_shared<http::ConnectionInfo>();
        net::error_code e;
        info->peer = net::SocketAddress::from_endpoint(s.remote_endpoint(e));
        info->local = net::SocketAddress::from_endpoint(s.local_endpoint(e));
        http::h1::ServerOptions server_options;
        co_await http::h1::serve_h1(s, std::string(), *admin_, server_options, info);
      }, asio::detached);
    }
  }, asio::detached);
  io_thread_ = std::thread([this] { io_.run(); });
  renew_thread_ = std::thread([this] { renew_loop(); });

  admin_->set_ready(store_->snapshot()->loaded && ca_ != nullptr);
  return base::Ok{};
}

bool ControlPlane::reload_ca() {
  auto reloaded = ca_watch_->poll();
  if (!reloaded.error.empty()) {
    TRELLIS_LOG_ERROR("CA directory not reloaded, the current issuer stays in force: {}",
                      reloaded.error);
  }
  if (!reloaded.material) return false;
  ca_->set(reloaded.material);
  TRELLIS_LOG_INFO("reloaded the CA directory {}: {} trust anchor(s), issuer valid until {}",
                   options_.ca_dir, reloaded.material->anchors.certificates().size(),
                   rfc3339(tls::not_after(reloaded.material->issuer.ca.cert.get())));
  return true;
}

void ControlPlane::renew_loop() {
  std::unique_lock lock(renew_mu_);
  while (!stopping_) {
    const auto due = renewal_time(own_not_before_, own_not_after_);
    const auto poll_at = std::chrono::system_clock::now() + options_.ca_poll_interval;
    renew_cv_.wait_until(lock, std::min(due, poll_at), [this] { return stopping_; });
    if (stopping_) break;
    // A new issuer also means a new certificate of our own, so clients that only trust the
    // new anchors can verify us.
    const bool new_ca = reload_ca();
    if (!new_ca && std::chrono::system_clock::now() < due) continue;
    auto creds = issue_own_certificate();
    if (!creds) {
      TRELLIS_LOG_ERROR("renewing the control plane's certificate: {}", creds.error());
      own_not_before_ = std::chrono::system_clock::now();  // retry in a while
      own_not_after_ = own_not_before_ + std::chrono::seconds(10);
      continue;
    }
    if (auto ok = tls_context_->update(*creds, ca_->current()->anchors); !ok) {
      TRELLIS_LOG_ERROR("installing the control plane's new certificate: {}", describe(ok.error()));
      continue;
    }
    TRELLIS_LOG_INFO("renewed the control plane's certificate (valid until {})",
                     rfc3339(own_not_after_));
  }
}

void ControlPlane::shutdown() {
  if (stopped_) return;
  stopped_ = true;
  if (admin_) admin_->set_ready(false);
  {
    std::lock_guard lock(renew_mu_);
    stopping_ = true;
  }
  renew_cv_.notify_all();
  if (renew_thread_.joinable()) renew_thread_.join();
  if (front_) front_->close();
  if (admin_acceptor_) {
    asio::post(io_, [this] {
      net::error_code ec;
      admin_acceptor_->close(ec);
    });
  }
  if (grpc_server_) {
    grpc_server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  }

  io_.stop();
  if (io_thread_.joinable()) io_thread_.join();
  if (token_writer_) token_writer_->stop();
  store_metrics_watch_.reset();
  if (store_) store_->stop();
}

}  // namespace trellis::control::server
