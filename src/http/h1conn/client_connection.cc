#include "http/h1conn/client_connection.h"

#include <algorithm>

#include "http/h1/chars.h"
#include "http/h1/chunked.h"
#include "http/h1/parser.h"
#include "http/h1/serializer.h"
#include "http/h1conn/io.h"

// GCC 12 at -O2 flags Asio's awaitable frame operator delete as "mismatched" once it inlines
// the frame allocation (a known false positive with coroutines); see server_connection.cc.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace trellis::http::h1 {

const char* to_string(ClientError::Kind kind) {
  switch (kind) {
    case ClientError::Kind::kConnect: return "connect";
    case ClientError::Kind::kUnavailable: return "unavailable";
    case ClientError::Kind::kInvalidRequest: return "invalid_request";
    case ClientError::Kind::kClosedBeforeResponse: return "closed_before_response";
    case ClientError::Kind::kProtocol: return "protocol";
    case ClientError::Kind::kTimeout: return "timeout";
    case ClientError::Kind::kRequestBody: return "request_body";
  }
  return "unknown";
}

namespace detail {
namespace {

using Kind = Watchdog::Kind;
using BodyResult = base::Result<BodyChunk, BodyError>;
using SendResult = base::Result<Response, ClientError>;

// The response's end-to-end fields into the model, copied once (views first, not to_model()'s
// strings). Not a coroutine, so the inline field list lives on the stack, not in a frame.
void copy_response_fields(const ResponseHead& head, http::Headers& out) {
  FieldList kept;
  end_to_end_fields(head.fields, head.info, kept);
  out.reserve(kept.size());
  for (const HeaderField& f : kept) {
    if (iequals(f.name, "te")) continue;  // meaningless on a response
    out.add(f.name, f.value);
  }
}

// A response without content (HEAD, 204, 304, Content-Length: 0, tunnels). For HEAD and 304 the
// size hint is the length the full response would have had, so a server forwarding it can
// announce it.
class NoBody final : public Body {
 public:
  explicit NoBody(std::optional<uint64_t> declared) : declared_(declared) {}
  net::awaitable<BodyResult> next() override { co_return BodyChunk{"", true, {}}; }
  std::optional<uint64_t> size_hint() const override { return declared_; }
  bool is_empty() const override { return true; }

 private:
  std::optional<uint64_t> declared_;
};

// Methods whose empty body is still announced (RFC 9110 §8.6: a user agent SHOULD send
// Content-Length: 0 when a body is expected but empty).
bool expects_body(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH";
}

ClientError make_error(ClientError::Kind kind, bool request_sent) {
  ClientError e;
  e.kind = kind;
  e.request_sent = request_sent;
  return e;
}

}  // namespace

class ClientCore : public std::enable_shared_from_this<ClientCore> {
 public:
  ClientCore(std::unique_ptr<Transport> transport, ClientOptions options)
      : executor_(transport->get_executor()),
        transport_(std::move(transport)),
        options_(std::move(options)),
        parser_(options_.limits),
        decoder_(options_.limits),
        watchdog_(executor_),
        continue_signal_(executor_) {}

  void start() { net::asio::co_spawn(executor_, watch(shared_from_this()), net::asio::detached); }

  net::awaitable<SendResult> send(const http::RequestHead& head, BodyPtr body);
  net::awaitable<BodyResult> read_body(uint64_t exchange);
  // The response body was dropped before its end: the connection cannot be reused.
  void abandon(uint64_t exchange) {
    if (exchange == exchange_ && state_ == State::kBusy && !response_done_) close();
  }
  void close();
  std::optional<ClientConnection::Tunnel> take_tunnel();

  bool is_idle() const { return state_ == State::kIdle && transport_ && transport_->is_open(); }
  bool is_open() const {
    return state_ != State::kClosed && transport_ && transport_->is_open();
  }
  bool is_upgraded() const { return state_ == State::kUpgraded; }
  bool probe_idle() { return is_idle() && transport_->probe_idle(); }
  uint64_t requests_sent() const { return exchange_; }
  void set_on_close(std::function<void()> on_close) { on_close_ = std::move(on_close); }

