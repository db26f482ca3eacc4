#include "proxy/control/grpc_channel.h"

#include <random>

#include "base/log.h"
#include "http/body.h"
#include "net/socket_options.h"
#include "tls/handshake.h"

namespace trellis::proxy::control {
namespace {

using namespace net::asio::experimental::awaitable_operators;

GrpcError error(GrpcStatus status, std::string message) {
  return GrpcError{status, std::move(message)};
}

GrpcStatus status_for_http(int http_status) {
  switch (http_status) {
    case 400: return GrpcStatus::kInternal;
    case 401: return GrpcStatus::kUnauthenticated;
    case 403: return GrpcStatus::kPermissionDenied;
    case 404: return GrpcStatus::kUnimplemented;
    case 429:
    case 502:
    case 503:
    case 504: return GrpcStatus::kUnavailable;
    default: return GrpcStatus::kUnknown;
  }
}

// The status carried by grpc-status / grpc-message, if the headers have one.
std::optional<GrpcError> status_of(const http::Headers& headers) {
  auto code = headers.get("grpc-status");
  if (!code) return std::nullopt;
  int value = 0;
  bool valid = !code->empty() && code->size() <= 2;
  for (char c : *code) {
    if (c < '0' || c > '9') valid = false;
    else value = value * 10 + (c - '0');
  }
  if (!valid || value > 16) return error(GrpcStatus::kUnknown, "invalid grpc-status");
  std::string message;
  if (auto m = headers.get("grpc-message")) message = http::h2::percent_decode_grpc_message(*m);
  return error(static_cast<GrpcStatus>(value), std::move(message));
}

GrpcError from_body_error(http::BodyError e) {
  return error(GrpcStatus::kUnavailable,
               std::string("response stream failed: ") + http::to_string(e));
}

}  // namespace

const char* status_name(GrpcStatus s) {
  switch (s) {
    case GrpcStatus::kOk: return "OK";
    case GrpcStatus::kCancelled: return "CANCELLED";
    case GrpcStatus::kUnknown: return "UNKNOWN";
    case GrpcStatus::kInvalidArgument: return "INVALID_ARGUMENT";
    case GrpcStatus::kDeadlineExceeded: return "DEADLINE_EXCEEDED";
    case GrpcStatus::kNotFound: return "NOT_FOUND";
    case GrpcStatus::kAlreadyExists: return "ALREADY_EXISTS";
    case GrpcStatus::kPermissionDenied: return "PERMISSION_DENIED";
    case GrpcStatus::kResourceExhausted: return "RESOURCE_EXHAUSTED";
    case GrpcStatus::kFailedPrecondition: return "FAILED_PRECONDITION";
    case GrpcStatus::kAborted: return "ABORTED";
    case GrpcStatus::kOutOfRange: return "OUT_OF_RANGE";
    case GrpcStatus::kUnimplemented: return "UNIMPLEMENTED";
    case GrpcStatus::kInternal: return "INTERNAL";
    case GrpcStatus::kUnavailable: return "UNAVAILABLE";
    case GrpcStatus::kDataLoss: return "DATA_LOSS";
    case GrpcStatus::kUnauthenticated: return "UNAUTHENTICATED";
  }
  return "UNKNOWN";
}

std::string to_string(const GrpcError& e) {
  return e.message.empty() ? std::string(status_name(e.status))
                           : std::string(status_name(e.status)) + ": " + e.message;
}

Backoff::Backoff(std::chrono::milliseconds base, std::chrono::milliseconds max, uint64_t seed)
    : base_(base), max_(max), state_(seed | 1) {}

std::chrono::milliseconds Backoff::next() {
  int64_t ceiling = base_.count();
  for (int i = 0; i < attempt_ && ceiling < max_.count(); ++i) ceiling *= 2;
  ceiling = std::min<int64_t>(ceiling, max_.count());
  ++attempt_;
  // xorshift64*: jitter needs spread, not cryptographic quality.
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  const uint64_t r = state_ * 0x2545F4914F6CDD1DULL;
  const int64_t half = ceiling / 2;
  const int64_t span = ceiling - half + 1;
  return std::chrono::milliseconds(half + static_cast<int64_t>(r % static_cast<uint64_t>(span)));
}

bool MessageReader::feed(std::string_view bytes) {
  buffer_.append(bytes);
  if (auto header = http::h2::parse_grpc_frame_header(buffer_)) {
    if (header->compressed) {
      error_ = "compressed messages are not supported";
      return false;
    }
    if (header->length > kMaxMessageBytes) {
      error_ = "message of " + std::to_string(header->length) + " bytes is over the limit";
      return false;
    }
  }
  return true;
}

bool MessageReader::complete() const {
  const auto header = http::h2::parse_grpc_frame_header(buffer_);
  if (!header) return buffer_.empty();
  return buffer_.size() >= http::h2::kGrpcFrameHeaderBytes + header->length;
}

std::optional<std::string> MessageReader::pop() {
  const auto header = http::h2::parse_grpc_frame_header(buffer_);
  constexpr size_t kHead = http::h2::kGrpcFrameHeaderBytes;
  if (!header || buffer_.size() < kHead + header->length) return std::nullopt;
  std::string message = buffer_.substr(kHead, header->length);
  buffer_.erase(0, kHead + header->length);
  // The next header, if complete, must be checked too.
  if (!buffer_.empty()) {
    std::string rest = std::move(buffer_);
    buffer_.clear();
    feed(rest);
  }
  return message;
}

struct GrpcChannel::Connection {
  explicit Connection(tls::TlsStream s) : stream(std::move(s)), transport(stream) {}
  tls::TlsStream stream;
  http::h2::StreamTransport<tls::TlsStream> transport;
  std::unique_ptr<http::h2::ClientSession> session;
  bool retired = false;  // reconnect(): no new calls
};

namespace {

class ResponseStream final : public GrpcStream {
 public:
  ResponseStream(http::Response response, std::shared_ptr<void> keep_alive)
      : response_(std::move(response)), keep_alive_(std::move(keep_alive)) {}

