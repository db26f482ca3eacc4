#include "proxy/proxy.h"

#include <nlohmann/json.hpp>


#include "base/log.h"
#include "http/h1conn/server_connection.h"
#include "metrics/process_collector.h"
#include "net/socket_options.h"
#include "proxy/discovery/static_file.h"
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
  const int workers = effective_workers(config_.workers);
  inbound_bound_ = config_.inbound_listen;
  outbound_bound_ = config_.outbound_listen;
  for (int i = 0; i < workers; ++i) {
    workers_.push_back(std::make_unique<Worker>(i, config_, *discovery_, metrics_));
    Worker& w = *workers_.back();
    w.listen(Direction::kInbound, bind_listener(w.io(), inbound_bound_, "inbound"));
    w.listen(Direction::kOutbound, bind_listener(w.io(), outbound_bound_, "outbound"));
  }
  admin_bound_ = config_.admin_listen;
  admin_acceptor_ = std::make_unique<net::tcp::acceptor>(bind_listener(admin_io_, admin_bound_, "admin"));
  admin_service_ = std::make_unique<admin::AdminService>(
      registry_, admin::AdminOptions{config_.admin_shutdown_enabled},
      [this] { return config_dump(); }, [this] { request_shutdown(); });

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
  // No identity yet: ready as soon as listeners accept (the identity issue moves this latch).
  admin_service_->set_ready(true);
  TRELLIS_LOG_INFO("proxy ready: inbound {}, outbound {}, admin {}, {} workers",
                   inbound_bound_.to_string(), outbound_bound_.to_string(),
                   admin_bound_.to_string(), workers);
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
  j["config"] = {{"inboundListenAddr", inbound_bound_.to_string()},
                 {"outboundListenAddr", outbound_bound_.to_string()},
                 {"adminListenAddr", admin_bound_.to_string()},
                 {"mode", config_.mode == OutboundMode::kIngress ? "ingress" : "transparent"},
                 {"detectTimeoutMs", config_.detect_timeout.count()},
                 {"opaquePorts", config_.opaque_ports}};
  return j.dump(2);
}

}  // namespace trellis::proxy