 private:
  enum class State : uint8_t { kIdle, kBusy, kUpgraded, kClosed };

  static net::awaitable<void> watch(std::shared_ptr<ClientCore> self) {
    co_await self->watchdog_.run([raw = self.get()](Kind) {
      // Any deadline ends the connection; the pending operation fails and reports kTimeout.
      if (raw->transport_) raw->transport_->close();
    });
  }
  static net::awaitable<void> write_request(std::shared_ptr<ClientCore> self, uint64_t exchange,
                                            std::string head, BodyPtr body, BodyFraming framing,
                                            bool expect_continue) {
    co_await self->pump_request(exchange, std::move(head), *body, framing, expect_continue);
  }

  net::awaitable<void> pump_request(uint64_t exchange, std::string head, Body& body,
                                    BodyFraming framing, bool expect_continue);
  net::awaitable<bool> write_all(std::span<const net::asio::const_buffer> buffers);
  net::awaitable<BodyResult> read_body_unlocked();
  void finish_writer(bool ok);
  void maybe_complete();
  SendResult fail(ClientError error);
  bool current(uint64_t exchange) const { return exchange == exchange_ && state_ == State::kBusy; }

  net::asio::any_io_executor executor_;
  std::unique_ptr<Transport> transport_;
  const ClientOptions options_;
  ReadBuffer buffer_;
  ResponseParser parser_;
  ChunkedDecoder decoder_;
  Watchdog watchdog_;
  Signal continue_signal_;  // wakes the writer waiting for 100 Continue
  std::function<void()> on_close_;
  State state_ = State::kIdle;
  uint64_t exchange_ = 0;

  // The exchange in progress.
  bool writer_running_ = false;
  bool writer_ok_ = false;
  bool request_sent_ = false;
  bool got_continue_ = false;
  bool final_head_ = false;
  bool response_done_ = false;
  bool keep_alive_ = false;
  bool must_close_ = false;
  bool reading_ = false;
  std::optional<BodyError> request_body_error_;
  BodyKind body_kind_ = BodyKind::kNone;
  uint64_t remaining_ = 0;
};

namespace {

class ResponseBody final : public Body {
 public:
  ResponseBody(std::shared_ptr<ClientCore> core, uint64_t exchange,
               std::optional<uint64_t> size_hint)
      : core_(std::move(core)), exchange_(exchange), size_hint_(size_hint) {}
  ~ResponseBody() override {
    if (!done_) core_->abandon(exchange_);
  }

  net::awaitable<BodyResult> next() override {
    auto chunk = co_await core_->read_body(exchange_);
    done_ = !chunk || chunk->end_of_stream;
    co_return chunk;
  }
  std::optional<uint64_t> size_hint() const override { return size_hint_; }

 private:
  std::shared_ptr<ClientCore> core_;
  uint64_t exchange_;
  std::optional<uint64_t> size_hint_;
  bool done_ = false;
};

}  // namespace

void ClientCore::close() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  if (transport_) transport_->close();
  watchdog_.stop();
  continue_signal_.notify();
  if (on_close_) std::exchange(on_close_, nullptr)();
}

std::optional<ClientConnection::Tunnel> ClientCore::take_tunnel() {
  if (state_ != State::kUpgraded || !transport_) return std::nullopt;
  ClientConnection::Tunnel tunnel{std::move(transport_), buffer_.take_all()};
  state_ = State::kClosed;
  watchdog_.stop();
  if (on_close_) std::exchange(on_close_, nullptr)();
  return tunnel;
}

SendResult ClientCore::fail(ClientError error) {
  close();
  return base::unexpected(std::move(error));
}

