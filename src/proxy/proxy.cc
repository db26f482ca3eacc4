#include "proxy/proxy.h"

#include <nlohmann/json.hpp>


#include "base/log.h"
#include "http/h1conn/server_connection.h"
#include "metrics/process_collector.h"
#include "net/socket_options.h"
#include "proxy/admin/config_dump.h"
#include "proxy/discovery/static_file.h"
#include "proxy/control/grpc_channel.h"
#include "proxy/discovery/control_source.h"
#include "proxy/identity/identity_client.h"
#include "proxy/identity/mesh_credentials.h"
#include "proxy/identity/state.h"
#include "proxy/inbound/inbound_service.h"
#include "proxy/outbound/outbound_service.h"
#include "proxy/pipeline.h"
#include "proxy/worker_context.h"

namespace trellis::proxy {
namespace {

// Binds `address`; for port 0 the first bind picks the port and later workers reuse it.
net::tcp::acceptor bind_listener(net::asio::io_context& io, net::SocketAddress& address,
                                 const char* what) {
  try {
    auto acceptor = net::make_reuseport_listener(io, address);
    address = net::SocketAddress::from_endpoint(acceptor.local_endpoint());
    return acceptor;
  } catch (const boost::system::system_error& e) {
    throw std::system_error(e.code(), std::string("cannot listen on ") + what + " address " +
                                          address.to_string());
  }
}

}  // namespace

class Worker {
 public:
  Worker(int index, const ProxyConfig& config, discovery::DiscoverySource& discovery,
         ProxyMetrics& metrics)
      : context_(index, io_.get_executor(), config, discovery, metrics),
        inbound_(context_),
        outbound_(context_) {}

  net::asio::io_context& io() { return io_; }
  WorkerContext& context() { return context_; }

  void listen(Direction direction, net::tcp::acceptor acceptor) {
    acceptors_.push_back(std::make_unique<net::tcp::acceptor>(std::move(acceptor)));
    net::asio::co_spawn(io_, accept_loop(direction, *acceptors_.back()), net::asio::detached);
  }

