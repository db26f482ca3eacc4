#include "http/h1conn/pool.h"

#include <deque>
#include <variant>

#include "http/h1conn/transport.h"
#include "net/socket_options.h"

// GCC 12 at -O2 flags Asio's awaitable frame operator delete as "mismatched" once it inlines
// the frame allocation (a known false positive with coroutines); see server_connection.cc.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace trellis::http::h1 {
namespace detail {
namespace {

using Clock = std::chrono::steady_clock;
using AcquireResult = base::Result<std::unique_ptr<ClientConnection>, ClientError>;
using BodyResult = base::Result<BodyChunk, BodyError>;

// A request body shared by the attempts of one request: the first attempt records what it
// reads (up to a limit) so that a retry can send the same bytes again, then carry on reading
// the source where the first attempt stopped.
struct ReplayState : std::enable_shared_from_this<ReplayState> {
  ReplayState(BodyPtr body, size_t max) : source(std::move(body)), limit(max) {}

  BodyPtr attempt();
  bool can_replay() const { return !overflow && !failed && !in_flight; }

  BodyPtr source;
  size_t limit;
  std::string recorded;
  Headers trailers;
  bool eos = false;
  bool overflow = false;  // more than `limit` was read: the bytes are gone
  bool failed = false;
  bool in_flight = false;  // an attempt is inside source->next()
  uint32_t generation = 0;
};

class ReplayBody final : public Body {
 public:
  ReplayBody(std::shared_ptr<ReplayState> state, uint32_t generation)
      : state_(std::move(state)), generation_(generation) {}

  net::awaitable<BodyResult> next() override {
    std::shared_ptr<ReplayState> s = state_;
    // A superseded attempt (its connection failed and a retry took over) must not read on.
    if (s->generation != generation_) co_return base::unexpected(BodyError::kCancelled);
    if (position_ < s->recorded.size()) {
      BodyChunk chunk{s->recorded.substr(position_), s->eos, {}};
      if (s->eos) chunk.trailers = s->trailers;
      position_ = s->recorded.size();
      co_return chunk;
    }
    if (s->eos) co_return BodyChunk{"", true, s->trailers};
    s->in_flight = true;
    auto chunk = co_await s->source->next();
    s->in_flight = false;
    if (!chunk) {
      s->failed = true;
      co_return chunk;
    }
    if (!s->overflow) {
      if (s->recorded.size() + chunk->data.size() > s->limit) {
        s->overflow = true;
        std::string().swap(s->recorded);
      } else {
        s->recorded += chunk->data;
        position_ = s->recorded.size();
      }
    }
    if (chunk->end_of_stream) {
      s->eos = true;
      s->trailers = chunk->trailers;
    }
    co_return chunk;
  }
  std::optional<uint64_t> size_hint() const override { return state_->source->size_hint(); }

 private:
  std::shared_ptr<ReplayState> state_;
  uint32_t generation_;
  size_t position_ = 0;
};

BodyPtr ReplayState::attempt() {
  return std::make_unique<ReplayBody>(shared_from_this(), ++generation);
}

struct IdleConnection {
  std::unique_ptr<ClientConnection> connection;
  Clock::time_point expires;
};

}  // namespace

class PoolState : public std::enable_shared_from_this<PoolState> {
 public:
  PoolState(net::asio::any_io_executor executor, net::SocketAddress address, PoolOptions options)
      : executor_(std::move(executor)),
        address_(address),
        options_(std::move(options)),
        reaper_timer_(executor_) {}

  net::awaitable<AcquireResult> acquire();
  net::awaitable<AcquireResult> connect();
  void release(std::unique_ptr<ClientConnection> connection);
  // The connection goes back to the pool when `response`'s body ends.
  Response attach(std::unique_ptr<ClientConnection> connection, Response response);
  void close_all();

  const net::SocketAddress& address() const { return address_; }
  const PoolOptions& options() const { return options_; }
  bool closed() const { return closed_; }
  void count_retry() { ++stats_.retries_total; }
  PoolStats stats() const {
    PoolStats s = stats_;
    s.idle = idle_.size();
    return s;
  }

 private:
  static net::awaitable<void> reap(std::shared_ptr<PoolState> self);