net::awaitable<bool> ClientCore::write_all(std::span<const net::asio::const_buffer> buffers) {
  if (!transport_) co_return false;
  watchdog_.arm(Kind::kWrite, options_.write_timeout);
  auto [ec, n] = co_await transport_->write(buffers);
  watchdog_.disarm(Kind::kWrite);
  if (n > 0) request_sent_ = true;
  co_return !ec;
}

void ClientCore::finish_writer(bool ok) {
  writer_running_ = false;
  writer_ok_ = ok;
  if (!ok) must_close_ = true;
  // The request is out (or will never be): from now on the server owes us a response.
  if (state_ == State::kBusy && !final_head_) {
    watchdog_.arm(Kind::kRead, options_.response_timeout);
  }
  maybe_complete();
}

void ClientCore::maybe_complete() {
  if (state_ != State::kBusy || !response_done_ || writer_running_) return;
  watchdog_.disarm(Kind::kRead);
  watchdog_.disarm(Kind::kWrite);
  // Leftover bytes after a complete response are not ours to interpret (HTTP/1 servers do not
  // volunteer responses): reusing the connection would pair them with the next request.
  if (keep_alive_ && writer_ok_ && !must_close_ && buffer_.empty() && transport_ &&
      transport_->is_open()) {
    state_ = State::kIdle;
    // Pooled connections hold no read buffer; the next response takes one from the per-thread
    // cache (io.h).
    buffer_.release_if_empty();
  } else {
    close();
  }
}