  net::awaitable<base::Result<std::optional<std::string>, GrpcError>> next() override {
    while (true) {
      // Messages already complete are delivered before the final status.
      if (auto m = reader_.pop()) co_return std::optional<std::string>(std::move(*m));
      if (done_) {
        if (final_) co_return base::unexpected(*final_);
        co_return std::optional<std::string>();
      }
      auto chunk = co_await response_.body->next();
      if (!chunk) {
        done_ = true;
        final_ = from_body_error(chunk.error());
        continue;
      }
      if (!reader_.feed(chunk->data)) {
        done_ = true;
        final_ = error(GrpcStatus::kInternal, reader_.error());
        reader_ = MessageReader();
        continue;
      }
      if (chunk->end_of_stream) {
        done_ = true;
        auto status = status_of(chunk->trailers);
        if (!status) status = error(GrpcStatus::kUnknown, "response ended without grpc-status");
        if (status->status != GrpcStatus::kOk) final_ = std::move(*status);
        if (!reader_.complete()) {
          final_ = error(GrpcStatus::kInternal, "response ended inside a message");
          reader_ = MessageReader();
        }
      }
    }
  }

 private:
  http::Response response_;
  std::shared_ptr<void> keep_alive_;
  MessageReader reader_;
  bool done_ = false;
  std::optional<GrpcError> final_;
};

// A stream that already ended (trailers-only response with OK).
class EmptyStream final : public GrpcStream {
 public:
  net::awaitable<base::Result<std::optional<std::string>, GrpcError>> next() override {
    co_return std::optional<std::string>();
  }
};

}  // namespace

GrpcChannel::GrpcChannel(net::asio::any_io_executor executor, ChannelOptions options,
                         const tls::ClientContext& tls)
    : executor_(std::move(executor)),
      options_(std::move(options)),
      tls_(tls),
      backoff_(options_.backoff_base, options_.backoff_max,
               static_cast<uint64_t>(std::random_device{}()) << 32 | std::random_device{}()) {
  // Watches are long-lived and may be quiet for hours.
  settings_.stream_idle_timeout = std::chrono::milliseconds(0);
  settings_.idle_timeout = std::chrono::milliseconds(0);
}

GrpcChannel::~GrpcChannel() { close(); }

bool GrpcChannel::connected() const {
  return current_ && !current_->retired && current_->session && current_->session->is_usable();
}

void GrpcChannel::reconnect() {
  if (current_) current_->retired = true;
  // The retired connection closes by itself once its last stream is done (GOAWAY now).
  if (current_ && current_->session) current_->session->shutdown();
  current_.reset();
  backoff_.reset();
  next_attempt_ = {};
}

void GrpcChannel::close() {
  closed_ = true;
  if (current_ && current_->session) current_->session->close();
  current_.reset();
}

net::awaitable<base::Result<std::shared_ptr<GrpcChannel::Connection>, GrpcError>>
GrpcChannel::connect_once() {
  net::asio::ip::tcp::resolver resolver(executor_);
  const size_t colon = options_.address.rfind(':');
  std::string host = options_.address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port = colon == std::string::npos ? "" : options_.address.substr(colon + 1);
  auto [rec, results] = co_await resolver.async_resolve(host, port, net::use_nothrow);
  if (rec) {
    co_return base::unexpected(error(GrpcStatus::kUnavailable, "cannot resolve " +
                                                                   options_.address + ": " +
                                                                   rec.message()));
  }
  net::tcp::socket socket(executor_);
  {
    net::asio::steady_timer timer(executor_);
    timer.expires_after(options_.connect_timeout);
    auto r = co_await (net::asio::async_connect(socket, results, net::use_nothrow) ||
                       timer.async_wait(net::use_nothrow));
    if (r.index() == 1) {
      co_return base::unexpected(
          error(GrpcStatus::kUnavailable, "connect to " + options_.address + " timed out"));
    }
    if (auto ec = std::get<0>(std::get<0>(r))) {
      co_return base::unexpected(error(GrpcStatus::kUnavailable,
                                       "connect to " + options_.address + ": " + ec.message()));
    }
  }
  net::configure_stream_socket(socket);
  static const std::vector<std::string> kAlpn = {std::string(tls::kAlpnH2)};
  auto stream = tls::make_client_stream(tls_, std::move(socket), options_.server_identity, &kAlpn);
  if (!stream) {
    co_return base::unexpected(error(GrpcStatus::kUnavailable,
                                     std::string("TLS: ") + tls::to_string(stream.error().code)));
  }
  auto conn = std::make_shared<Connection>(std::move(stream).value());
  auto peer = co_await tls::client_handshake(conn->stream, options_.connect_timeout);
  if (!peer) {
    co_return base::unexpected(error(
        GrpcStatus::kUnavailable, "TLS handshake with " + options_.address + " failed: " +
                                      tls::to_string(peer.error().code) +
                                      (peer.error().detail.empty() ? "" : " (" + peer.error().detail + ")")));
  }
  if (peer->alpn != tls::kAlpnH2) {
    co_return base::unexpected(
        error(GrpcStatus::kUnavailable, "the control plane did not negotiate ALPN h2"));
  }
  conn->session = std::make_unique<http::h2::ClientSession>(conn->transport, settings_, counters_);
  net::asio::co_spawn(
      executor_, [conn]() -> net::awaitable<void> { co_await conn->session->run(); },
      net::asio::detached);
  ++connects_;
  co_return conn;
}

net::awaitable<base::Result<std::shared_ptr<GrpcChannel::Connection>, GrpcError>>
GrpcChannel::connection() {
  net::asio::steady_timer timer(executor_);
  while (true) {
    if (closed_) co_return base::unexpected(error(GrpcStatus::kUnavailable, "channel closed"));
    if (current_ && !current_->retired && current_->session->is_usable()) co_return current_;
    if (!connecting_) break;
    // Another call is connecting: share its result.
    timer.expires_after(std::chrono::milliseconds(5));
    co_await timer.async_wait(net::use_nothrow);
  }
  connecting_ = true;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_attempt_) {
    timer.expires_at(next_attempt_);
    co_await timer.async_wait(net::use_nothrow);
  }
  auto conn = co_await connect_once();
  connecting_ = false;
  if (closed_) {
    if (conn) (*conn)->session->close();
    co_return base::unexpected(error(GrpcStatus::kUnavailable, "channel closed"));
  }
  if (!conn) {
    const auto delay = backoff_.next();
    next_attempt_ = std::chrono::steady_clock::now() + delay;
    TRELLIS_LOG_WARN("control plane {}: {}; next attempt in {}ms", options_.address,
                     conn.error().message, delay.count());
    co_return base::unexpected(conn.error());
  }
  backoff_.reset();
  if (current_ && current_->session) current_->session->shutdown();
  current_ = *conn;
  co_return current_;
}

