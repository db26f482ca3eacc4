#include "loadgen/http2_connection.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string_view>

namespace trellis::bench::loadgen {
namespace {

using namespace net::asio::experimental::awaitable_operators;

// Large receive windows: the generator consumes data as it arrives, and flow control on our
// side must never be what limits the target's throughput (h2load does the same).
constexpr int32_t kStreamWindow = 16 << 20;
constexpr int32_t kConnectionWindow = 64 << 20;
constexpr size_t kReadBuffer = 64 * 1024;
constexpr size_t kWriteBatch = 64 * 1024;

std::string_view view(const uint8_t* p, size_t n) {
  return {reinterpret_cast<const char*>(p), n};
}

bool parse_int(std::string_view text, int& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && out >= 0;
}

uint8_t* mutable_bytes(const std::string& s) {
  // nghttp2_nv takes non-const pointers; with the NO_COPY flags it only reads them.
  return reinterpret_cast<uint8_t*>(const_cast<char*>(s.data()));
}

}  // namespace

Http2Connection::Http2Connection(const RunContext& context, uint32_t index, Recorder& recorder,
                                 StartGate& gate)
    : Connection(context, index, recorder, gate),
      wake_timer_(socket_.get_executor()),
      watchdog_timer_(socket_.get_executor()),
      read_buffer_(kReadBuffer) {
  // The header list outlives every session (it belongs to the run), so nghttp2 need not copy.
  for (const Header& h : context_.http2_headers) {
    nva_.push_back(nghttp2_nv{mutable_bytes(h.name), mutable_bytes(h.value), h.name.size(),
                              h.value.size(),
                              NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE});
  }
}

Http2Connection::~Http2Connection() {
  session_.reset();  // before the streams its user data points to
}

net::awaitable<void> Http2Connection::run_connection() {
  co_await connect_and_wait_for_start();
  while (true) {
    const Decision decision = pacer_->next(Clock::now());
    if (decision.kind == Decision::Kind::kDone) break;  // nothing is in flight between sessions
    if (!socket_.is_open()) {
      if (!co_await connect()) co_await backoff();
      continue;
    }
    progress_ = false;
    co_await session_loop();
    teardown();
    // A target that accepts and then drops every connection must not make us spin.
    if (!progress_) co_await backoff();
  }
}

bool Http2Connection::start_session() {
  nghttp2_session_callbacks* callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) return false;
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &on_frame_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &on_stream_close);
  nghttp2_session* session = nullptr;
  const int rv = nghttp2_session_client_new(&session, callbacks, this);
  nghttp2_session_callbacks_del(callbacks);
  if (rv != 0) return false;
  session_.reset(session);
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow},
  };
  if (nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, settings, std::size(settings)) != 0) {
    return false;
  }
  return nghttp2_session_set_local_window_size(session, NGHTTP2_FLAG_NONE, 0,
                                               kConnectionWindow) == 0;
}

net::awaitable<void> Http2Connection::session_loop() {
  dead_ = false;
  goaway_ = false;
  wake_pending_ = false;
  dead_outcome_ = Outcome::kIo;
  if (!start_session()) {
    close_connection(Outcome::kProtocol);
    co_return;
  }
  co_await (writer() && reader() && watchdog());
}

void Http2Connection::teardown() {
  session_.reset();  // no callbacks from here on
  const TimePoint now = Clock::now();
  for (auto& [id, stream] : streams_) finish_stream(*stream, dead_outcome_, now);
  streams_.clear();
  deadlines_.clear();
  close();
}