net::awaitable<SendResult> ClientCore::send(const http::RequestHead& head, BodyPtr body) {
  auto self = shared_from_this();  // the handle may go away while we are suspended
  if (state_ != State::kIdle || !transport_ || !transport_->is_open()) {
    co_return base::unexpected(make_error(ClientError::Kind::kUnavailable, false));
  }
  if (!buffer_.empty()) {
    // The server sent something while the connection was idle: it cannot be trusted.
    co_return fail(make_error(ClientError::Kind::kUnavailable, false));
  }

  // --- Serialize the head. The serializer owns framing and drops hop-by-hop fields.
  const bool connect = head.method == "CONNECT";
  const bool upgrade = !connect && head.headers.contains("upgrade");
  RequestModel model;
  model.method = head.method;
  model.target = connect ? head.authority : (head.path.empty() ? "/" : head.path);
  model.fields.reserve(head.headers.size() + 1);
  model.fields.push_back({"Host", head.authority});
  for (const Header& h : head.headers) {
    if (iequals(h.name, "host") || h.name.empty() || h.name.front() == ':') continue;
    model.fields.push_back({h.name, h.value});
  }
  if (!body) body = make_empty_body();
  OutboundFraming framing;
  framing.keep_alive = true;
  framing.tunnel = connect || upgrade;
  if (connect) {
    framing.body = BodyFraming::none();  // bytes after a CONNECT head are tunnel data
  } else if (body->is_empty()) {
    framing.body = expects_body(head.method) ? BodyFraming::content_length(0) : BodyFraming::none();
  } else if (auto n = body->size_hint()) {
    framing.body = BodyFraming::content_length(*n);
  } else {
    framing.body = BodyFraming::chunked();
  }
  std::string out;
  if (!serialize_request(model, framing, out)) {
    co_return base::unexpected(make_error(ClientError::Kind::kInvalidRequest, false));
  }
  const bool has_body = framing.body.kind == BodyKind::kChunked ||
                        (framing.body.kind == BodyKind::kContentLength && framing.body.length > 0);
  const bool expect_continue = has_body && head.headers.has_token("expect", "100-continue");

  // --- A new exchange.
  state_ = State::kBusy;
  const uint64_t exchange = ++exchange_;
  writer_running_ = true;
  writer_ok_ = false;
  request_sent_ = false;
  got_continue_ = false;
  final_head_ = false;
  response_done_ = false;
  keep_alive_ = false;
  must_close_ = false;
  request_body_error_.reset();
  const ResponseContext context{head.method == "HEAD", connect};
  parser_.reset(context);

  if (has_body) {
    // Full duplex: the body streams from its own coroutine while we wait for the response, so
    // a server that answers early (or streams its answer as it reads) never deadlocks us.
    net::asio::co_spawn(executor_,
                        write_request(self, exchange, std::move(out), std::move(body),
                                      framing.body, expect_continue),
                        net::asio::detached);
  } else {
    const net::asio::const_buffer b = net::asio::buffer(out);
    finish_writer(co_await write_all(std::span(&b, 1)));
  }

  // --- The response head (interim 1xx responses are consumed here).
  ResponseHead response_head;
  size_t consumed = 0;
  bool any_response_byte = !buffer_.empty();
  while (true) {
    if (!buffer_.empty()) {
      const ParseResult r = parser_.parse(buffer_.data(), response_head);
      if (r.is_error()) {
        ClientError e = make_error(ClientError::Kind::kProtocol, request_sent_);
        e.parse_error = r.error();
        co_return fail(std::move(e));
      }
      if (r.is_complete()) {
        if (!response_head.info.interim) {
          consumed = r.consumed();
          break;
        }
        if (response_head.status == 100) got_continue_ = true;
        continue_signal_.notify();
        buffer_.consume(r.consumed());
        parser_.reset(context);
        continue;
      }
    }
    if (!current(exchange) || !transport_) {
      // The writer gave up (body error, write timeout) and closed the connection.
      ClientError e = make_error(ClientError::Kind::kUnavailable, request_sent_);
      if (request_body_error_) {
        e.kind = ClientError::Kind::kRequestBody;
      } else if (watchdog_.expired(Kind::kWrite)) {
        e.kind = ClientError::Kind::kTimeout;
      }
      e.body_error = request_body_error_;
      co_return fail(std::move(e));
    }
    auto [ec, n] = co_await transport_->read_some(buffer_.prepare(options_.read_size));
    if (n > 0) {
      buffer_.commit(n);
      any_response_byte = true;
    }
    if (ec) {
      ClientError e;
      e.request_sent = request_sent_;
      e.io_error = ec;
      if (request_body_error_) {
        e.kind = ClientError::Kind::kRequestBody;
        e.body_error = request_body_error_;
      } else if (watchdog_.expired(Kind::kRead) || watchdog_.expired(Kind::kWrite)) {
        e.kind = ClientError::Kind::kTimeout;
      } else if (!any_response_byte) {
        e.kind = ClientError::Kind::kClosedBeforeResponse;
      } else {
        e.kind = ClientError::Kind::kProtocol;  // cut off inside the head
      }
      co_return fail(std::move(e));
    }
  }
  final_head_ = true;
  continue_signal_.notify();
  watchdog_.disarm(Kind::kRead);

  // --- The Response.
  Response response;
  response.head.status = response_head.status;
  response.head.reason = std::string(response_head.reason);
  response.head.version =
      response_head.version == Version::kHttp10 ? http::Version::kHttp10 : http::Version::kHttp11;
  copy_response_fields(response_head, response.head.headers);
  const MessageInfo info = response_head.info;
  buffer_.consume(consumed);
  keep_alive_ = info.keep_alive;

  if (info.upgrade || info.connect) {
    if (!(info.upgrade ? upgrade : connect)) {
      // A 101 nobody asked for: the server would switch protocols under our feet.
      ClientError e = make_error(ClientError::Kind::kProtocol, request_sent_);
      co_return fail(std::move(e));
    }
    state_ = State::kUpgraded;
    watchdog_.disarm(Kind::kRead);
    watchdog_.disarm(Kind::kWrite);
    response.body = std::make_unique<NoBody>(std::nullopt);
    co_return response;
  }
  // A refused upgrade or CONNECT: nothing after it is trustworthy enough to pool.
  if (upgrade || connect) must_close_ = true;

  body_kind_ = info.body.kind;
  remaining_ = info.body.length;
  if (body_kind_ == BodyKind::kNone ||
      (body_kind_ == BodyKind::kContentLength && remaining_ == 0)) {
    response.body = std::make_unique<NoBody>(
        body_kind_ == BodyKind::kNone ? info.content_length : std::optional<uint64_t>(0));
    response_done_ = true;
    maybe_complete();
    co_return response;
  }
  if (body_kind_ == BodyKind::kChunked) decoder_.reset();
  response.body = std::make_unique<ResponseBody>(
      self, exchange,
      body_kind_ == BodyKind::kContentLength ? std::optional(remaining_) : std::nullopt);
  co_return response;
}