  net::asio::any_io_executor executor_;
  net::SocketAddress address_;
  const PoolOptions options_;
  // Oldest first: release() appends, acquire() takes the most recent (warm) one from the back,
  // and expiry trims the front.
  std::deque<IdleConnection> idle_;
  net::asio::steady_timer reaper_timer_;
  PoolStats stats_;
  bool reaper_running_ = false;
  bool closed_ = false;
};

namespace {

// Hands the connection back to the pool once the response body has been read to its end.
class PooledBody final : public Body {
 public:
  PooledBody(std::unique_ptr<ClientConnection> connection, BodyPtr inner,
             std::weak_ptr<PoolState> pool)
      : connection_(std::move(connection)), inner_(std::move(inner)), pool_(std::move(pool)) {}
  ~PooledBody() override {
    inner_.reset();  // an unfinished body closes its connection first, so it is never pooled
  }

  net::awaitable<BodyResult> next() override {
    auto chunk = co_await inner_->next();
    if (!chunk || chunk->end_of_stream) give_back();
    co_return chunk;
  }
  std::optional<uint64_t> size_hint() const override { return inner_->size_hint(); }
  bool is_empty() const override { return inner_->is_empty(); }

 private:
  void give_back() {
    if (!connection_) return;
    if (auto pool = pool_.lock()) {
      pool->release(std::move(connection_));
    } else {
      connection_.reset();
    }
  }

