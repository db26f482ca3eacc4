#include "demoapp/server.h"

#include <csignal>
#include <cstdlib>
#include <random>
#include <thread>

#include "base/log.h"
#include "http/h2/transport.h"
#include "net/socket_options.h"
#include "proxy/detect/read.h"

// GCC 12 at -O2 flags Asio's awaitable frame operator delete as "mismatched" once it inlines
// the frame allocation (a known false positive with coroutines, as in http/h1conn).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace trellis::demoapp {
namespace {

using namespace net::asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;

constexpr auto kDetectTimeout = std::chrono::seconds(10);
constexpr auto kEchoIdleTimeout = std::chrono::minutes(5);

net::tcp::acceptor open_listener(net::asio::io_context& io, const std::string& bind,
                                 uint16_t port) {
  const auto address = net::asio::ip::make_address(bind);
  return net::make_reuseport_listener(
      io, net::SocketAddress::from_endpoint(net::tcp::endpoint(address, port)));
}

}  // namespace

Worker::Worker(const ServeOptions& options, std::string name, unsigned index, uint64_t seed)
    : options_(options), index_(index), io_(std::make_unique<net::asio::io_context>(1)) {
  if (!options.upstreams.empty()) {
    upstreams_ = std::make_unique<Upstreams>(io_->get_executor(), options, name);
  }
  service_ = std::make_unique<DemoService>(io_->get_executor(), options, std::move(name), seed,
                                           upstreams_.get());
}

Worker::~Worker() {
  // Destroy what holds io_context handles before the io_context itself.
  service_.reset();
  upstreams_.reset();
  pending_acceptors_.clear();
}

void Worker::listen(const Ports* ports) {
  const uint16_t http = ports ? ports->http : options_.http_port;
  pending_acceptors_.push_back(open_listener(*io_, options_.bind, http));
  ports_.http = pending_acceptors_.back().local_endpoint().port();
  if (options_.grpc_port) {
    pending_acceptors_.push_back(
        open_listener(*io_, options_.bind, ports ? ports->grpc : *options_.grpc_port));
    ports_.grpc = pending_acceptors_.back().local_endpoint().port();
  }
  if (options_.tcp_port) {
    pending_acceptors_.push_back(
        open_listener(*io_, options_.bind, ports ? ports->tcp : *options_.tcp_port));
    ports_.tcp = pending_acceptors_.back().local_endpoint().port();
  }
}

void Worker::run() {
  const bool has_tcp = options_.tcp_port.has_value();
  for (size_t i = 0; i < pending_acceptors_.size(); ++i) {
    const bool tcp_echo = has_tcp && i + 1 == pending_acceptors_.size();
    net::asio::co_spawn(*io_, accept_loop(std::move(pending_acceptors_[i]), tcp_echo),
                        net::asio::detached);
  }
  pending_acceptors_.clear();
  io_->run();
}

void Worker::shutdown() {
  net::asio::post(*io_, [this] { begin_shutdown(); });
}

void Worker::begin_shutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  net::error_code ec;
  for (auto* a : acceptors_) a->close(ec);
  h1_shutdown_.trigger();
  for (auto* s : h2_sessions_) s->shutdown();
  for (auto* s : echo_sockets_) s->close(ec);
  for (auto* s : detecting_) s->close(ec);
  net::asio::co_spawn(*io_, drain(), net::asio::detached);
}

net::awaitable<void> Worker::drain() {
  const auto deadline = Clock::now() + options_.shutdown_timeout;
  net::asio::steady_timer timer(*io_);
  while (connections_ > 0 && Clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(net::use_nothrow);
  }
  if (connections_ > 0) {
    // In-flight work outlived --shutdown-timeout: leave without unwinding it.
    TRELLIS_LOG_WARN("worker {}: {} connections still open after the shutdown timeout; exiting",
                     index_, connections_);
    spdlog::default_logger_raw()->flush();
    std::_Exit(0);
  }
  if (upstreams_) upstreams_->close();
  // With every connection and upstream session closed the io_context runs out of work and
  // run() returns.
}

net::awaitable<void> Worker::accept_loop(net::tcp::acceptor acceptor, bool tcp_echo) {
  auto it = acceptors_.insert(acceptors_.end(), &acceptor);
  if (shutting_down_) acceptor.close();
  while (true) {
    auto [ec, socket] = co_await acceptor.async_accept(net::use_nothrow);
    if (ec) {
      if (!acceptor.is_open() || shutting_down_) break;
      // EMFILE and friends: back off briefly rather than spin.
      TRELLIS_LOG_WARN("accept: {}", ec.message());
      net::asio::steady_timer timer(*io_);
      timer.expires_after(std::chrono::milliseconds(50));
      co_await timer.async_wait(net::use_nothrow);
      continue;
    }
    ++connections_;
    auto task = tcp_echo ? serve_tcp_echo(std::move(socket))
                         : serve_http_connection(std::move(socket));
    net::asio::co_spawn(*io_, std::move(task), [this](std::exception_ptr e) {
      --connections_;
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          TRELLIS_LOG_ERROR("connection failed: {}", ex.what());
        }
      }
    });
  }
  acceptors_.erase(it);
}