net::awaitable<void> Http2Connection::writer() {
  while (!dead_) {
    const TimePoint now = Clock::now();
    Decision decision{Decision::Kind::kWaitForCompletion, {}};
    if (!goaway_) {
      while ((decision = pacer_->next(now)).kind == Decision::Kind::kSend) {
        submit(pacer_->take(now), now);
      }
    }
    if (!co_await flush()) break;
    if (pacer_->in_flight() == 0) {
      if (decision.kind == Decision::Kind::kDone) {
        // The end of the run: say goodbye properly, so the target logs no error.
        nghttp2_session_terminate_session(session_.get(), NGHTTP2_NO_ERROR);
        co_await flush();
        close_connection(Outcome::kIo);
        break;
      }
      if (goaway_) {
        close_connection(Outcome::kIo);  // drained after a GOAWAY: reconnect
        break;
      }
    }
    if (wake_pending_) {
      wake_pending_ = false;
      continue;
    }
    wake_timer_.expires_at(decision.kind == Decision::Kind::kWaitUntil ? decision.until
                                                                       : TimePoint::max());
    co_await wake_timer_.async_wait(net::use_nothrow);
    wake_pending_ = false;
  }
}

net::awaitable<bool> Http2Connection::flush() {
  while (!dead_) {
    write_buffer_.clear();
    while (write_buffer_.size() < kWriteBatch) {
      const uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(session_.get(), &data);
      if (n < 0) {
        close_connection(Outcome::kProtocol);
        co_return false;
      }
      if (n == 0) break;
      write_buffer_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    if (write_buffer_.empty()) co_return true;
    // The session may be used by the reader and the watchdog while this write is pending: it
    // only ever writes from its own copy in write_buffer_.
    auto [ec, written] = co_await net::asio::async_write(
        socket_, net::asio::buffer(write_buffer_), net::use_nothrow);
    if (ec) {
      close_connection(Outcome::kIo);
      co_return false;
    }
  }
  co_return false;
}

net::awaitable<void> Http2Connection::reader() {
  while (!dead_) {
    auto [ec, n] = co_await socket_.async_read_some(net::asio::buffer(read_buffer_),
                                                    net::use_nothrow);
    if (dead_) break;
    if (n > 0) {
      if (nghttp2_session_mem_recv(session_.get(), read_buffer_.data(), n) < 0) {
        close_connection(Outcome::kProtocol);
        break;
      }
      if (nghttp2_session_want_read(session_.get()) == 0 &&
          nghttp2_session_want_write(session_.get()) == 0) {
        close_connection(Outcome::kIo);  // the session is over (GOAWAY and drained)
        break;
      }
      wake();  // streams may have finished, and nghttp2 may have frames to send
    }
    if (ec) {
      close_connection(Outcome::kIo);
      break;
    }
  }
}

net::awaitable<void> Http2Connection::watchdog() {
  while (!dead_) {
    prune_deadlines();
    // Deadlines only grow (send order), so a stream submitted during this wait never needs
    // an earlier wake-up.
    watchdog_timer_.expires_at(deadlines_.empty() ? Clock::now() + context_.timeout
                                                  : deadlines_.front().first);
    co_await watchdog_timer_.async_wait(net::use_nothrow);
    if (dead_) break;
    const TimePoint now = Clock::now();
    bool reset_any = false;
    while (!deadlines_.empty() && deadlines_.front().first <= now) {
      const int32_t id = deadlines_.front().second;
      deadlines_.pop_front();
      auto it = streams_.find(id);
      if (it == streams_.end() || it->second->finished) continue;
      finish_stream(*it->second, Outcome::kTimeout, now);
      nghttp2_submit_rst_stream(session_.get(), NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
      reset_any = true;
    }
    if (reset_any) wake();  // the writer sends the RST_STREAMs
  }
}

void Http2Connection::prune_deadlines() {
  while (!deadlines_.empty()) {
    auto it = streams_.find(deadlines_.front().second);
    if (it != streams_.end() && !it->second->finished) break;
    deadlines_.pop_front();
  }
}

void Http2Connection::submit(const Slot& slot, TimePoint now) {
  prune_deadlines();  // keeps the queue about as long as the streams in flight
  auto stream = std::make_unique<Stream>();
  stream->slot = slot;
  nghttp2_data_provider provider{};
  provider.read_callback = &read_body;
  const int32_t id =
      nghttp2_submit_request(session_.get(), nullptr, nva_.data(), nva_.size(),
                             context_.body.empty() ? nullptr : &provider, stream.get());
  if (id < 0) {
    // Stream ids exhausted (2^31 per connection) or the session is closing: this request is
    // lost, and the connection is replaced once the others drain.
    pacer_->finish(slot, now, Outcome::kProtocol);
    goaway_ = true;
    return;
  }
  deadlines_.emplace_back(now + context_.timeout, id);
  streams_.emplace(id, std::move(stream));
}

void Http2Connection::finish_stream(Stream& stream, Outcome outcome, TimePoint now) {
  if (stream.finished) return;
  stream.finished = true;
  pacer_->finish(stream.slot, now, outcome, stream.status);
}

Outcome Http2Connection::classify(const Stream& stream, uint32_t error_code) const {
  if (!stream.complete) {
    return error_code == NGHTTP2_PROTOCOL_ERROR ? Outcome::kProtocol : Outcome::kReset;
  }
  if (stream.bad_header || stream.status == 0) return Outcome::kProtocol;
  if (context_.protocol == Protocol::kGrpc) {
    if (stream.status != 200) return Outcome::kStatus;
    if (stream.grpc_status < 0) return Outcome::kProtocol;
    return stream.grpc_status == 0 ? Outcome::kOk : Outcome::kGrpcStatus;
  }
  return stream.status >= 200 && stream.status < 300 ? Outcome::kOk : Outcome::kStatus;
}

void Http2Connection::close_connection(Outcome outcome) {
  if (dead_) return;
  dead_ = true;
  dead_outcome_ = outcome;
  close();
  wake_timer_.cancel();
  watchdog_timer_.cancel();
}

void Http2Connection::wake() {
  wake_pending_ = true;
  wake_timer_.cancel();
}

int Http2Connection::on_header(nghttp2_session* session, const nghttp2_frame* frame,
                               const uint8_t* name, size_t namelen, const uint8_t* value,
                               size_t valuelen, uint8_t /*flags*/, void* /*user_data*/) {
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  auto* stream =
      static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, frame->hd.stream_id));
  if (stream == nullptr) return 0;
  const std::string_view n = view(name, namelen);
  int parsed = 0;
  if (n == ":status") {
    // A 1xx is followed by the final head, whose :status overwrites it.
    if (!parse_int(view(value, valuelen), parsed)) stream->bad_header = true;
    stream->status = parsed;
  } else if (n == "grpc-status") {
    if (!parse_int(view(value, valuelen), parsed)) stream->bad_header = true;
    stream->grpc_status = parsed;
  }
  return 0;
}