net::awaitable<base::Result<GrpcChannel::Call, GrpcError>> GrpcChannel::start_call(
    const std::string& path, std::string request, const Metadata& metadata,
    std::optional<std::chrono::milliseconds> timeout) {
  auto conn = co_await connection();
  if (!conn) co_return base::unexpected(conn.error());
  http::Request req;
  req.head.method = "POST";
  req.head.scheme = "https";
  req.head.authority = options_.address;
  req.head.path = path;
  req.head.version = http::Version::kHttp2;
  req.head.headers.add("content-type", "application/grpc");
  req.head.headers.add("te", "trailers");
  req.head.headers.add("user-agent", "trellis-proxy");
  if (timeout) {
    req.head.headers.add("grpc-timeout", http::h2::format_grpc_timeout(*timeout));
  }
  for (const auto& [k, v] : metadata) req.head.headers.add(k, v);
  req.body = http::make_buffered_body(http::h2::grpc_frame(request));
  auto sent = co_await (*conn)->session->send(std::move(req));
  if (!sent) {
    // A connection that failed under a call is replaced by the next one.
    if (!(*conn)->session->is_usable() && current_ == *conn) current_.reset();
    co_return base::unexpected(error(GrpcStatus::kUnavailable,
                                     std::string("control plane stream failed: ") +
                                         http::h2::to_string(sent.error().kind)));
  }
  http::Response response = std::move(sent).value();
  if (response.head.status != 200) {
    co_return base::unexpected(error(status_for_http(response.head.status),
                                     "HTTP status " + std::to_string(response.head.status)));
  }
  auto ct = response.head.headers.get("content-type");
  if (!ct || !http::h2::is_grpc(response.head.headers)) {
    // A trailers-only error may omit content-type; its grpc-status still says what happened.
    if (auto status = status_of(response.head.headers)) {
      if (status->status != GrpcStatus::kOk) co_return base::unexpected(*status);
    }
    co_return base::unexpected(error(GrpcStatus::kUnknown, "response is not gRPC"));
  }
  co_return Call{std::move(response), *conn};
}

