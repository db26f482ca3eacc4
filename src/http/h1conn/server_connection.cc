#include "http/h1conn/server_connection.h"

#include <algorithm>
#include <variant>

#include "base/strings.h"
#include "base/log.h"
#include "http/h1/chars.h"
#include "http/h1/chunked.h"
#include "http/h1/parser.h"
#include "http/h1/serializer.h"
#include "http/h1conn/io.h"

// GCC 12 at -O2 inlines Asio's awaitable frame allocation (a recycling allocator behind
// awaitable_frame_base::operator new) and then flags the matching class operator delete as
// "mismatched" (a known false positive with coroutines). Scoped to this file's coroutines.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace trellis::http::h1 {

const char* to_string(ServerClose reason) {
  switch (reason) {
    case ServerClose::kClientClosed: return "client_closed";
    case ServerClose::kNotPersistent: return "not_persistent";
    case ServerClose::kParseError: return "parse_error";
    case ServerClose::kHeaderTimeout: return "header_timeout";
    case ServerClose::kIdleTimeout: return "idle_timeout";
    case ServerClose::kBodyError: return "body_error";
    case ServerClose::kUndrained: return "undrained";
    case ServerClose::kResponseError: return "response_error";
    case ServerClose::kIoError: return "io_error";
    case ServerClose::kShutdown: return "shutdown";
    case ServerClose::kTunnel: return "tunnel";
  }
  return "unknown";
}

// === ShutdownSignal ===

ShutdownSignal::Subscription& ShutdownSignal::Subscription::operator=(
    Subscription&& other) noexcept {
  if (this != &other) {
    reset();
    signal_ = std::exchange(other.signal_, nullptr);
    it_ = other.it_;
  }
  return *this;
}

void ShutdownSignal::Subscription::reset() {
  if (signal_ != nullptr) signal_->listeners_.erase(it_);
  signal_ = nullptr;
}

void ShutdownSignal::trigger() {
  if (triggered_) return;
  triggered_ = true;
  for (auto& listener : listeners_) listener();
}

ShutdownSignal::Subscription ShutdownSignal::subscribe(std::function<void()> on_trigger) {
  if (triggered_) on_trigger();
  listeners_.push_back(std::move(on_trigger));
  return Subscription(this, std::prev(listeners_.end()));
}

namespace detail {
namespace {

using Kind = Watchdog::Kind;
using BodyResult = base::Result<BodyChunk, BodyError>;

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr size_t kMaxLingerBytes = 1024 * 1024;
// A connection waiting for its next request reads into a buffer this small: most requests fit,
// and an idle keep-alive connection then holds 2 KiB instead of a whole read block (a larger
// head continues into a full block; the block goes back to the per-thread cache, io.h, when
// the exchange ends).
constexpr size_t kIdleReadSize = 2 * 1024;

void bump(std::atomic<uint64_t>& counter) { counter.fetch_add(1, std::memory_order_relaxed); }

bool is_disconnect(const net::error_code& ec) {
  return ec == net::asio::error::eof || ec == net::asio::error::connection_reset ||
         ec == net::asio::error::broken_pipe;
}

// Absolute-form "http://host:port/p?q": the scheme and the path part ("/" when empty).
void split_absolute(std::string_view target, std::string& scheme, std::string& path) {
  const size_t colon = target.find("://");
  if (colon == std::string_view::npos) {
    path = std::string(target);
    return;
  }
  const std::string s = base::to_lower(target.substr(0, colon));
  if (s == "http" || s == "https") scheme = s;
  const std::string_view rest = target.substr(colon + 3);
  const size_t start = rest.find_first_of("/?");
  if (start == std::string_view::npos) {
    path = "/";
  } else if (rest[start] == '?') {
    path = "/" + std::string(rest.substr(start));
  } else {
    path = std::string(rest.substr(start));
  }
}

}  // namespace

// State a request Body shares with the connection. The Body may outlive the connection (a
// service may keep it), so the link is severed (`core` = null) when the exchange ends.
struct InboundBody {
  ServerCore* core = nullptr;
  BodyKind kind = BodyKind::kNone;
  uint64_t remaining = 0;  // kContentLength
  bool expect_continue = false;
  bool continue_sent = false;
  bool done = false;
  bool failed = false;
  bool reading = false;  // a next() is suspended in a socket read right now
  BodyError error = BodyError::kCancelled;
};

class ServerCore {
 public:
  ServerCore(Transport& transport, Service& service, const ServerOptions& options,
             std::shared_ptr<const ConnectionInfo> connection, ServerCounters* counters)
      : transport_(transport),
        service_(service),
        options_(options),
        connection_(std::move(connection)),
        local_counters_(counters != nullptr ? nullptr : std::make_unique<ServerCounters>()),
        counters_(counters != nullptr ? *counters : *local_counters_),
        parser_(options.limits),
        watchdog_(transport.get_executor()),
        write_signal_(transport.get_executor()),
        read_signal_(transport.get_executor()) {}