net::awaitable<void> ClientCore::pump_request(uint64_t exchange, std::string head, Body& body,
                                              BodyFraming framing, bool expect_continue) {
  std::string pending = std::move(head);
  if (expect_continue) {
    const net::asio::const_buffer b = net::asio::buffer(pending);
    if (!co_await write_all(std::span(&b, 1))) {
      if (current(exchange)) finish_writer(false);
      co_return;
    }
    pending.clear();
    const auto deadline = Clock::now() + options_.expect_continue_timeout;
    while (current(exchange) && !got_continue_ && !final_head_ && Clock::now() < deadline) {
      co_await continue_signal_.wait_until(deadline);
    }
    if (!current(exchange)) co_return;
    if (final_head_ && !got_continue_) {
      // The server answered without asking for the body (RFC 9110 §10.1.1); not sending it
      // leaves the framing undefined, so the connection is not reused.
      must_close_ = true;
      finish_writer(true);
      co_return;
    }
  }

  uint64_t sent = 0;
  while (true) {
    auto chunk = co_await body.next();
    if (!current(exchange)) co_return;
    if (!chunk) {
      // Abort: the server must not mistake a truncated body for a complete request.
      request_body_error_ = chunk.error();
      finish_writer(false);
      close();
      co_return;
    }
    FrameBuffers frame;
    frame.add(pending);
    std::string_view data = chunk->data;
    char chunk_header[kMaxChunkHeaderSize];
    std::string last_chunk;
    if (framing.kind == BodyKind::kContentLength) {
      if (data.size() > framing.length - sent) {
        request_body_error_ = BodyError::kMalformed;  // longer than it announced
        finish_writer(false);
        close();
        co_return;
      }
      frame.add(data);
    } else {
      if (!data.empty()) {
        frame.add({chunk_header, format_chunk_header(data.size(), chunk_header)});
        frame.add(data);
        frame.add("\r\n");
      }
      if (chunk->end_of_stream) {
        std::vector<Field> trailers;
        filter_trailers(chunk->trailers, trailers);
        if (!append_last_chunk(last_chunk, trailers)) last_chunk = "0\r\n\r\n";
        frame.add(last_chunk);
      }
    }
    if (frame.count > 0) {
      const bool ok = co_await write_all(frame.span());
      if (!current(exchange)) co_return;
      if (!ok) {
        // Keep reading: a server that closes early usually said why in a response.
        finish_writer(false);
        co_return;
      }
    }
    pending.clear();
    sent += data.size();
    if (chunk->end_of_stream) break;
  }
  if (framing.kind == BodyKind::kContentLength && sent != framing.length) {
    request_body_error_ = BodyError::kMalformed;  // shorter than it announced
    finish_writer(false);
    close();
    co_return;
  }
  finish_writer(true);
}

net::awaitable<BodyResult> ClientCore::read_body(uint64_t exchange) {
  auto self = shared_from_this();
  if (exchange != exchange_) co_return base::unexpected(BodyError::kCancelled);
  if (response_done_) co_return BodyChunk{"", true, {}};
  if (state_ != State::kBusy || reading_) co_return base::unexpected(BodyError::kCancelled);
  reading_ = true;
  BodyResult result = co_await read_body_unlocked();
  reading_ = false;
  if (exchange != exchange_) co_return result;
  if (!result) {
    close();
  } else if (result->end_of_stream) {
    response_done_ = true;
    maybe_complete();
  }
  co_return result;
}