net::awaitable<base::Result<std::string, GrpcError>> GrpcChannel::unary(
    std::string path, std::string request, Metadata metadata, std::chrono::milliseconds timeout) {
  auto attempt = [&]() -> net::awaitable<base::Result<std::string, GrpcError>> {
    auto call = co_await start_call(path, std::move(request), metadata, timeout);
    if (!call) co_return base::unexpected(call.error());
    if (auto status = status_of(call->response.head.headers)) {  // trailers-only
      if (status->status != GrpcStatus::kOk) co_return base::unexpected(*status);
      co_return base::unexpected(error(GrpcStatus::kInternal, "no response message"));
    }
    ResponseStream stream(std::move(call->response), std::move(call->connection));
    auto first = co_await stream.next();
    if (!first) co_return base::unexpected(first.error());
    if (!*first) co_return base::unexpected(error(GrpcStatus::kInternal, "no response message"));
    auto end = co_await stream.next();
    if (!end) co_return base::unexpected(end.error());
    if (*end) co_return base::unexpected(error(GrpcStatus::kInternal, "more than one response"));
    co_return std::move(**first);
  };
  net::asio::steady_timer deadline(executor_);
  deadline.expires_after(timeout);
  auto r = co_await (attempt() || deadline.async_wait(net::use_nothrow));
  if (r.index() == 1) {
    co_return base::unexpected(error(GrpcStatus::kDeadlineExceeded,
                                     "no answer within " + std::to_string(timeout.count()) + "ms"));
  }
  co_return std::move(std::get<0>(r));
}

net::awaitable<base::Result<std::unique_ptr<GrpcStream>, GrpcError>> GrpcChannel::server_streaming(
    std::string path, std::string request, Metadata metadata) {
  auto call = co_await start_call(path, std::move(request), metadata, std::nullopt);
  if (!call) co_return base::unexpected(call.error());
  if (auto status = status_of(call->response.head.headers)) {  // trailers-only
    if (status->status != GrpcStatus::kOk) co_return base::unexpected(*status);
    co_return std::unique_ptr<GrpcStream>(std::make_unique<EmptyStream>());
  }
  // The stream keeps its connection alive, even after the channel moved on to another one.
  co_return std::unique_ptr<GrpcStream>(
      std::make_unique<ResponseStream>(std::move(call->response), std::move(call->connection)));
}

}  // namespace trellis::proxy::control