net::awaitable<void> Worker::serve_http_connection(net::tcp::socket socket) {
  net::configure_stream_socket(socket);
  auto info = std::make_shared<http::ConnectionInfo>();
  info->id = next_connection_id_++ * 256 + index_;
  net::error_code ec;
  info->peer = net::SocketAddress::from_endpoint(socket.remote_endpoint(ec));
  info->local = net::SocketAddress::from_endpoint(socket.local_endpoint(ec));

  auto det = detecting_.insert(detecting_.end(), &socket);
  proxy::detect::Detected detected =
      co_await proxy::detect::read_and_detect(socket, kDetectTimeout);
  detecting_.erase(det);
  if (shutting_down_ && detected.protocol != proxy::detect::Protocol::kHttp1 &&
      detected.protocol != proxy::detect::Protocol::kHttp2) {
    co_return;
  }

  switch (detected.protocol) {
    case proxy::detect::Protocol::kHttp1: {
      http::h1::ServerOptions options;
      co_await http::h1::serve_h1(socket, std::move(detected.bytes), *service_, options, info,
                                  &h1_counters_, &h1_shutdown_);
      co_return;
    }
    case proxy::detect::Protocol::kHttp2: {
      http::h2::H2Settings settings;
      settings.drain_timeout =
          std::chrono::ceil<std::chrono::milliseconds>(options_.shutdown_timeout);
      http::h2::StreamTransport<net::tcp::socket> transport(socket);
      http::h2::ServerSession session(transport, *service_, settings, h2_counters_, info,
                                      std::move(detected.bytes));
      auto it = h2_sessions_.insert(h2_sessions_.end(), &session);
      if (shutting_down_) session.shutdown();
      co_await session.run();
      h2_sessions_.erase(it);
      co_return;
    }
    default:
      TRELLIS_LOG_DEBUG("[C{}] not HTTP ({}); closing", info->id,
                        proxy::detect::to_string(detected.protocol));
      co_return;
  }
}

net::awaitable<void> Worker::serve_tcp_echo(net::tcp::socket socket) {
  net::configure_stream_socket(socket);
  auto it = echo_sockets_.insert(echo_sockets_.end(), &socket);
  struct Unregister {
    std::list<net::tcp::socket*>& list;
    std::list<net::tcp::socket*>::iterator it;
    ~Unregister() { list.erase(it); }
  } unregister{echo_sockets_, it};
  if (!options_.tcp_banner.empty()) {
    std::string banner = options_.tcp_banner + "\n";
    auto [ec, n] = co_await net::asio::async_write(socket, net::asio::buffer(banner),
                                                   net::use_nothrow);
    if (ec) co_return;
  }
  char buf[16 * 1024];
  net::asio::steady_timer timer(*io_);
  while (true) {
    timer.expires_after(kEchoIdleTimeout);
    auto r = co_await (socket.async_read_some(net::asio::buffer(buf), net::use_nothrow) ||
                       timer.async_wait(net::use_nothrow));
    if (r.index() == 1) break;
    auto [ec, n] = std::get<0>(r);
    if (n > 0) {
      auto [wec, written] = co_await net::asio::async_write(socket, net::asio::buffer(buf, n),
                                                            net::use_nothrow);
      if (wec) break;
    }
    if (ec) {
      if (ec == net::asio::error::eof) {
        net::error_code ignored;
        socket.shutdown(net::tcp::socket::shutdown_send, ignored);
      }
      break;
    }
  }
}

int run_serve(const ServeOptions& options) {
  std::signal(SIGPIPE, SIG_IGN);
  const uint64_t seed = options.seed ? *options.seed : std::random_device{}();
  const std::string name = default_name(options);
  std::vector<std::unique_ptr<Worker>> workers;
  try {
    Worker::Ports ports;
    for (unsigned i = 0; i < options.threads; ++i) {
      workers.push_back(std::make_unique<Worker>(options, name, i, seed + i));
      workers.back()->listen(i == 0 ? nullptr : &ports);
      if (i == 0) ports = workers.back()->bound_ports();
    }
    TRELLIS_LOG_INFO("trellis-demo-app {} (version {}) listening on {}: http={} grpc={} tcp={} "
                     "threads={}", name, options.version, options.bind, ports.http,
                     ports.grpc ? std::to_string(ports.grpc) : "-",
                     ports.tcp ? std::to_string(ports.tcp) : "-", options.threads);
  } catch (const std::exception& e) {
    TRELLIS_LOG_ERROR("cannot listen: {}", e.what());
    return 1;
  }

  net::asio::io_context main_io;
  net::asio::signal_set signals(main_io, SIGTERM, SIGINT);
  std::atomic<unsigned> finished{0};
  signals.async_wait([&](const net::error_code& ec, int signo) {
    if (ec) return;
    TRELLIS_LOG_INFO("signal {}: shutting down (finishing in-flight requests)", signo);
    for (auto& w : workers) w->shutdown();
  });
  std::vector<std::thread> threads;
  for (auto& w : workers) {
    threads.emplace_back([&finished, worker = w.get()] {
      worker->run();
      finished.fetch_add(1);
    });
  }
  // Once the signal handler ran, main_io has no work and run_for() returns at once: sleep
  // between polls so waiting for the workers to drain does not spin a CPU.
  while (finished.load() < workers.size()) {
    if (main_io.stopped()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } else {
      main_io.run_for(std::chrono::milliseconds(50));
    }
  }
  for (auto& t : threads) t.join();
  TRELLIS_LOG_INFO("stopped");
  return 0;
}

}  // namespace trellis::demoapp