  net::awaitable<ServerResult> run(std::string initial_bytes);
  void shutdown();
  // RequestBody::next(): the next chunk of the request body, straight from the socket.
  net::awaitable<BodyResult> read_body(InboundBody& body,
                                       std::optional<Clock::time_point> deadline = {});

 private:
  enum class Phase : uint8_t { kHead, kExchange, kLinger };
  enum class HeadOutcome : uint8_t {
    kComplete, kClosed, kIdleTimeout, kHeaderTimeout, kParseError, kShutdown, kIoError
  };
  enum class WriteOutcome : uint8_t { kOk, kInvalid, kBodyFailedEarly, kBodyFailed, kIoError };
  // The parts of a request the response side needs after the Request went to the service.
  struct Exchange {
    Version version = Version::kHttp11;
    bool is_head = false;
    bool keep_alive = false;
    bool upgrade = false;
    bool connect = false;
  };
  // What the written response means for the connection.
  struct Outcome {
    bool persistent = false;  // another request may follow
    bool tunnel = false;      // 101 / 2xx to CONNECT: the stream is handed back
  };

  net::awaitable<ServerResult> serve();
  net::awaitable<HeadOutcome> read_head(RequestHead& head, size_t& consumed, ParseError& error);
  Request make_request(const RequestHead& head);
  net::awaitable<WriteOutcome> write_response(Response& response, const Exchange& exchange,
                                              Outcome& outcome);
  net::awaitable<bool> write_all(std::span<const net::asio::const_buffer> buffers);
  net::awaitable<void> respond_error(int status, std::string_view detail);
  net::awaitable<BodyResult> read_body_unlocked(InboundBody& body,
                                                std::optional<Clock::time_point> deadline);
  net::awaitable<bool> settle_body(ServerClose& reason);
  net::awaitable<ServerResult> finish(ServerClose reason, bool linger);
  net::awaitable<void> wait_for_body_reader();
  void detach_body();
  void close_transport();
  void on_deadline(Kind kind);
  bool body_pending() const { return body_ && !body_->done && !body_->failed; }
  uint64_t connection_id() const { return connection_ ? connection_->id : 0; }

  Transport& transport_;
  Service& service_;
  const ServerOptions options_;
  std::shared_ptr<const ConnectionInfo> connection_;
  // Only without shared counters. Allocated (like decoder_) only when needed: every idle
  // keep-alive connection carries this object (3.9 KB before; docs/performance.md).
  std::unique_ptr<ServerCounters> local_counters_;
  ServerCounters& counters_;
  ReadBuffer buffer_;
  RequestParser parser_;
  std::unique_ptr<ChunkedDecoder> decoder_;  // created by the first chunked request body
  Watchdog watchdog_;
  Signal write_signal_;  // wakes the response writer waiting for a 100 Continue write
  Signal read_signal_;   // wakes the connection waiting for a body read to finish
  std::shared_ptr<InboundBody> body_;
  Phase phase_ = Phase::kHead;
  uint64_t requests_ = 0;
  bool shutdown_ = false;
  bool waiting_idle_ = false;      // reading, and no byte of the next request has arrived
  bool writing_ = false;           // a 100 Continue is being written
  bool response_started_ = false;  // the final response head is going out: no more 100s
  bool must_close_ = false;        // framing is lost (bad body) or close was decided
  bool closing_ = false;           // we closed the transport on purpose
};

namespace {

class RequestBody final : public Body {
 public:
  RequestBody(std::shared_ptr<InboundBody> state, std::optional<uint64_t> size_hint)
      : state_(std::move(state)), size_hint_(size_hint) {}