net::awaitable<BodyResult> ClientCore::read_body_unlocked() {
  std::string out;
  while (true) {
    if (!buffer_.empty()) {
      switch (body_kind_) {
        case BodyKind::kContentLength: {
          const size_t n = static_cast<size_t>(
              std::min<uint64_t>({remaining_, buffer_.size(), options_.max_body_chunk}));
          out.assign(buffer_.data().substr(0, n));
          buffer_.consume(n);
          remaining_ -= n;
          co_return BodyChunk{std::move(out), remaining_ == 0, {}};
        }
        case BodyKind::kCloseDelimited: {
          const size_t n = std::min(buffer_.size(), options_.max_body_chunk);
          out.assign(buffer_.data().substr(0, n));
          buffer_.consume(n);
          co_return BodyChunk{std::move(out), false, {}};
        }
        case BodyKind::kChunked:
          while (!buffer_.empty()) {
            const ChunkEvent ev = decoder_.decode(buffer_.data());
            if (ev.kind == ChunkEvent::Kind::kError) {
              co_return base::unexpected(BodyError::kMalformed);
            }
            if (ev.kind == ChunkEvent::Kind::kData) out.append(ev.data);
            buffer_.consume(ev.consumed);
            if (ev.kind == ChunkEvent::Kind::kDone) {
              co_return BodyChunk{std::move(out), true, to_headers(decoder_.trailers())};
            }
            if (out.size() >= options_.max_body_chunk) {
              co_return BodyChunk{std::move(out), false, {}};
            }
          }
          if (!out.empty()) co_return BodyChunk{std::move(out), false, {}};
          break;
        case BodyKind::kNone:
          co_return BodyChunk{"", true, {}};
      }
    }
    if (!transport_ || !transport_->is_open()) co_return base::unexpected(BodyError::kCancelled);
    watchdog_.arm(Kind::kRead, options_.body_read_timeout);
    auto [ec, n] = co_await transport_->read_some(buffer_.prepare(options_.read_size));
    watchdog_.disarm(Kind::kRead);
    if (n > 0) buffer_.commit(n);
    if (ec) {
      if (watchdog_.expired(Kind::kRead)) co_return base::unexpected(BodyError::kTimeout);
      if (ec == net::asio::error::eof && body_kind_ == BodyKind::kCloseDelimited) {
        co_return BodyChunk{std::move(out), true, {}};
      }
      if (state_ == State::kClosed) co_return base::unexpected(BodyError::kCancelled);
      co_return base::unexpected(BodyError::kPeerReset);
    }
  }
}

}  // namespace detail

// === ClientConnection ===

ClientConnection::ClientConnection(std::unique_ptr<Transport> transport, ClientOptions options)
    : core_(std::make_shared<detail::ClientCore>(std::move(transport), std::move(options))) {
  core_->start();
}

ClientConnection::~ClientConnection() { core_->close(); }

net::awaitable<base::Result<Response, ClientError>> ClientConnection::send(Request request) {
  co_return co_await core_->send(request.head, std::move(request.body));
}

net::awaitable<base::Result<Response, ClientError>> ClientConnection::send(
    const http::RequestHead& head, BodyPtr body) {
  return core_->send(head, std::move(body));
}

bool ClientConnection::is_idle() const { return core_->is_idle(); }
bool ClientConnection::is_open() const { return core_->is_open(); }
bool ClientConnection::is_upgraded() const { return core_->is_upgraded(); }
bool ClientConnection::probe_idle() { return core_->probe_idle(); }
uint64_t ClientConnection::requests_sent() const { return core_->requests_sent(); }
std::optional<ClientConnection::Tunnel> ClientConnection::take_tunnel() {
  return core_->take_tunnel();
}
void ClientConnection::close() { core_->close(); }
void ClientConnection::set_on_close(std::function<void()> on_close) {
  core_->set_on_close(std::move(on_close));
}

}  // namespace trellis::http::h1