  std::unique_ptr<ClientConnection> connection_;
  BodyPtr inner_;
  std::weak_ptr<PoolState> pool_;
};

}  // namespace

net::awaitable<AcquireResult> PoolState::acquire() {
  while (!idle_.empty()) {
    IdleConnection entry = std::move(idle_.back());
    idle_.pop_back();
    if (entry.expires <= Clock::now()) {
      ++stats_.idle_expired_total;  // the reaper had not come round yet
      continue;
    }
    if (!entry.connection->probe_idle()) {
      ++stats_.stale_total;  // the server closed it (or sent something) while it sat idle
      continue;
    }
    ++stats_.reused_total;
    co_return std::move(entry.connection);
  }
  co_return co_await connect();
}

net::awaitable<AcquireResult> PoolState::connect() {
  using namespace net::asio::experimental::awaitable_operators;
  auto self = shared_from_this();
  ++stats_.connects_total;
  net::tcp::socket socket(executor_);
  net::asio::steady_timer timer(executor_);
  timer.expires_after(options_.connect_timeout);
  auto outcome = co_await (socket.async_connect(address_.endpoint(), net::use_nothrow) ||
                           timer.async_wait(net::use_nothrow));
  net::error_code ec = outcome.index() == 0 ? std::get<0>(std::get<0>(outcome))
                                            : net::error_code(net::asio::error::timed_out);
  if (ec) {
    ++stats_.connect_failures_total;
    ClientError e;
    e.kind = ClientError::Kind::kConnect;
    e.io_error = ec;
    co_return base::unexpected(std::move(e));
  }
  net::configure_stream_socket(socket);
  std::unique_ptr<Transport> transport;
  if (options_.wrap) {
    // (The awaitable is built outside the co_await expression: GCC 12 mishandles the socket
    // temporary std::function::operator() takes by value when it is created inside one.)
    net::awaitable<base::Result<std::unique_ptr<Transport>, net::error_code>> pending =
        options_.wrap(std::move(socket));
    auto wrapped = co_await std::move(pending);
    if (!wrapped) {
      ++stats_.connect_failures_total;
      ClientError e;
      e.kind = ClientError::Kind::kConnect;
      e.io_error = wrapped.error();
      co_return base::unexpected(std::move(e));
    }
    transport = std::move(*wrapped);
  } else {
    transport = std::make_unique<TcpTransport>(std::move(socket));
  }
  auto connection = std::make_unique<ClientConnection>(std::move(transport), options_.client);
  ++stats_.open;
  connection->set_on_close([weak = weak_from_this()] {
    if (auto pool = weak.lock()) --pool->stats_.open;
  });
  co_return std::move(connection);
}

void PoolState::release(std::unique_ptr<ClientConnection> connection) {
  if (!connection || closed_ || !connection->is_idle()) return;  // destruction closes it
  if (idle_.size() >= options_.max_idle) return;
  idle_.push_back({std::move(connection), Clock::now() + options_.idle_timeout});
  if (!reaper_running_) {
    reaper_running_ = true;
    net::asio::co_spawn(executor_, reap(shared_from_this()), net::asio::detached);
  }
}

net::awaitable<void> PoolState::reap(std::shared_ptr<PoolState> self) {
  while (!self->closed_ && !self->idle_.empty()) {
    const auto now = Clock::now();
    while (!self->idle_.empty() && self->idle_.front().expires <= now) {
      self->idle_.pop_front();
      ++self->stats_.idle_expired_total;
    }
    if (self->idle_.empty()) break;
    self->reaper_timer_.expires_at(self->idle_.front().expires);
    co_await self->reaper_timer_.async_wait(net::use_nothrow);
  }
  self->reaper_running_ = false;
}

Response PoolState::attach(std::unique_ptr<ClientConnection> connection, Response response) {
  if (connection->is_upgraded()) {
    // The stream is no longer HTTP: it leaves the pool with the response.
    if (auto tunnel = connection->take_tunnel()) {
      response.body = std::make_unique<TunnelBody>(std::move(*tunnel));
    }
    return response;
  }
  if (connection->is_idle()) {
    release(std::move(connection));  // no body to wait for (HEAD, 204, 304, length 0)
    return response;
  }
  response.body = std::make_unique<PooledBody>(std::move(connection), std::move(response.body),
                                               weak_from_this());
  return response;
}

void PoolState::close_all() {
  closed_ = true;
  idle_.clear();
  reaper_timer_.cancel();
}

namespace {

net::awaitable<AcquireResult> acquire(std::shared_ptr<PoolState> pool) {
  co_return co_await pool->acquire();
}

net::awaitable<base::Result<Response, ClientError>> send(std::shared_ptr<PoolState> pool,
                                                         Request request) {
  const bool idempotent = is_idempotent(request.head.method);
  BodyPtr body = std::move(request.body);
  if (!body) body = make_empty_body();
  const bool empty_body = body->is_empty();

  auto acquired = co_await pool->acquire();
  if (!acquired) co_return base::unexpected(acquired.error());
  std::unique_ptr<ClientConnection> connection = std::move(*acquired);
  // Only a reused connection can lose the keep-alive race; only then is a retry prepared.
  const bool reused = connection->requests_sent() > 0;
  std::shared_ptr<ReplayState> replay;
  if (reused && !empty_body) {
    replay = std::make_shared<ReplayState>(std::move(body), pool->options().max_replay_bytes);
    body = replay->attempt();
  }

  auto result = co_await connection->send(request.head, std::move(body));
  if (!result) {
    const ClientError& error = result.error();
    const bool retry = reused && !pool->closed() &&
                       error.kind == ClientError::Kind::kClosedBeforeResponse &&
                       (idempotent || !error.request_sent) && (!replay || replay->can_replay());
    if (!retry) co_return base::unexpected(error);
    connection.reset();
    pool->count_retry();
    // A fresh connection, not another idle one: those are as likely to be stale.
    auto fresh = co_await pool->connect();
    if (!fresh) co_return base::unexpected(fresh.error());
    connection = std::move(*fresh);
    // (Built outside the co_await expression: GCC 12 mishandles a conditional with non-trivial
    // temporaries inside one.)
    BodyPtr again = replay ? replay->attempt() : make_empty_body();
    result = co_await connection->send(request.head, std::move(again));
    if (!result) co_return base::unexpected(result.error());
  }
  co_return pool->attach(std::move(connection), std::move(*result));
}

}  // namespace
}  // namespace detail

Pool::Pool(net::asio::any_io_executor executor, net::SocketAddress address, PoolOptions options)
    : state_(std::make_shared<detail::PoolState>(std::move(executor), address,
                                                 std::move(options))) {}

Pool::~Pool() { state_->close_all(); }

net::awaitable<base::Result<std::unique_ptr<ClientConnection>, ClientError>> Pool::acquire() {
  return detail::acquire(state_);
}

void Pool::release(std::unique_ptr<ClientConnection> connection) {
  state_->release(std::move(connection));
}

net::awaitable<base::Result<Response, ClientError>> Pool::send(Request request) {
  return detail::send(state_, std::move(request));
}

PoolStats Pool::stats() const { return state_->stats(); }

const net::SocketAddress& Pool::address() const { return state_->address(); }

}  // namespace trellis::http::h1