  net::awaitable<BodyResult> next() override {
    std::shared_ptr<InboundBody> state = state_;
    if (state->core == nullptr) {
      if (state->done) co_return BodyChunk{"", true, {}};
      co_return base::unexpected(state->failed ? state->error : BodyError::kCancelled);
    }
    co_return co_await state->core->read_body(*state);
  }
  std::optional<uint64_t> size_hint() const override { return size_hint_; }

 private:
  std::shared_ptr<InboundBody> state_;
  std::optional<uint64_t> size_hint_;
};

}  // namespace

void ServerCore::shutdown() {
  shutdown_ = true;
  // An idle connection has nothing in flight: wake its read so it closes now.
  if (waiting_idle_) transport_.cancel();
}

void ServerCore::on_deadline(Kind kind) {
  if (kind == Kind::kRead && phase_ == Phase::kHead) {
    // Only cancel: a 408 still has to go out on this connection.
    transport_.cancel();
    return;
  }
  if (kind == Kind::kWrite) bump(counters_.write_timeouts_total);
  close_transport();
}

void ServerCore::close_transport() {
  closing_ = true;
  transport_.close();
}

net::awaitable<ServerResult> ServerCore::run(std::string initial_bytes) {
  using namespace net::asio::experimental::awaitable_operators;
  bump(counters_.connections_total);
  buffer_.append(initial_bytes);
  auto result = co_await (serve() || watchdog_.run([this](Kind k) { on_deadline(k); }));
  watchdog_.stop();
  if (auto* r = std::get_if<0>(&result)) co_return std::move(*r);
  co_return ServerResult{ServerClose::kIoError, requests_, {}, {}};
}

net::awaitable<ServerResult> ServerCore::serve() {
  while (true) {
    // 1. The next request head, under the idle / header deadlines.
    RequestHead head;
    size_t consumed = 0;
    ParseError error = ParseError::kInvalidRequestLine;
    switch (co_await read_head(head, consumed, error)) {
      case HeadOutcome::kComplete:
        break;
      case HeadOutcome::kParseError:
        TRELLIS_LOG_DEBUG("[C{}] h1 request rejected: {} ({})", connection_id(), to_string(error),
                          http_status(error));
        bump(counters_.rejected[static_cast<size_t>(error)]);
        co_await respond_error(http_status(error), to_string(error));
        co_return co_await finish(ServerClose::kParseError, true);
      case HeadOutcome::kHeaderTimeout:
        TRELLIS_LOG_DEBUG("[C{}] h1 request head not complete in time: 408", connection_id());
        bump(counters_.rejected[static_cast<size_t>(ParseError::kHeaderReadTimeout)]);
        co_await respond_error(http_status(ParseError::kHeaderReadTimeout),
                               to_string(ParseError::kHeaderReadTimeout));
        co_return co_await finish(ServerClose::kHeaderTimeout, true);
      case HeadOutcome::kIdleTimeout:
        bump(counters_.idle_timeouts_total);
        co_return co_await finish(ServerClose::kIdleTimeout, false);
      case HeadOutcome::kShutdown:
        bump(counters_.shutdown_closes_total);
        co_return co_await finish(ServerClose::kShutdown, false);
      case HeadOutcome::kClosed:
        co_return co_await finish(ServerClose::kClientClosed, false);
      case HeadOutcome::kIoError:
        co_return co_await finish(ServerClose::kIoError, false);
    }

    // 2. The Request. Its strings are copied out of the buffer before the head is consumed.
    ++requests_;
    bump(counters_.requests_total);
    Exchange exchange;
    exchange.version = head.version;
    exchange.is_head = head.method == "HEAD";
    exchange.keep_alive = head.info.keep_alive;
    exchange.upgrade = head.info.upgrade;
    exchange.connect = head.info.connect;
    phase_ = Phase::kExchange;
    response_started_ = false;
    must_close_ = false;
    Request request = make_request(head);
    buffer_.consume(consumed);

    // 3. The service, then the response.
    Response response = co_await service_.call(std::move(request));
    Outcome outcome;
    const WriteOutcome written = co_await write_response(response, exchange, outcome);
    switch (written) {
      case WriteOutcome::kOk:
        break;
      case WriteOutcome::kInvalid:
      case WriteOutcome::kBodyFailedEarly: {
        TRELLIS_LOG_DEBUG("[C{}][S{}] h1 response not writable: 502", connection_id(), requests_);
        // Nothing was written yet, so the client can still get a proper answer.
        bump(written == WriteOutcome::kInvalid ? counters_.invalid_responses_total
                                               : counters_.response_body_errors_total);
        response.body.reset();
        const std::string_view detail =
            written == WriteOutcome::kInvalid ? "invalid_response" : "response_body_error";
        co_await respond_error(502, detail);
        co_return co_await finish(ServerClose::kResponseError, true);
      }
      case WriteOutcome::kBodyFailed:
        response.body.reset();
        co_return co_await finish(ServerClose::kResponseError, false);
      case WriteOutcome::kIoError:
        response.body.reset();
        co_return co_await finish(ServerClose::kIoError, false);
    }
    bump(counters_.responses_total);

    // 4. What happens to the connection next.
    ServerClose reason = ServerClose::kNotPersistent;
    const bool settled = co_await settle_body(reason);
    if (outcome.tunnel && settled) {
      detach_body();
      bump(counters_.tunnels_total);
      ServerResult result{ServerClose::kTunnel, requests_, buffer_.take_all(), {}};
      result.tunnel_response = std::move(response);
      co_return result;
    }
    response.body.reset();
    if (!settled || !outcome.persistent) {
      if (settled && shutdown_) {
        reason = ServerClose::kShutdown;
        bump(counters_.shutdown_closes_total);
      }
      co_return co_await finish(reason, true);
    }
    detach_body();
    buffer_.shrink_if_idle(kIdleReadSize);
  }
}

net::awaitable<ServerCore::HeadOutcome> ServerCore::read_head(RequestHead& head,
                                                              size_t& consumed,
                                                              ParseError& error) {
  phase_ = Phase::kHead;
  parser_.reset();
  const bool first = requests_ == 0;
  bool started = !buffer_.empty();
  // The first request's clock starts with the connection (a client that connects and sends
  // nothing is the cheapest slowloris); later ones start with their first byte.
  watchdog_.arm(Kind::kRead, first || started ? options_.header_read_timeout
                                              : options_.idle_timeout);
  while (true) {
    if (!buffer_.empty()) {
      const ParseResult r = parser_.parse(buffer_.data(), head);
      if (r.is_complete()) {
        watchdog_.disarm(Kind::kRead);
        consumed = r.consumed();
        co_return HeadOutcome::kComplete;
      }
      if (r.is_error()) {
        watchdog_.disarm(Kind::kRead);
        error = r.error();
        co_return HeadOutcome::kParseError;
      }
    }
    if (shutdown_ && !started) co_return HeadOutcome::kShutdown;
    waiting_idle_ = !started;
    const size_t want = started || !buffer_.empty() ? options_.read_size : kIdleReadSize;
    auto [ec, n] = co_await transport_.read_some(buffer_.prepare(want));
    waiting_idle_ = false;
    if (n > 0) {
      buffer_.commit(n);
      if (!started && !first) watchdog_.arm(Kind::kRead, options_.header_read_timeout);
      started = true;
    }
    if (ec) {
      watchdog_.disarm(Kind::kRead);
      if (watchdog_.expired(Kind::kRead)) {
        co_return started ? HeadOutcome::kHeaderTimeout : HeadOutcome::kIdleTimeout;
      }
      if (shutdown_ && !started) co_return HeadOutcome::kShutdown;
      // EOF in the middle of a head: nobody is waiting for an answer.
      if (is_disconnect(ec)) co_return HeadOutcome::kClosed;
      co_return HeadOutcome::kIoError;
    }
  }
}

Request ServerCore::make_request(const RequestHead& head) {
  Request request;
  {
    http::RequestHead& out = request.head;
    out.method = std::string(head.method);
    out.scheme = "http";
    out.version = head.version == Version::kHttp10 ? http::Version::kHttp10
                                                   : http::Version::kHttp11;
    switch (head.target_form) {
      case TargetForm::kOrigin:
        out.authority = std::string(head.info.host);
        out.path = std::string(head.target);
        break;
      case TargetForm::kAbsolute:
        out.authority = std::string(head.authority);
        split_absolute(head.target, out.scheme, out.path);
        break;
      case TargetForm::kAuthority:  // CONNECT host:port
        out.authority = std::string(head.target);
        break;
      case TargetForm::kAsterisk:
        out.authority = std::string(head.info.host);
        out.path = "*";
        break;
    }
    // end_to_end_fields() drops every hop-by-hop field and every field Connection names (it
    // keeps Upgrade for an upgrade request, which the upstream side needs to re-emit it). It
    // yields views, so each field is copied once, into the model.
    FieldList kept;
    end_to_end_fields(head.fields, head.info, kept);
    out.headers.reserve(kept.size());
    for (const HeaderField& f : kept) {
      if (iequals(f.name, "host")) continue;
      if (iequals(f.name, "te")) {
        // Only "trailers" means anything beyond this hop (and it is all HTTP/2 allows).
        if (list_contains_token(f.value, "trailers")) out.headers.add("te", "trailers");
        continue;
      }
      // The expectation is met here: 100 Continue goes out when the service reads the body.
      if (head.info.expect_continue && iequals(f.name, "expect")) continue;
      out.headers.add(f.name, f.value);
    }
  }
  request.connection = connection_;
  request.stream_id = static_cast<uint32_t>(requests_);

  const BodyFraming& framing = head.info.body;
  if (framing.kind == BodyKind::kNone ||
      (framing.kind == BodyKind::kContentLength && framing.length == 0)) {
    request.body = make_empty_body();
    return request;
  }
  body_ = std::make_shared<InboundBody>();
  body_->core = this;
  body_->kind = framing.kind;
  body_->remaining = framing.length;
  body_->expect_continue = head.info.expect_continue;
  if (framing.kind == BodyKind::kChunked) {
    if (decoder_) {
      decoder_->reset();
    } else {
      decoder_ = std::make_unique<ChunkedDecoder>(options_.limits);
    }
  }
  request.body = std::make_unique<RequestBody>(
      body_, framing.kind == BodyKind::kContentLength ? std::optional(framing.length)
                                                      : std::nullopt);
  return request;
}

net::awaitable<BodyResult> ServerCore::read_body(InboundBody& body,
                                                 std::optional<Clock::time_point> deadline) {
  if (body.done) co_return BodyChunk{"", true, {}};
  if (body.failed) co_return base::unexpected(body.error);
  // Concurrent next() calls on one body are a caller bug; refuse rather than corrupt framing.
  if (body.reading) co_return base::unexpected(BodyError::kCancelled);
  body.reading = true;
  BodyResult result = co_await read_body_unlocked(body, deadline);
  body.reading = false;
  if (!result) {
    body.failed = true;
    body.error = result.error();
    must_close_ = true;
  }
  read_signal_.notify();
  co_return result;
}

net::awaitable<BodyResult> ServerCore::read_body_unlocked(
    InboundBody& body, std::optional<Clock::time_point> deadline) {
  if (body.expect_continue && !body.continue_sent) {
    body.continue_sent = true;
    // RFC 9110 §10.1.1: once the final response is on its way, 100 Continue is pointless.
    if (!response_started_) {
      writing_ = true;
      const net::asio::const_buffer b = net::asio::buffer(kContinue.data(), kContinue.size());
      const bool ok = co_await write_all(std::span(&b, 1));
      writing_ = false;
      write_signal_.notify();
      if (!ok) {
        co_return base::unexpected(watchdog_.expired(Kind::kWrite) ? BodyError::kTimeout
                                                                   : BodyError::kPeerReset);
      }
      bump(counters_.continues_sent_total);
    }
  }

  std::string out;
  while (true) {
    if (!buffer_.empty()) {
      if (body.kind == BodyKind::kContentLength) {
        const size_t n = static_cast<size_t>(
            std::min<uint64_t>({body.remaining, buffer_.size(), options_.max_body_chunk}));
        out.assign(buffer_.data().substr(0, n));
        buffer_.consume(n);
        body.remaining -= n;
        body.done = body.remaining == 0;
        co_return BodyChunk{std::move(out), body.done, {}};
      }
      // Chunked: gather data events until the buffer runs dry or the chunk is big enough.
      while (!buffer_.empty()) {
        const ChunkEvent ev = decoder_->decode(buffer_.data());
        switch (ev.kind) {
          case ChunkEvent::Kind::kData:
            out.append(ev.data);
            buffer_.consume(ev.consumed);
            if (out.size() >= options_.max_body_chunk) {
              co_return BodyChunk{std::move(out), false, {}};
            }
            break;
          case ChunkEvent::Kind::kNeedMore:
            buffer_.consume(ev.consumed);
            break;
          case ChunkEvent::Kind::kDone: {
            buffer_.consume(ev.consumed);
            body.done = true;
            co_return BodyChunk{std::move(out), true, to_headers(decoder_->trailers())};
          }
          case ChunkEvent::Kind::kError:
            bump(counters_.rejected[static_cast<size_t>(ev.error)]);
            bump(counters_.body_errors_total);
            co_return base::unexpected(BodyError::kMalformed);
        }
      }
      if (!out.empty()) co_return BodyChunk{std::move(out), false, {}};
    }
    if (deadline) {
      watchdog_.arm_at(Kind::kRead, *deadline);
    } else {
      watchdog_.arm(Kind::kRead, options_.body_read_timeout);
    }
    auto [ec, n] = co_await transport_.read_some(buffer_.prepare(options_.read_size));
    watchdog_.disarm(Kind::kRead);
    if (n > 0) buffer_.commit(n);
    if (ec) {
      if (watchdog_.expired(Kind::kRead)) {
        bump(counters_.body_read_timeouts_total);
        co_return base::unexpected(BodyError::kTimeout);
      }
      if (closing_) co_return base::unexpected(BodyError::kCancelled);
      bump(counters_.body_errors_total);
      co_return base::unexpected(BodyError::kPeerReset);
    }
  }
}

net::awaitable<bool> ServerCore::write_all(std::span<const net::asio::const_buffer> buffers) {
  watchdog_.arm(Kind::kWrite, options_.write_timeout);
  auto [ec, n] = co_await transport_.write(buffers);
  watchdog_.disarm(Kind::kWrite);
  co_return !ec;
}

net::awaitable<ServerCore::WriteOutcome> ServerCore::write_response(Response& response,
                                                                    const Exchange& exchange,
                                                                    Outcome& outcome) {
  const int status = response.head.status;
  const bool tunnel = (status == 101 && exchange.upgrade) ||
                      (exchange.connect && status >= 200 && status < 300);
  // A 1xx other than an accepted upgrade cannot be the final response.
  if (status < 100 || status > 599 || (status < 200 && !tunnel)) co_return WriteOutcome::kInvalid;
  if (status == 101 && !response.head.headers.contains("upgrade")) co_return WriteOutcome::kInvalid;

  Body* body = response.body.get();
  const std::optional<uint64_t> hint =
      body != nullptr ? body->size_hint() : std::optional<uint64_t>(0);
  const bool no_body = tunnel || exchange.is_head || status == 204 || status == 304;

  ResponseModel model;
  model.version = exchange.version;
  model.status = status;
  model.reason = response.head.reason.empty() ? std::string(reason_phrase(status))
                                              : response.head.reason;
  model.fields = to_fields(response.head.headers);

  OutboundFraming framing;
  framing.tunnel = tunnel;
  if (no_body) {
    // HEAD and 304 announce the length the full response would have had.
    if (!tunnel && (exchange.is_head || status == 304)) framing.declared_length = hint;
  } else if (body == nullptr || body->is_empty()) {
    framing.body = BodyFraming::content_length(0);
  } else if (hint) {
    framing.body = BodyFraming::content_length(*hint);
  } else if (exchange.version == Version::kHttp11) {
    framing.body = BodyFraming::chunked();
  } else {
    framing.body = BodyFraming::close_delimited();  // HTTP/1.0 has no chunked coding
  }

  bool keep = exchange.keep_alive && !shutdown_ && !must_close_;
  // A refused CONNECT or upgrade: the client may already be sending tunnel bytes.
  if ((exchange.connect || exchange.upgrade) && !tunnel) keep = false;
  if (body_pending()) {
    // Expect: 100-continue and no 100 sent: the client may never send the body, so it cannot
    // be drained. A declared body beyond the drain budget will not be read either.
    if (body_->expect_continue && !body_->continue_sent) keep = false;
    if (body_->kind == BodyKind::kContentLength && body_->remaining > options_.max_drain_bytes) {
      keep = false;
    }
  }
  framing.keep_alive = keep;
  outcome.tunnel = tunnel;
  outcome.persistent = !tunnel && keep && framing.body.kind != BodyKind::kCloseDelimited;
  must_close_ = must_close_ || !outcome.persistent;

  std::string head;
  if (!serialize_response(model, framing, head)) co_return WriteOutcome::kInvalid;

  const BodyKind kind = framing.body.kind;
  const bool has_content =
      !(kind == BodyKind::kNone || (kind == BodyKind::kContentLength && framing.body.length == 0));
  // The head goes out with the first chunk: one write for the usual small response. Until that
  // chunk exists nothing is committed, so a body that fails at once still gets a 502.
  BodyChunk chunk{"", true, {}};
  if (has_content) {
    auto first = co_await body->next();
    if (!first) co_return WriteOutcome::kBodyFailedEarly;
    chunk = std::move(*first);
  }
  while (writing_) co_await write_signal_.wait_until();
  response_started_ = true;

  std::string pending_head = std::move(head);
  uint64_t sent = 0;
  const uint64_t length = framing.body.length;
  while (true) {
    FrameBuffers frame;
    frame.add(pending_head);
    std::string_view data = has_content ? std::string_view(chunk.data) : std::string_view();
    bool oversize = false;
    char chunk_header[kMaxChunkHeaderSize];
    std::string last_chunk;
    switch (kind) {
      case BodyKind::kContentLength:
        if (data.size() > length - sent) {
          data = data.substr(0, length - sent);
          oversize = true;
        }
        frame.add(data);
        break;
      case BodyKind::kChunked:
        if (!data.empty()) {
          frame.add({chunk_header, format_chunk_header(data.size(), chunk_header)});
          frame.add(data);
          frame.add("\r\n");
        }
        if (chunk.end_of_stream) {
          std::vector<Field> trailers;
          counters_.dropped_trailers_total.fetch_add(filter_trailers(chunk.trailers, trailers),
                                                     std::memory_order_relaxed);
          if (!append_last_chunk(last_chunk, trailers)) last_chunk = "0\r\n\r\n";
          frame.add(last_chunk);
        }
        break;
      case BodyKind::kCloseDelimited:
        frame.add(data);
        break;
      case BodyKind::kNone:
        break;
    }
    if (frame.count > 0 && !co_await write_all(frame.span())) co_return WriteOutcome::kIoError;
    pending_head.clear();
    sent += data.size();
    if (oversize) {
      bump(counters_.response_body_errors_total);
      co_return WriteOutcome::kBodyFailed;
    }
    if (!has_content || chunk.end_of_stream) break;
    auto next = co_await body->next();
    if (!next) {
      // Mid-stream: closing without the last chunk (or short of Content-Length) is how the
      // client learns the response is incomplete.
      bump(counters_.response_body_errors_total);
      co_return WriteOutcome::kBodyFailed;
    }
    chunk = std::move(*next);
  }
  if (kind == BodyKind::kContentLength && sent != length) {
    bump(counters_.response_body_errors_total);
    co_return WriteOutcome::kBodyFailed;
  }
  co_return WriteOutcome::kOk;
}

net::awaitable<void> ServerCore::respond_error(int status, std::string_view detail) {
  if (!transport_.is_open()) co_return;
  ResponseModel model;
  model.status = status;
  model.reason = std::string(reason_phrase(status));
  model.fields.push_back({"content-type", "text/plain; charset=utf-8"});
  std::string body = std::string(detail) + "\n";
  OutboundFraming framing;
  framing.body = BodyFraming::content_length(body.size());
  framing.keep_alive = false;
  std::string out;
  if (!serialize_response(model, framing, out)) co_return;
  out += body;
  while (writing_) co_await write_signal_.wait_until();
  response_started_ = true;
  const net::asio::const_buffer b = net::asio::buffer(out);
  co_await write_all(std::span(&b, 1));
}

net::awaitable<bool> ServerCore::settle_body(ServerClose& reason) {
  if (!body_ || body_->done) co_return true;
  if (body_->failed) {
    reason = ServerClose::kBodyError;
    co_return false;
  }
  if (body_->reading) {
    // Someone (the service, or an upstream pump it started) is inside a read right now: the
    // socket cannot be taken back mid-read, so the connection ends.
    reason = ServerClose::kUndrained;
    bump(counters_.undrained_closes_total);
    co_return false;
  }
  if (body_->expect_continue && !body_->continue_sent) {
    reason = ServerClose::kNotPersistent;  // announced with Connection: close
    co_return false;
  }
  if (body_->kind == BodyKind::kContentLength && body_->remaining > options_.max_drain_bytes) {
    reason = ServerClose::kUndrained;
    bump(counters_.undrained_closes_total);
    co_return false;
  }
  const auto deadline = Clock::now() + options_.drain_timeout;
  uint64_t drained = 0;
  while (!body_->done) {
    auto chunk = co_await read_body(*body_, deadline);
    if (!chunk) {
      reason = ServerClose::kBodyError;
      co_return false;
    }
    drained += chunk->data.size();
    if (drained > options_.max_drain_bytes) {
      reason = ServerClose::kUndrained;
      bump(counters_.undrained_closes_total);
      co_return false;
    }
  }
  bump(counters_.bodies_drained_total);
  co_return true;
}

net::awaitable<void> ServerCore::wait_for_body_reader() {
  if (!body_ || !body_->reading) co_return;
  close_transport();  // the read fails promptly
  while (body_->reading) co_await read_signal_.wait_until();
}

void ServerCore::detach_body() {
  if (!body_) return;
  body_->core = nullptr;
  body_.reset();
}

net::awaitable<ServerResult> ServerCore::finish(ServerClose reason, bool linger) {
  co_await wait_for_body_reader();
  detach_body();
  if (linger && transport_.is_open()) {
    // Lingering close: FIN first, then discard what the client still sends until it closes
    // too, so our unread input never turns into a RST that wipes the response it has not
    // read yet.
    phase_ = Phase::kLinger;
    transport_.shutdown_send();
    watchdog_.arm(Kind::kRead, options_.linger_timeout);
    size_t discarded = 0;
    buffer_.consume(buffer_.size());
    while (discarded < kMaxLingerBytes) {
      auto [ec, n] = co_await transport_.read_some(buffer_.prepare(options_.read_size));
      if (ec) break;
      discarded += n;
    }
    watchdog_.disarm(Kind::kRead);
  }
  close_transport();
  co_return ServerResult{reason, requests_, {}, {}};
}

}  // namespace detail

// === ServerConnection ===

ServerConnection::ServerConnection(Transport& transport, Service& service,
                                   const ServerOptions& options,
                                   std::shared_ptr<const ConnectionInfo> connection,
                                   ServerCounters* counters)
    : core_(std::make_unique<detail::ServerCore>(transport, service, options,
                                                 std::move(connection), counters)) {}

ServerConnection::~ServerConnection() = default;

net::awaitable<ServerResult> ServerConnection::run(std::string initial_bytes) {
  return core_->run(std::move(initial_bytes));
}

void ServerConnection::shutdown() { core_->shutdown(); }

net::awaitable<ServerResult> serve_h1(Transport& transport, std::string initial_bytes,
                                      Service& service, const ServerOptions& options,
                                      std::shared_ptr<const ConnectionInfo> connection,
                                      ServerCounters* counters, ShutdownSignal* shutdown) {
  ServerConnection server(transport, service, options, std::move(connection), counters);
  ShutdownSignal::Subscription subscription;
  if (shutdown != nullptr) subscription = shutdown->subscribe([&server] { server.shutdown(); });
  co_return co_await server.run(std::move(initial_bytes));
}

}  // namespace trellis::http::h1
