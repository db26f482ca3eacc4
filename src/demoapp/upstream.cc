#include "demoapp/upstream.h"

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "demoapp/grpc_codec.h"
#include "http/h2/client.h"
#include "http/h2/grpc.h"
#include "http/h2/transport.h"
#include "net/socket_options.h"

// GCC 12 at -O2 flags Asio's awaitable frame operator delete as "mismatched" once it inlines
// the frame allocation (a known false positive with coroutines, as in http/h1conn).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace trellis::demoapp {
namespace {

using namespace net::asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;

// Re-resolve names this often, so a changed /etc/hosts entry is picked up.
constexpr auto kResolveTtl = std::chrono::seconds(5);
// Upstream answers are small JSON documents; anything bigger is cut off.
constexpr size_t kMaxUpstreamBody = 1024 * 1024;

std::chrono::milliseconds to_ms(Duration d) {
  return std::max(std::chrono::milliseconds(1),
                  std::chrono::ceil<std::chrono::milliseconds>(d));
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string version_of(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return "";
  auto it = j.find("version");
  if (it == j.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

}  // namespace

net::awaitable<base::Result<net::SocketAddress, std::string>> resolve(
    net::asio::any_io_executor executor, const std::string& host, uint16_t port,
    Duration timeout) {
  net::error_code ec;
  auto ip = net::asio::ip::make_address(host, ec);
  if (!ec) co_return net::SocketAddress::from_endpoint(net::tcp::endpoint(ip, port));
  net::tcp::resolver resolver(executor);
  net::asio::steady_timer timer(executor);
  timer.expires_after(timeout);
  auto r = co_await (resolver.async_resolve(host, std::to_string(port), net::use_nothrow) ||
                     timer.async_wait(net::use_nothrow));
  if (r.index() == 1) co_return base::unexpected("resolving " + host + " timed out");
  auto [rec, results] = std::get<0>(r);
  if (rec || results.empty()) {
    co_return base::unexpected("cannot resolve " + host + ": " +
                               (rec ? rec.message() : std::string("no addresses")));
  }
  net::tcp::endpoint chosen = results.begin()->endpoint();
  for (const auto& entry : results) {
    if (entry.endpoint().address().is_v4()) {
      chosen = entry.endpoint();
      break;
    }
  }
  co_return net::SocketAddress::from_endpoint(chosen);
}

// ---- GrpcChannel ---------------------------------------------------------------------------

struct GrpcChannel::Connection {
  explicit Connection(net::tcp::socket s)
      : socket(std::move(s)), transport(socket), session(transport, settings, counters) {}
  net::tcp::socket socket;
  http::h2::StreamTransport<net::tcp::socket> transport;
  http::h2::H2Settings settings;
  http::h2::H2Counters counters;
  http::h2::ClientSession session;
  bool done = false;
};

GrpcChannel::GrpcChannel(net::asio::any_io_executor executor, Target target,
                         Duration connect_timeout)
    : executor_(executor),
      target_(std::move(target)),
      connect_timeout_(connect_timeout),
      connected_(executor, net::asio::steady_timer::time_point::max()) {}

GrpcChannel::~GrpcChannel() { close(); }

void GrpcChannel::close() {
  if (current_ && !current_->done) current_->session.close();
  current_.reset();
  connected_.cancel();
}

net::awaitable<void> GrpcChannel::drive(std::shared_ptr<Connection> connection) {
  co_await connection->session.run();
  connection->done = true;
}

net::awaitable<base::Result<std::shared_ptr<GrpcChannel::Connection>, std::string>>
GrpcChannel::connection() {
  while (true) {
    if (current_ && !current_->done && current_->session.is_usable()) co_return current_;
    if (connecting_) {
      // The timer never expires; cancel() from the connecting coroutine wakes every waiter.
      co_await connected_.async_wait(net::use_nothrow);
      continue;
    }
    connecting_ = true;
    struct Done {
      GrpcChannel* self;
      ~Done() {
        self->connecting_ = false;
        self->connected_.cancel();
      }
    } done{this};
    auto address = co_await resolve(executor_, target_.host, target_.port, connect_timeout_);
    if (!address) co_return base::unexpected(address.error());
    net::tcp::socket socket(executor_);
    net::asio::steady_timer timer(executor_);
    timer.expires_after(connect_timeout_);
    auto r = co_await (socket.async_connect(address->endpoint(), net::use_nothrow) ||
                       timer.async_wait(net::use_nothrow));
    if (r.index() == 1) {
      co_return base::unexpected("connect to " + address->to_string() + " timed out");
    }
    if (auto [ec] = std::get<0>(r); ec) {
      co_return base::unexpected("connect to " + address->to_string() + ": " + ec.message());
    }
    net::configure_stream_socket(socket);
    auto conn = std::make_shared<Connection>(std::move(socket));
    net::asio::co_spawn(executor_, drive(conn), net::asio::detached);
    current_ = conn;
    co_return conn;
  }
}

net::awaitable<base::Result<GrpcChannel::Reply, std::string>> GrpcChannel::exchange(
    http::Request request, Duration timeout) {
  net::asio::steady_timer timer(executor_);
  timer.expires_after(timeout);
  auto conn = co_await connection();
  if (!conn) co_return base::unexpected(conn.error());
  // Keep the connection alive for the whole exchange even if the channel replaces it.
  std::shared_ptr<Connection> keep = *conn;
  auto sent =
      co_await (keep->session.send(std::move(request)) || timer.async_wait(net::use_nothrow));
  if (sent.index() == 1) co_return base::unexpected(std::string("timeout"));
  auto& response = std::get<0>(sent);
  if (!response) {
    co_return base::unexpected(std::string("h2: ") + http::h2::to_string(response.error().kind));
  }
  Reply reply;
  reply.status = response->head.status;
  reply.headers = response->head.headers;
  auto body = co_await (http::read_all(*response->body, kMaxGrpcMessage + 5) ||
                        timer.async_wait(net::use_nothrow));
  if (body.index() == 1) co_return base::unexpected(std::string("timeout"));
  auto& all = std::get<0>(body);
  if (!all) co_return base::unexpected(std::string("body: ") + http::to_string(all.error()));
  reply.body = std::move(all->data);
  reply.trailers = std::move(all->trailers);
  co_return reply;
}

net::awaitable<UpstreamResult> grpc_hello(GrpcChannel& channel, const Target& target,
                                          std::string_view name, Duration timeout,
                                          const http::Headers& extra_headers) {
  UpstreamResult u;
  u.url = target.url;
  const auto start = Clock::now();
  http::Request req;
  req.head.method = "POST";
  req.head.scheme = "http";
  req.head.authority = target.authority();
  req.head.path = std::string(kHelloPath);
  req.head.version = http::Version::kHttp2;
  for (const auto& h : extra_headers) req.head.headers.add(h.name, h.value);
  req.head.headers.set("content-type", "application/grpc");
  req.head.headers.set("te", "trailers");
  req.head.headers.set("grpc-timeout", http::h2::format_grpc_timeout(timeout));
  if (!req.head.headers.contains("user-agent")) {
    req.head.headers.add("user-agent", "trellis-demo-app");
  }
  nlohmann::json message = {{"name", std::string(name)}};
  req.body = http::make_buffered_body(grpc_frame(message.dump()));
  auto reply = co_await channel.exchange(std::move(req), timeout);
  u.latency_ms = ms_since(start);
  if (!reply) {
    u.error = reply.error();
    co_return u;
  }
  u.status = reply->status;
  auto status = reply->trailers.get("grpc-status");
  if (!status) status = reply->headers.get("grpc-status");  // trailers-only
  if (!status) {
    u.error = "no grpc-status (HTTP " + std::to_string(reply->status) + ")";
    co_return u;
  }
  u.grpc_status = std::atoi(std::string(*status).c_str());
  if (u.grpc_status != 0) {
    auto message_text = reply->trailers.get("grpc-message");
    if (!message_text) message_text = reply->headers.get("grpc-message");
    u.error = "grpc-status " + std::string(*status);
    if (message_text) u.error += ": " + http::h2::percent_decode_grpc_message(*message_text);
    co_return u;
  }
  auto messages = grpc_unframe(reply->body);
  if (!messages || messages->size() != 1) {
    u.error = messages ? "expected one response message" : messages.error();
    co_return u;
  }
  u.version = version_of(messages->front());
  u.ok = true;
  co_return u;
}

// ---- Upstreams -----------------------------------------------------------------------------

Upstreams::Upstreams(net::asio::any_io_executor executor, const ServeOptions& options,
                     std::string name)
    : executor_(executor), options_(options), name_(std::move(name)), targets_(options.upstreams) {
  for (const auto& t : targets_) {
    if (t.kind == Target::Kind::kHttp) {
      auto h = std::make_unique<HttpTarget>();
      h->target = t;
      http_.push_back(std::move(h));
      grpc_.push_back(nullptr);
    } else {
      http_.push_back(nullptr);
      grpc_.push_back(std::make_unique<GrpcChannel>(executor, t, options.upstream_timeout));
    }
  }
}

Upstreams::~Upstreams() = default;

void Upstreams::close() {
  for (auto& h : http_) {
    if (h) h->pool.reset();
  }
  for (auto& g : grpc_) {
    if (g) g->close();
  }
}

net::awaitable<std::vector<UpstreamResult>> Upstreams::call_all() {
  std::vector<UpstreamResult> results;
  for (size_t i = 0; i < targets_.size(); ++i) {
    if (http_[i]) {
      results.push_back(co_await call_http(*http_[i]));
    } else {
      results.push_back(co_await grpc_hello(*grpc_[i], targets_[i], name_,
                                            options_.upstream_timeout));
    }
  }
  co_return results;
}

net::awaitable<UpstreamResult> Upstreams::call_http(HttpTarget& t) {
  UpstreamResult u;
  u.url = t.target.url;
  const auto start = Clock::now();
  if (!t.address || Clock::now() - t.resolved_at > kResolveTtl) {
    auto address = co_await resolve(executor_, t.target.host, t.target.port,
                                    options_.upstream_timeout);
    if (!address) {
      if (!t.address) {
        u.error = address.error();
        u.latency_ms = ms_since(start);
        co_return u;
      }
      // Keep using the last good address when a re-resolution fails.
    } else {
      if (!t.address || *t.address != *address) t.pool.reset();
      t.address = *address;
    }
    t.resolved_at = Clock::now();
  }
  if (!t.pool) {
    http::h1::PoolOptions po;
    po.connect_timeout = to_ms(options_.upstream_timeout);
    po.client.response_timeout = to_ms(options_.upstream_timeout);
    po.client.body_read_timeout = to_ms(options_.upstream_timeout);
    po.client.write_timeout = to_ms(options_.upstream_timeout);
    t.pool = std::make_shared<http::h1::Pool>(executor_, *t.address, po);
  }
  const std::shared_ptr<http::h1::Pool> pool = t.pool;
  http::Request req;
  req.head.method = "GET";
  req.head.scheme = "http";
  req.head.authority = t.target.authority();
  req.head.path = t.target.path;
  req.head.headers.add("user-agent", "trellis-demo-app");
  req.head.headers.add("x-demo-caller", name_);
  req.body = http::make_empty_body();
  auto r = co_await pool->send(std::move(req));
  if (!r) {
    u.error = std::string("http: ") + http::h1::to_string(r.error().kind);
    if (r.error().io_error) u.error += " (" + r.error().io_error.message() + ")";
    u.latency_ms = ms_since(start);
    co_return u;
  }
  u.status = r->head.status;
  auto body = co_await http::read_all(*r->body, kMaxUpstreamBody);
  u.latency_ms = ms_since(start);
  if (!body) {
    u.error = std::string("body: ") + http::to_string(body.error());
    co_return u;
  }
  u.version = version_of(body->data);
  if (u.version.empty()) {
    if (auto v = r->head.headers.get("x-demo-version")) u.version = std::string(*v);
  }
  u.ok = u.status < 400;
  if (!u.ok) u.error = "HTTP " + std::to_string(u.status);
  co_return u;
}

}  // namespace trellis::demoapp