int Http2Connection::on_frame_recv(nghttp2_session* session, const nghttp2_frame* frame,
                                   void* user_data) {
  auto* self = static_cast<Http2Connection*>(user_data);
  if (frame->hd.type == NGHTTP2_GOAWAY) {
    self->goaway_ = true;
    return 0;
  }
  if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
      (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
    auto* stream =
        static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, frame->hd.stream_id));
    if (stream != nullptr) stream->complete = true;
  }
  return 0;
}

int Http2Connection::on_stream_close(nghttp2_session* session, int32_t stream_id,
                                     uint32_t error_code, void* user_data) {
  auto* self = static_cast<Http2Connection*>(user_data);
  auto* stream = static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, stream_id));
  if (stream != nullptr) {
    if (stream->complete) self->progress_ = true;
    self->finish_stream(*stream, self->classify(*stream, error_code), Clock::now());
  }
  self->streams_.erase(stream_id);  // nghttp2 forgets the user data after this callback
  self->wake();
  return 0;
}

ssize_t Http2Connection::read_body(nghttp2_session* session, int32_t stream_id, uint8_t* buf,
                                   size_t length, uint32_t* data_flags,
                                   nghttp2_data_source* /*source*/, void* user_data) {
  auto* self = static_cast<Http2Connection*>(user_data);
  auto* stream = static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, stream_id));
  if (stream == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  const std::string& body = self->context_.body;
  const size_t n = std::min(length, body.size() - stream->body_offset);
  std::memcpy(buf, body.data() + stream->body_offset, n);
  stream->body_offset += n;
  if (stream->body_offset == body.size()) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(n);
}

}  // namespace trellis::bench::loadgen