  void start() {
    // Metric handles cached per worker are dropped every minute so idle series can expire.
    net::asio::co_spawn(io_, housekeeping(), net::asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }

  // Stops accepting, asks HTTP/1 connections to finish, and stops the worker once no connection
  // is left or the grace period is over.
  void begin_shutdown(std::chrono::milliseconds grace) {
    net::asio::post(io_, [this, grace] {
      stopping_ = true;
      for (auto& a : acceptors_) {
        net::error_code ec;
        a->close(ec);
      }
      context_.shutdown_signal().trigger();
      net::asio::co_spawn(io_, drain(grace), net::asio::detached);
    });
  }

  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  net::awaitable<void> accept_loop(Direction direction, net::tcp::acceptor& acceptor) {
    http::Service& service = direction == Direction::kInbound
                                 ? static_cast<http::Service&>(inbound_)
                                 : static_cast<http::Service&>(outbound_);
    while (!stopping_) {
      auto [ec, socket] = co_await acceptor.async_accept(net::use_nothrow);
      if (ec) {
        if (stopping_ || ec == net::asio::error::operation_aborted) co_return;
        TRELLIS_LOG_WARN("accept on {} failed: {}", to_string(direction), ec.message());
        continue;  // e.g. EMFILE: keep serving existing connections
      }
      ++active_;
      net::asio::co_spawn(
          io_, serve_connection(context_, direction, service, std::move(socket)),
          [this](std::exception_ptr e) {
            --active_;
            if (e) {
              try {
                std::rethrow_exception(e);
              } catch (const std::exception& ex) {
                TRELLIS_LOG_ERROR("connection ended with an internal error: {}", ex.what());
              }
            }
          });
    }
  }

  net::awaitable<void> housekeeping() {
    net::asio::steady_timer timer(io_);
    while (!stopping_) {
      timer.expires_after(std::chrono::minutes(1));
      co_await timer.async_wait(net::use_nothrow);
      context_.metrics_cache().clear();
    }
  }

  net::awaitable<void> drain(std::chrono::milliseconds grace) {
    net::asio::steady_timer timer(io_);
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (active_ > 0 && std::chrono::steady_clock::now() < deadline) {
      timer.expires_after(std::chrono::milliseconds(10));
      co_await timer.async_wait(net::use_nothrow);
    }
    if (active_ > 0) {
      TRELLIS_LOG_WARN("grace period over with {} connections open; closing them", active_);
    }
    io_.stop();
  }

  net::asio::io_context io_;
  WorkerContext context_;
  inbound::InboundService inbound_;
  outbound::OutboundService outbound_;
  std::vector<std::unique_ptr<net::tcp::acceptor>> acceptors_;
  std::thread thread_;
  size_t active_ = 0;
  bool stopping_ = false;
};

Proxy::Proxy(ProxyConfig config, std::unique_ptr<discovery::DiscoverySource> discovery)
    : config_(std::move(config)),
      discovery_(std::move(discovery)),
      metrics_(make_proxy_metrics(registry_)) {
  registry_.add_collector(std::make_unique<metrics::ProcessCollector>());
  metrics_.proxy_build_info.get({"0.1.0", "trellis"})->set(1);
}

Proxy::~Proxy() { shutdown(); }

void Proxy::start() {
  // The mesh identity comes first: workers get its contexts before they accept anything.
  auto mesh = identity::make_mesh_tls(config_);
  if (!mesh) throw std::runtime_error(mesh.error());
  mesh_tls_ = std::move(mesh).value();
  const bool static_identity = mesh_tls_ && !config_.identity_cert_file.empty();
  if (mesh_tls_) {
    identity_state_ = std::make_unique<identity::IdentityState>(registry_);
    if (static_identity) {
      auto credentials = identity::load_credentials(config_.identity_cert_file,
                                                    config_.identity_key_file);
      if (credentials) identity_state_->publish(*credentials);
      file_credentials_ = std::make_unique<identity::FileCredentials>(config_, *mesh_tls_,
                                                                      identity_state_.get());
      file_credentials_->start(admin_io_.get_executor());
    }
    TRELLIS_LOG_INFO("mesh identity {}", mesh_tls_->identity.str());
  }
  if (!config_.control_addr.empty()) start_control_clients();
  if (!discovery_) throw std::runtime_error("no discovery source: set discovery-file or control-addr");

  const int workers = effective_workers(config_.workers);
  inbound_bound_ = config_.inbound_listen;
  outbound_bound_ = config_.outbound_listen;
  for (int i = 0; i < workers; ++i) {
    workers_.push_back(std::make_unique<Worker>(i, config_, *discovery_, metrics_));
    Worker& w = *workers_.back();
    w.context().set_mesh_tls(mesh_tls_.get());
    w.listen(Direction::kInbound, bind_listener(w.io(), inbound_bound_, "inbound"));
    w.listen(Direction::kOutbound, bind_listener(w.io(), outbound_bound_, "outbound"));
  }
  admin_bound_ = config_.admin_listen;
  admin_acceptor_ = std::make_unique<net::tcp::acceptor>(bind_listener(admin_io_, admin_bound_, "admin"));
  admin_service_ = std::make_unique<admin::AdminService>(
      registry_, admin::AdminOptions{config_.admin_shutdown_enabled},
      [this] { return config_dump(); }, [this] { request_shutdown(); });
  admin_service_->set_identity_source([this]() -> std::optional<std::string> {
    if (!identity_state_) return std::nullopt;
    return identity_state_->chain_pem();
  });

  if (auto* file = dynamic_cast<discovery::StaticFileSource*>(discovery_.get())) {
    file->start_polling(admin_io_);
  }
  net::asio::co_spawn(admin_io_, [this]() -> net::awaitable<void> {
    while (true) {
      auto [ec, socket] = co_await admin_acceptor_->async_accept(net::use_nothrow);
      if (ec) co_return;
      net::asio::co_spawn(admin_io_, [this, s = std::move(socket)]() mutable -> net::awaitable<void> {
        auto info = std::make_shared<http::ConnectionInfo>();
        net::error_code e;
        info->peer = net::SocketAddress::from_endpoint(s.remote_endpoint(e));
        info->local = net::SocketAddress::from_endpoint(s.local_endpoint(e));
        http::h1::ServerOptions options;
        co_await http::h1::serve_h1(s, std::string(), *admin_service_, options, info);
      }, net::asio::detached);
    }
  }, net::asio::detached);

  for (auto& w : workers_) w->start();
  admin_thread_ = std::thread([this] { admin_io_.run(); });
  // Without an identity service the proxy is ready as soon as listeners accept; with one, only
  // once the first certificate is installed (contract C-6).
  if (!mesh_tls_ || static_identity) {
    admin_service_->set_ready(true);
  } else {
    identity_state_->on_certificate([this] {
      if (!stopped_.load()) admin_service_->set_ready(true);
    });
  }
  if (control_io_) {
    if (identity_client_) {
      net::asio::co_spawn(*control_io_, identity_client_->run(), net::asio::detached);
    }
    if (auto* source = dynamic_cast<discovery::ControlSource*>(discovery_.get())) source->start();
    control_thread_ = std::thread([this] { control_io_->run(); });
  }
  TRELLIS_LOG_INFO("proxy ready: inbound {}, outbound {}, admin {}, {} workers",
                   inbound_bound_.to_string(), outbound_bound_.to_string(),
                   admin_bound_.to_string(), workers);
}

void Proxy::start_control_clients() {
  control_io_ = std::make_unique<net::asio::io_context>();
  const tls::ClientContext* client = mesh_tls_ ? mesh_tls_->client.get() : nullptr;
  if (!client) {
    // Discovery without an identity of our own: verify the control plane, present nothing.
    if (config_.trust_anchors_file.empty()) {
      throw std::runtime_error("control-addr needs trust-anchors-file to verify the control plane");
    }
    auto anchors = identity::load_trust_anchors(config_.trust_anchors_file);
    if (!anchors) throw std::runtime_error(anchors.error());
    auto ctx = tls::ClientContext::create({}, nullptr, *anchors);
    if (!ctx) throw std::runtime_error("control plane TLS context: " + ctx.error().detail);
    control_tls_ = std::move(ctx).value();
    client = control_tls_.get();
  }
  auto server_identity = tls::Identity::parse(config_.control_identity);
  if (!server_identity) throw std::runtime_error("control-identity: " + server_identity.error().detail);
  control::ChannelOptions options{config_.control_addr, *server_identity};
  control_channel_ = std::make_unique<control::GrpcChannel>(control_io_->get_executor(),
                                                            std::move(options), *client);
  if (mesh_tls_ && config_.identity_cert_file.empty()) {
    auto anchors = identity::load_trust_anchors(config_.trust_anchors_file);
    if (!anchors) throw std::runtime_error(anchors.error());
    identity::IdentityClientOptions identity_options;
    identity_options.token_file = config_.identity_token_file;
    identity_options.anchors_file = config_.trust_anchors_file;
    identity_client_ = std::make_unique<identity::IdentityClient>(
        *control_channel_, *mesh_tls_, std::move(anchors).value(), *identity_state_,
        std::move(identity_options));
  }
  if (!discovery_) {
    discovery::ControlSourceOptions source_options;
    source_options.context_namespace = config_.ns;
    source_options.unused_timeout = config_.discovery_unused_timeout;
    discovery_ = std::make_unique<discovery::ControlSource>(
        control_io_->get_executor(), *control_channel_, std::move(source_options));
  }
}

void Proxy::request_shutdown() {
  shutdown_requested_.store(true);
  shutdown_requested_.notify_all();
}

void Proxy::shutdown() {
  if (stopped_.exchange(true)) return;
  if (admin_service_) admin_service_->set_ready(false);
  for (auto& w : workers_) w->begin_shutdown(config_.shutdown_grace_period);
  for (auto& w : workers_) w->join();
  admin_io_.stop();
  if (admin_thread_.joinable()) admin_thread_.join();
  if (control_io_) {
    net::asio::post(*control_io_, [this] {
      if (identity_client_) identity_client_->stop();
      if (auto* source = dynamic_cast<discovery::ControlSource*>(discovery_.get())) source->stop();
      if (control_channel_) control_channel_->close();
    });
    // Give the streams a moment to send their RST_STREAM/GOAWAY, then stop.
    net::asio::steady_timer timer(*control_io_);
    timer.expires_after(std::chrono::milliseconds(50));
    timer.async_wait([this](const net::error_code&) { control_io_->stop(); });
    if (control_thread_.joinable()) {
      control_thread_.join();
    } else {
      control_io_->run_for(std::chrono::milliseconds(100));
    }
    // Coroutine frames still suspended on the control thread go now, while the channel and the
    // discovery source they point to still exist.
    control_io_.reset();
  }
  TRELLIS_LOG_INFO("proxy stopped");
}

void Proxy::run_until_signal() {
  net::asio::signal_set signals(admin_io_, SIGTERM, SIGINT);
  signals.async_wait([this](const net::error_code& ec, int sig) {
    if (!ec) {
      TRELLIS_LOG_INFO("received signal {}; shutting down gracefully", sig);
      request_shutdown();
    }
  });
  shutdown_requested_.wait(false);
  shutdown();
}

std::string Proxy::config_dump() const {
  nlohmann::json j;
  auto snapshot = discovery_->current();
  j["version"] = snapshot->version();
  j["services"] = nlohmann::json::array();
  for (const auto& svc : snapshot->services()) {
    nlohmann::json s;
    s["name"] = svc.name;
    s["namespace"] = svc.ns;
    s["fqdn"] = svc.fqdn();
    s["clusterIPs"] = nlohmann::json::array();
    for (const auto& ip : svc.cluster_ips) s["clusterIPs"].push_back(ip.to_string());
    s["ports"] = nlohmann::json::array();
    for (const auto& [number, port] : svc.ports) {
      nlohmann::json p;
      p["port"] = number;
      p["name"] = port.name;
      p["opaque"] = port.opaque;
      p["endpoints"] = nlohmann::json::array();
      for (const auto& ep : port.endpoints) {
        p["endpoints"].push_back({{"address", ep.address.to_string()},
                                  {"weight", ep.weight},
                                  {"identity", ep.identity},
                                  {"protocolHint", discovery::to_string(ep.protocol_hint)},
                                  {"labels", ep.labels}});
      }
      s["ports"].push_back(std::move(p));
    }
    j["services"].push_back(std::move(s));
  }
  admin::add_traffic_policies(j, *snapshot);  // contract C-9
  j["config"] = {{"inboundListenAddr", inbound_bound_.to_string()},
                 {"outboundListenAddr", outbound_bound_.to_string()},
                 {"adminListenAddr", admin_bound_.to_string()},
                 {"mode", config_.mode == OutboundMode::kIngress ? "ingress" : "transparent"},
                 {"detectTimeoutMs", config_.detect_timeout.count()},
                 {"opaquePorts", config_.opaque_ports}};
  if (identity_state_) {
    nlohmann::json id;
    id["name"] = mesh_tls_->identity.str();
    if (auto not_after = identity_state_->not_after()) {
      const std::time_t t = std::chrono::system_clock::to_time_t(*not_after);
      std::tm tm{};
      gmtime_r(&t, &tm);
      char buf[32];
      std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
      id["notAfter"] = buf;
    } else {
      id["notAfter"] = nullptr;
    }
    id["refreshes"] = identity_state_->refreshes();
    j["identity"] = std::move(id);
  }
  return j.dump(2);
}

}  // namespace trellis::proxy
