#include "http/h2/session.h"

#include "base/log.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <type_traits>

namespace trellis::http::h2 {

const char* to_string(CloseReason r) {
  switch (r) {
    case CloseReason::kNone: return "none";
    case CloseReason::kPeerClosed: return "peer_closed";
    case CloseReason::kReadError: return "read_error";
    case CloseReason::kWriteError: return "write_error";
    case CloseReason::kGoaway: return "goaway";
    case CloseReason::kLocalClose: return "local_close";
    case CloseReason::kProtocolError: return "protocol_error";
    case CloseReason::kIdleTimeout: return "idle_timeout";
    case CloseReason::kHeaderTimeout: return "header_timeout";
    case CloseReason::kWriteTimeout: return "write_timeout";
    case CloseReason::kDrainTimeout: return "drain_timeout";
    case CloseReason::kRapidReset: return "rapid_reset";
    case CloseReason::kHeaderFlood: return "header_flood";
    case CloseReason::kControlFlood: return "control_flood";
    case CloseReason::kPriorityFlood: return "priority_flood";
    case CloseReason::kWindowUpdateFlood: return "window_update_flood";
    case CloseReason::kEmptyFrameFlood: return "empty_frame_flood";
    case CloseReason::kOutboundFlood: return "outbound_flood";
  }
  return "unknown";
}

namespace detail {
namespace {

constexpr size_t kReadBufferSize = 16 * 1024;
constexpr size_t kWriteBatch = 64 * 1024;      // bytes gathered from nghttp2 per socket write
constexpr size_t kMaxLingerBytes = 1024 * 1024;  // input discarded while closing, at most

CloseReason reason_for(Abuse a) {
  switch (a) {
    case Abuse::kRapidReset: return CloseReason::kRapidReset;
    case Abuse::kControlFlood: return CloseReason::kControlFlood;
    case Abuse::kPriorityFlood: return CloseReason::kPriorityFlood;
    case Abuse::kWindowUpdateFlood: return CloseReason::kWindowUpdateFlood;
    case Abuse::kEmptyFrameFlood: return CloseReason::kEmptyFrameFlood;
  }
  return CloseReason::kProtocolError;
}

// Exceptions never cross into the pump: an application body that throws ends the stream.
net::awaitable<base::Result<BodyChunk, BodyError>> guarded_next(Body& body) {
  try {
    co_return co_await body.next();
  } catch (...) {
    co_return base::unexpected(BodyError::kCancelled);
  }
}

}  // namespace

// The one place nghttp2's C callbacks are adapted: each casts user_data and calls one member.
struct Callbacks {
  static SessionCore& self(void* user_data) { return *static_cast<SessionCore*>(user_data); }

  // Receive-side callbacks stop nghttp2 as soon as the session has decided to close, so a flood
  // costs no more work than the frame that tripped the limit.
  static int begin_frame(nghttp2_session*, const nghttp2_frame_hd* hd, void* ud) {
    if (self(ud).fatal_) return NGHTTP2_ERR_CALLBACK_FAILURE;
    return self(ud).handle_begin_frame(*hd);
  }
  static int frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
    if (self(ud).fatal_) return NGHTTP2_ERR_CALLBACK_FAILURE;
    return self(ud).handle_frame_recv(*frame);
  }
  static int invalid_frame_recv(nghttp2_session*, const nghttp2_frame* frame, int, void* ud) {
    if (self(ud).fatal_) return NGHTTP2_ERR_CALLBACK_FAILURE;
    return self(ud).handle_invalid_frame_recv(*frame);
  }
  static int data_chunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data,
                        size_t len, void* ud) {
    if (self(ud).fatal_) return NGHTTP2_ERR_CALLBACK_FAILURE;
    return self(ud).handle_data_chunk(stream_id, data, len);
  }
  static int begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
    if (self(ud).fatal_) return NGHTTP2_ERR_CALLBACK_FAILURE;
    return self(ud).on_begin_headers(*frame);
  }
  static int header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                    size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* ud) {
    if (self(ud).fatal_) return NGHTTP2_ERR_CALLBACK_FAILURE;
    return self(ud).handle_header(
        *frame, std::string_view(reinterpret_cast<const char*>(name), namelen),
        std::string_view(reinterpret_cast<const char*>(value), valuelen));
  }
  static int stream_close(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* ud) {
    return self(ud).handle_stream_close(stream_id, error_code);
  }
  static int frame_send(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
    return self(ud).handle_frame_send(*frame);
  }
  static int frame_not_send(nghttp2_session*, const nghttp2_frame* frame, int, void* ud) {
    return self(ud).handle_frame_not_send(*frame);
  }
  static ssize_t read_data(nghttp2_session*, int32_t stream_id, uint8_t* buf, size_t length,
                           uint32_t* data_flags, nghttp2_data_source*, void* ud) {
    return self(ud).handle_read_data(stream_id, buf, length, data_flags);
  }
  static int error(nghttp2_session*, int code, const char* msg, size_t len, void* ud) {
    TRELLIS_LOG_DEBUG("[C{}] h2: nghttp2: {} ({})", static_cast<SessionCore*>(ud)->connection_id_,
                      std::string_view(msg, len), code);
    return 0;
  }

  static nghttp2_session_callbacks* make() {
    nghttp2_session_callbacks* cbs = nullptr;
    if (nghttp2_session_callbacks_new(&cbs) != 0) throw std::bad_alloc();
    nghttp2_session_callbacks_set_on_begin_frame_callback(cbs, &begin_frame);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &frame_recv);
    nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cbs, &invalid_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &data_chunk);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, &begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, &header);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(cbs, &frame_send);
    nghttp2_session_callbacks_set_on_frame_not_send_callback(cbs, &frame_not_send);
    nghttp2_session_callbacks_set_error_callback2(cbs, &error);
    return cbs;
  }
};

// The request body (server) or response body (client) handed to the application.
class StreamBody final : public Body {
 public:
  explicit StreamBody(std::shared_ptr<Stream> stream)
      : s_(std::move(stream)),
        empty_(s_->in_ended && s_->in_buf.empty() && s_->in_trailers.empty()) {}

  ~StreamBody() override {
    s_->consumer_gone = true;
    if (s_->session != nullptr) {
      s_->session->consumer_gone(*s_);
    } else {
      s_->in_buf.clear();
    }
  }

  net::awaitable<base::Result<BodyChunk, BodyError>> next() override {
    const std::shared_ptr<Stream> s = s_;
    while (true) {
      if (s->in_error) co_return base::unexpected(*s->in_error);
      if (!s->in_buf.empty() || s->in_ended) {
        BodyChunk chunk;
        chunk.data = std::move(s->in_buf);
        s->in_buf.clear();
        // The window opens only now that the application has taken the bytes.
        if (!chunk.data.empty() && s->session != nullptr) {
          s->session->consume(*s, chunk.data.size());
        }
        if (s->in_ended) {
          chunk.end_of_stream = true;
          chunk.trailers = std::move(s->in_trailers);
        }
        co_return chunk;
      }
      co_await s->in_ready.wait();
    }
  }

  std::optional<uint64_t> size_hint() const override { return s_->in_content_length; }
  bool is_empty() const override { return empty_; }

 private:
  std::shared_ptr<Stream> s_;
  bool empty_;
};

Stream::Stream(SessionCore* owner, int32_t stream_id, const net::asio::any_io_executor& ex)
    : session(owner),
      id(stream_id),
      opened_at(Clock::now()),
      last_activity(opened_at),
      in_ready(ex),
      out_drained(ex),
      events(ex) {
  if (session != nullptr) {
    session->all_streams_.insert(this);
    recv_window = session->settings_.initial_stream_window;
  }
}

Stream::~Stream() {
  if (session != nullptr) session->all_streams_.erase(this);
}

SessionCore::SessionCore(bool server, Transport& transport, const H2Settings& settings,
                         H2Counters& counters, std::string initial_bytes)
    : server_(server),
      transport_(transport),
      settings_(settings),
      counters_(counters),
      executor_(transport.get_executor()),
      abuse_(settings_, Clock::now()),
      initial_(std::move(initial_bytes)),
      write_ready_(executor_),
      tasks_done_(executor_),
      watchdog_timer_(executor_) {
  nghttp2_session_callbacks* callbacks = Callbacks::make();
  nghttp2_option* option = nullptr;
  if (nghttp2_option_new(&option) != 0) {
    nghttp2_session_callbacks_del(callbacks);
    throw std::bad_alloc();
  }
  // Flow control is ours: windows open as the application consumes (StreamBody::next).
  nghttp2_option_set_no_auto_window_update(option, 1);
  // Header validation is ours too (headers.cc), so every violation is seen and counted.
  nghttp2_option_set_no_http_messaging(option, 1);
  nghttp2_option_set_no_closed_streams(option, 1);
  nghttp2_option_set_max_outbound_ack(option, settings_.max_outbound_control_frames);
  nghttp2_option_set_max_settings(option, 32);
  nghttp2_option_set_max_deflate_dynamic_table_size(option, settings_.header_table_size);
  // nghttp2's own limits are a backstop set above ours, so ours trip first and are counted.
  nghttp2_option_set_stream_reset_rate_limit(option, 2 * uint64_t{settings_.reset_burst},
                                             2 * uint64_t{settings_.resets_per_second});
  nghttp2_option_set_max_continuations(option, 2 * size_t{settings_.max_continuations} + 2);
  nghttp2_option_set_peer_max_concurrent_streams(option, settings_.max_concurrent_streams);
  const int rv = server_ ? nghttp2_session_server_new2(&session_, callbacks, this, option)
                         : nghttp2_session_client_new2(&session_, callbacks, this, option);
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(callbacks);
  if (rv != 0) throw std::bad_alloc();

  // The watchdog ticks at a quarter of the shortest deadline, between 5 ms and 1 s.
  Clock::duration shortest = std::chrono::seconds(4);
  for (auto d : {settings_.idle_timeout, settings_.stream_idle_timeout, settings_.header_timeout,
                 settings_.write_timeout, settings_.graceful_shutdown_delay,
                 settings_.drain_timeout, settings_.flush_timeout, settings_.linger_timeout}) {
    if (d.count() > 0) shortest = std::min<Clock::duration>(shortest, d);
  }
  tick_ = std::clamp<Clock::duration>(shortest / 4, std::chrono::milliseconds(5),
                                      std::chrono::seconds(1));
  last_activity_ = Clock::now();
}

SessionCore::~SessionCore() {
  for (Stream* s : all_streams_) s->session = nullptr;
  all_streams_.clear();
  nghttp2_session_del(session_);
}

std::vector<nghttp2_nv> SessionCore::to_nv(const std::vector<Header>& fields) {
  std::vector<nghttp2_nv> nv;
  nv.reserve(fields.size());
  for (const auto& f : fields) {
    uint8_t flags = NGHTTP2_NV_FLAG_NONE;
    // RFC 7541 §7.1.3: keep credentials (and short, guessable cookies) out of the
    // compression context, and ask proxies after us to do the same.
    if (f.name == "authorization" || f.name == "proxy-authorization" ||
        (f.name == "cookie" && f.value.size() < 20)) {
      flags |= NGHTTP2_NV_FLAG_NO_INDEX;
    }
    nv.push_back({const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(f.name.data())),
                  const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(f.value.data())),
                  f.name.size(), f.value.size(), flags});
  }
  return nv;
}

BodyPtr SessionCore::make_stream_body(std::shared_ptr<Stream> stream) {
  return std::make_unique<StreamBody>(std::move(stream));
}

std::shared_ptr<Stream> SessionCore::add_stream(int32_t id) {
  auto s = std::make_shared<Stream>(this, id, executor_);
  streams_[id] = s;
  ++stats_.streams_opened;
  stats_.max_open_streams = std::max(stats_.max_open_streams, streams_.size());
  stats_.max_stream_window = std::max(stats_.max_stream_window, s->recv_window);
  return s;
}

std::shared_ptr<Stream> SessionCore::find(int32_t id) const {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second;
}

void SessionCore::spawn(net::awaitable<void> task) {
  ++tasks_;
  net::asio::co_spawn(executor_, run_task(this, std::move(task)), net::asio::detached);
}

net::awaitable<void> SessionCore::run_task(SessionCore* self, net::awaitable<void> task) {
  try {
    co_await std::move(task);
  } catch (...) {
    // Stream coroutines handle their own failures; anything left (cancellation) ends the task.
  }
  self->task_done();
}

void SessionCore::task_done() {
  if (--tasks_ == 0) tasks_done_.notify_all();
}

net::awaitable<void> SessionCore::wait_closed(std::shared_ptr<Stream> stream) {
  while (!stream->closed) co_await stream->events.wait();
}

// --- Lifecycle ---

net::awaitable<void> SessionCore::run() {
  // Teardown below must run even if our caller cancels us, or stream coroutines would be left
  // pointing at a destroyed session.
  co_await net::asio::this_coro::throw_if_cancelled(false);
  if (started_) co_return;
  started_ = true;
  bump(counters_.connections_total);
  if (!closed_) {
    std::vector<nghttp2_settings_entry> iv = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, settings_.max_concurrent_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, settings_.initial_stream_window},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, settings_.max_header_list_size},
        {NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, settings_.header_table_size},
        {NGHTTP2_SETTINGS_MAX_FRAME_SIZE,
         std::clamp<uint32_t>(settings_.max_frame_size, 16384, 16777215)},
    };
    if (!server_) iv.push_back({NGHTTP2_SETTINGS_ENABLE_PUSH, 0});
    if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, iv.data(), iv.size()) != 0 ||
        nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                              static_cast<int32_t>(std::min<uint32_t>(
                                                  settings_.connection_window, 0x7fffffff))) !=
            0) {
      close_now(CloseReason::kProtocolError);
    }
    if (shutdown_requested_) {
      shutdown_requested_ = false;
      shutdown();
    }
  }
  if (!closed_) {
    last_activity_ = now();
    using namespace net::asio::experimental::awaitable_operators;
    try {
      co_await (read_loop() && write_loop() && watchdog());
    } catch (...) {
      // Only cancellation of run() itself gets here; the loops report errors as values.
    }
  }
  close_now(CloseReason::kLocalClose);
  teardown_streams();
  on_teardown();
  while (tasks_ > 0) co_await tasks_done_.wait();
}

void SessionCore::shutdown() {
  if (closed_ || shutdown_requested_) return;
  shutdown_requested_ = true;
  shutdown_at_ = now();
  if (!started_) return;  // run() sends the GOAWAY after our SETTINGS, which must come first
  // A server first announces the shutdown without a stream limit: requests already in flight
  // towards us are still accepted. The real GOAWAY follows after graceful_shutdown_delay.
  if (server_ && settings_.graceful_shutdown_delay.count() > 0) {
    nghttp2_submit_shutdown_notice(session_);
  } else {
    submit_final_goaway();
  }
  notify_writer();
}

void SessionCore::submit_final_goaway() {
  if (goaway_submitted_) return;
  goaway_submitted_ = true;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                        nullptr, 0);
  notify_writer();
}

void SessionCore::close() {
  set_reason(CloseReason::kLocalClose);
  close_now(CloseReason::kLocalClose);
}

void SessionCore::set_reason(CloseReason reason) {
  if (close_reason_ != CloseReason::kNone || reason == CloseReason::kNone) return;
  close_reason_ = reason;
  switch (reason) {
    case CloseReason::kProtocolError: bump(counters_.protocol_errors_total); break;
    case CloseReason::kIdleTimeout: bump(counters_.idle_timeouts_total); break;
    case CloseReason::kHeaderTimeout: bump(counters_.header_timeouts_total); break;
    case CloseReason::kWriteTimeout: bump(counters_.write_timeouts_total); break;
    case CloseReason::kDrainTimeout: bump(counters_.drain_timeouts_total); break;
    case CloseReason::kRapidReset: bump(counters_.rapid_reset_total); break;
    case CloseReason::kHeaderFlood: bump(counters_.header_flood_total); break;
    case CloseReason::kControlFlood: bump(counters_.control_flood_total); break;
    case CloseReason::kPriorityFlood: bump(counters_.priority_flood_total); break;
    case CloseReason::kWindowUpdateFlood: bump(counters_.window_update_flood_total); break;
    case CloseReason::kEmptyFrameFlood: bump(counters_.empty_frame_flood_total); break;
    case CloseReason::kOutboundFlood: bump(counters_.outbound_flood_total); break;
    default: break;
  }
  TRELLIS_LOG_DEBUG("[C{}] h2: {} session closing: {}", connection_id_,
                    server_ ? "server" : "client", to_string(reason));
}

void SessionCore::fail(CloseReason reason, uint32_t h2_error) {
  set_reason(reason);
  if (fatal_ || closed_) return;
  fatal_ = true;
  fatal_at_ = now();
  nghttp2_session_terminate_session(session_, h2_error);
  notify_writer();
}

int SessionCore::abuse(Abuse a) {
  fail(reason_for(a), NGHTTP2_ENHANCE_YOUR_CALM);
  return NGHTTP2_ERR_CALLBACK_FAILURE;
}

int SessionCore::header_flood() {
  fail(CloseReason::kHeaderFlood, NGHTTP2_ENHANCE_YOUR_CALM);
  return NGHTTP2_ERR_CALLBACK_FAILURE;
}

void SessionCore::close_now(CloseReason reason) {
  set_reason(reason);
  if (closed_) return;
  closed_ = true;
  transport_.close();
  write_ready_.notify_all();
  watchdog_timer_.cancel();
}

bool SessionCore::input_finished() const {
  if (fatal_ || write_finished_) return true;
  // nghttp2 stops wanting input once a GOAWAY went out and no stream is open; but after a
  // server's shutdown notice the final GOAWAY is still to come, and requests that crossed the
  // notice must still be served.
  return nghttp2_session_want_read(session_) == 0 &&
         (!server_ || !shutdown_requested_ || goaway_submitted_);
}

void SessionCore::finish_writing() {
  if (write_finished_) return;
  write_finished_ = true;
  finished_at_ = now();
  set_reason(CloseReason::kGoaway);
  transport_.shutdown_send();
}

void SessionCore::teardown_streams() {
  auto streams = std::move(streams_);
  streams_.clear();
  for (auto& [id, s] : streams) {
    s->closed = true;
    if (!s->in_ended && !s->in_error) s->in_error = BodyError::kPeerReset;
    if (s->in_error) s->in_buf.clear();
    on_stream_closed(*s);
    s->in_ready.notify_all();
    s->out_drained.notify_all();
    s->events.notify_all();
  }
}

// --- The three connection coroutines ---

net::awaitable<void> SessionCore::read_loop() {
  if (!initial_.empty()) {
    const std::string initial = std::move(initial_);
    initial_.clear();
    stats_.bytes_received += initial.size();
    feed(reinterpret_cast<const uint8_t*>(initial.data()), initial.size());
    notify_writer();
  }
  std::vector<uint8_t> buffer(kReadBufferSize);
  while (!closed_) {
    auto [ec, n] = co_await transport_.read_some(net::asio::buffer(buffer));
    if (closed_) break;
    if (ec) {
      close_now(ec == net::asio::error::eof ? CloseReason::kPeerClosed : CloseReason::kReadError);
      break;
    }
    last_activity_ = now();
    stats_.bytes_received += n;
    if (input_finished()) {
      // Closing: drain what the peer sent before it saw our GOAWAY instead of leaving it unread,
      // since closing a socket with unread input sends a TCP RST that can destroy the GOAWAY.
      lingered_bytes_ += n;
      if (lingered_bytes_ > kMaxLingerBytes) close_now(CloseReason::kPeerClosed);
      continue;
    }
    feed(buffer.data(), n);
    notify_writer();
  }
}

void SessionCore::feed(const uint8_t* data, size_t size) {
  const ssize_t rv = nghttp2_session_mem_recv(session_, data, size);
  if (rv < 0 && !fatal_) {
    switch (rv) {
      case NGHTTP2_ERR_FLOODED:
        // nghttp2's queue of PING/SETTINGS ACKs is full: the peer does not read.
        set_reason(CloseReason::kOutboundFlood);
        close_now(CloseReason::kOutboundFlood);
        return;
      case NGHTTP2_ERR_TOO_MANY_CONTINUATIONS:
        fail(CloseReason::kHeaderFlood, NGHTTP2_ENHANCE_YOUR_CALM);
        return;
      default:
        // Bad preface, or a fatal library error.
        fail(CloseReason::kProtocolError, NGHTTP2_PROTOCOL_ERROR);
        return;
    }
  }
  if (!fatal_ &&
      nghttp2_session_get_outbound_queue_size(session_) > settings_.max_outbound_frames) {
    // The peer makes us queue frames faster than it reads them; a GOAWAY would only queue too.
    close_now(CloseReason::kOutboundFlood);
  }
}

net::awaitable<void> SessionCore::write_loop() {
  std::string out;
  while (!closed_) {
    bool library_failed = false;
    if (!write_finished_) {
      while (out.size() < kWriteBatch) {
        const uint8_t* data = nullptr;
        const ssize_t n = nghttp2_session_mem_send(session_, &data);
        if (n < 0) {
          library_failed = true;
          break;
        }
        if (n == 0) break;
        out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
      }
    }
    if (closed_) break;
    if (out.empty()) {
      if (library_failed) {
        close_now(CloseReason::kProtocolError);
        break;
      }
      if (!write_finished_ && nghttp2_session_want_write(session_) == 0 && input_finished()) {
        finish_writing();
      }
      co_await write_ready_.wait();
      continue;
    }
    writing_ = true;
    write_started_ = now();
    auto [ec, n] = co_await transport_.write(net::asio::buffer(out));
    writing_ = false;
    if (ec) {
      close_now(CloseReason::kWriteError);
      break;
    }
    last_activity_ = now();
    stats_.bytes_sent += n;
    out.clear();
    if (library_failed) {
      close_now(CloseReason::kProtocolError);
      break;
    }
  }
}

net::awaitable<void> SessionCore::watchdog() {
  while (!closed_) {
    watchdog_timer_.expires_after(tick_);
    co_await watchdog_timer_.async_wait(net::use_nothrow);
    if (closed_) break;
    check_deadlines(now());
  }
}

void SessionCore::check_deadlines(Clock::time_point t) {
  auto expired = [t](Clock::time_point since, std::chrono::milliseconds limit) {
    return limit.count() > 0 && t - since >= limit;
  };
  if (write_finished_) {
    if (expired(finished_at_, settings_.linger_timeout)) close_now(CloseReason::kPeerClosed);
    return;
  }
  if (fatal_) {
    if (expired(fatal_at_, settings_.flush_timeout)) close_now(CloseReason::kWriteTimeout);
    return;
  }
  if (writing_ && expired(write_started_, settings_.write_timeout)) {
    close_now(CloseReason::kWriteTimeout);
    return;
  }
  if (in_header_block_ && expired(header_block_started_, settings_.header_timeout)) {
    fail(CloseReason::kHeaderTimeout, NGHTTP2_ENHANCE_YOUR_CALM);
    return;
  }
  if (shutdown_requested_) {
    if (!goaway_submitted_ && expired(shutdown_at_, settings_.graceful_shutdown_delay)) {
      submit_final_goaway();
    }
    if (expired(shutdown_at_, settings_.drain_timeout)) {
      close_now(CloseReason::kDrainTimeout);
      return;
    }
  }
  if (streams_.empty() && tasks_ == 0 && expired(last_activity_, settings_.idle_timeout)) {
    fail(CloseReason::kIdleTimeout, NGHTTP2_NO_ERROR);
    return;
  }
  for (auto& [id, s] : streams_) {
    if (!s->reset_locally && expired(s->last_activity, settings_.stream_idle_timeout)) {
      bump(counters_.stream_idle_timeouts_total);
      reset_stream(*s, NGHTTP2_CANCEL, false);
    }
  }
}

// --- Stream helpers ---

void SessionCore::reset_stream(Stream& s, uint32_t error_code, bool peer_caused) {
  if (s.closed || s.reset_locally || closed_) return;
  s.reset_locally = true;
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s.id, error_code);
  bump(counters_.streams_reset_locally_total);
  notify_writer();
  if (peer_caused && server_) {
    if (auto a = abuse_.on_reset(now())) fail(reason_for(*a), NGHTTP2_ENHANCE_YOUR_CALM);
  }
}

void SessionCore::reject_malformed(Stream& s, const char* why) {
  if (s.rejected) return;
  TRELLIS_LOG_DEBUG("[C{}][S{}] h2: malformed {}: {}", connection_id_, s.id,
                    server_ ? "request" : "response", why);
  s.rejected = true;
  bump(counters_.malformed_headers_total);
  if (!s.in_ended && !s.in_error) s.in_error = BodyError::kMalformed;
  drop_inbound(s);
  s.in_ready.notify_all();
  s.events.notify_all();
  reset_stream(s, NGHTTP2_PROTOCOL_ERROR, true);
}

void SessionCore::drop_inbound(Stream& s) {
  if (s.in_buf.empty()) return;
  if (!closed_) nghttp2_session_consume(session_, s.id, s.in_buf.size());
  s.in_buf.clear();
}

void SessionCore::end_inbound(Stream& s) {
  if (s.in_ended || s.in_error) return;
  if (s.in_content_length && *s.in_content_length != s.in_received) {
    // RFC 9113 §8.1.1: content-length disagreeing with the DATA total is malformed.
    bump(counters_.malformed_bodies_total);
    s.in_error = BodyError::kMalformed;
    drop_inbound(s);
    s.in_ready.notify_all();
    reset_stream(s, NGHTTP2_PROTOCOL_ERROR, true);
    return;
  }
  s.in_ended = true;
  s.in_ready.notify_all();
}

void SessionCore::consume(Stream& s, size_t bytes) {
  if (closed_) return;
  nghttp2_session_consume(session_, s.id, bytes);
  if (!s.closed && !s.in_ended && s.recv_window < settings_.max_stream_window) {
    // Auto-tuning: a consumer that drained a whole window is keeping up, so let the peer
    // send more per round trip. The fixed connection window still bounds the total buffered.
    s.consumed_since_grow += bytes;
    if (s.consumed_since_grow >= s.recv_window) {
      s.recv_window = std::min(2 * s.recv_window, settings_.max_stream_window);
      s.consumed_since_grow = 0;
      if (nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, s.id,
                                                static_cast<int32_t>(s.recv_window)) == 0) {
        ++stats_.window_grows;
        stats_.max_stream_window = std::max(stats_.max_stream_window, s.recv_window);
      }
    }
  }
  notify_writer();
}

void SessionCore::consumer_gone(Stream& s) {
  if (closed_) {
    s.in_buf.clear();
    return;
  }
  drop_inbound(s);
  if (!s.closed && !s.in_ended && !s.in_error) {
    if (!server_) {
      reset_stream(s, NGHTTP2_CANCEL, false);  // nobody wants the rest of the response
    } else if (s.local_closed) {
      reset_stream(s, NGHTTP2_NO_ERROR, false);  // response done; stop the upload (§8.1)
    }
    // Otherwise the response is still going: further DATA is discarded as it arrives.
  }
  notify_writer();
}

nghttp2_data_provider SessionCore::body_source() {
  nghttp2_data_provider p{};
  p.source.ptr = nullptr;
  p.read_callback = &Callbacks::read_data;
  return p;
}

net::awaitable<void> SessionCore::pump_body(std::shared_ptr<Stream> s, BodyPtr body) {
  using namespace net::asio::experimental::awaitable_operators;
  while (true) {
    while (!s->closed && s->out_pending() >= settings_.stream_send_buffer) {
      co_await s->out_drained.wait();
    }
    if (s->closed || s->reset_locally || closed_) co_return;
    // Race the body against the stream closing, so a reset releases an upstream that is slow
    // to produce the next chunk.
    auto next = co_await (guarded_next(*body) || wait_closed(s));
    if (next.index() != 0 || s->closed || s->reset_locally || closed_) co_return;
    auto& chunk = std::get<0>(next);
    if (!chunk) {
      reset_stream(*s, server_ ? NGHTTP2_INTERNAL_ERROR : NGHTTP2_CANCEL, false);
      co_return;
    }
    s->out_buf.append(chunk->data);
    if (chunk->end_of_stream) {
      s->out_ended = true;
      s->out_trailers = std::move(chunk->trailers);
    }
    if (s->out_deferred) {
      s->out_deferred = false;
      nghttp2_session_resume_data(session_, s->id);
    }
    notify_writer();
    if (s->out_ended) co_return;
  }
}

// --- nghttp2 callbacks ---

int SessionCore::handle_begin_frame(const nghttp2_frame_hd& hd) {
  switch (hd.type) {
    case NGHTTP2_HEADERS:
      header_block_bytes_ = hd.length;
      continuations_ = 0;
      in_header_block_ = (hd.flags & NGHTTP2_FLAG_END_HEADERS) == 0;
      if (in_header_block_) header_block_started_ = now();
      if (header_block_bytes_ > settings_.max_header_list_size) return header_flood();
      break;
    case NGHTTP2_CONTINUATION:
      // CVE-2024-27316 & co: one budget across HEADERS + CONTINUATION, and a frame count, so
      // neither many small frames nor a few large ones can keep a header block open.
      ++continuations_;
      header_block_bytes_ += hd.length;
      if ((hd.flags & NGHTTP2_FLAG_END_HEADERS) != 0) in_header_block_ = false;
      if (continuations_ > settings_.max_continuations ||
          header_block_bytes_ > settings_.max_header_list_size) {
        return header_flood();
      }
      break;
    default:
      in_header_block_ = false;
      break;
  }
  return 0;
}

int SessionCore::handle_frame_recv(const nghttp2_frame& frame) {
  const int32_t id = frame.hd.stream_id;
  std::shared_ptr<Stream> s = id != 0 ? find(id) : nullptr;
  if (s) s->last_activity = now();
  switch (frame.hd.type) {
    case NGHTTP2_DATA: {
      const bool end = (frame.hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
      const size_t payload = frame.hd.length - std::min(frame.hd.length, frame.data.padlen);
      if (auto a = abuse_.on_data_frame(payload == 0 && !end)) return abuse(*a);
      if (s && end && !s->rejected) end_inbound(*s);
      break;
    }
    case NGHTTP2_HEADERS:
      abuse_.on_headers();
      if (s && !s->rejected) return on_headers_complete(*s, frame);
      break;
    case NGHTTP2_RST_STREAM:
      bump(counters_.streams_reset_by_peer_total);
      if (s) s->reset_by_peer = true;
      if (server_) {
        if (auto a = abuse_.on_reset(now())) return abuse(*a);
      }
      break;
    case NGHTTP2_SETTINGS:
    case NGHTTP2_PING:
      if ((frame.hd.flags & NGHTTP2_FLAG_ACK) == 0) {
        if (auto a = abuse_.on_control_frame(now())) return abuse(*a);
      }
      break;
    case NGHTTP2_PRIORITY:
      if (auto a = abuse_.on_priority()) return abuse(*a);
      break;
    case NGHTTP2_WINDOW_UPDATE:
      if (auto a = abuse_.on_window_update()) return abuse(*a);
      break;
    case NGHTTP2_GOAWAY:
      goaway_received_ = true;
      on_goaway_received();
      break;
    default:
      break;
  }
  return 0;
}

int SessionCore::handle_invalid_frame_recv(const nghttp2_frame& frame) {
  // nghttp2 resets the stream for us; the peer made us do it (MadeYouReset), so it counts.
  if (server_ && frame.hd.stream_id != 0) {
    if (auto a = abuse_.on_reset(now())) return abuse(*a);
  }
  return 0;
}

int SessionCore::handle_data_chunk(int32_t stream_id, const uint8_t* data, size_t len) {
  std::shared_ptr<Stream> s = find(stream_id);
  if (s && !s->rejected && !s->head_received) reject_malformed(*s, "DATA before the head");
  if (!s || s->rejected || s->consumer_gone || s->in_error) {
    // Nobody will read these bytes: give the window back at once.
    nghttp2_session_consume(session_, stream_id, len);
    return 0;
  }
  s->last_activity = now();
  s->in_received += len;
  if (s->in_content_length && s->in_received > *s->in_content_length) {
    nghttp2_session_consume(session_, stream_id, len);
    bump(counters_.malformed_bodies_total);
    s->in_error = BodyError::kMalformed;
    drop_inbound(*s);
    s->in_ready.notify_all();
    reset_stream(*s, NGHTTP2_PROTOCOL_ERROR, true);
    return 0;
  }
  s->in_buf.append(reinterpret_cast<const char*>(data), len);
  stats_.max_stream_buffered = std::max(stats_.max_stream_buffered, s->in_buf.size());
  s->in_ready.notify_all();
  return 0;
}

int SessionCore::handle_header(const nghttp2_frame& frame, std::string_view name,
                               std::string_view value) {
  if (frame.hd.type != NGHTTP2_HEADERS) return 0;  // PUSH_PROMISE is disabled by SETTINGS
  std::shared_ptr<Stream> s = find(frame.hd.stream_id);
  if (!s || s->rejected) return 0;
  const std::optional<HeaderError> error = std::visit(
      [&](auto& builder) -> std::optional<HeaderError> {
        if constexpr (std::is_same_v<std::decay_t<decltype(builder)>, std::monostate>) {
          return std::nullopt;
        } else {
          return builder.add(name, value);
        }
      },
      s->block);
  if (!error) return 0;
  // Over budget the HPACK state can't be trusted to be worth keeping: close the connection.
  if (*error == HeaderError::kTooLarge) return header_flood();
  if (*error == HeaderError::kTooManyFields && server_ &&
      std::holds_alternative<RequestHeadBuilder>(s->block)) {
    if (!s->over_field_limit) bump(counters_.header_fields_over_limit_total);
    s->over_field_limit = true;  // answered with 431 once the block is complete
    return 0;
  }
  reject_malformed(*s, to_string(*error));
  return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
}

int SessionCore::handle_stream_close(int32_t stream_id, uint32_t error_code) {
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return 0;
  std::shared_ptr<Stream> s = std::move(it->second);
  streams_.erase(it);
  s->closed = true;
  s->close_code = error_code;
  if (!s->in_ended && !s->in_error) s->in_error = BodyError::kPeerReset;
  if (s->in_error) drop_inbound(*s);
  on_stream_closed(*s);
  s->in_ready.notify_all();
  s->out_drained.notify_all();
  s->events.notify_all();
  if (server_ && s->reset_by_peer && !s->local_closed &&
      now() - s->opened_at < settings_.premature_reset_age) {
    if (auto a = abuse_.on_premature_reset()) return abuse(*a);
  }
  return 0;
}

int SessionCore::handle_frame_send(const nghttp2_frame& frame) {
  const int32_t id = frame.hd.stream_id;
  std::shared_ptr<Stream> s = id != 0 ? find(id) : nullptr;
  const bool end = (frame.hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  switch (frame.hd.type) {
    case NGHTTP2_HEADERS:
    case NGHTTP2_DATA:
      if (frame.hd.type == NGHTTP2_DATA) abuse_.on_data_frame_sent();
      if (!s) break;
      s->last_activity = now();
      if (frame.hd.type == NGHTTP2_HEADERS) s->headers_sent = true;
      if (end) {
        s->local_closed = true;
        // The response is complete but the request still uploads and nobody reads it.
        if (server_ && s->consumer_gone && !s->in_ended && !s->in_error) {
          reset_stream(*s, NGHTTP2_NO_ERROR, false);
        }
      }
      break;
    case NGHTTP2_GOAWAY:
      if (frame.goaway.error_code != NGHTTP2_NO_ERROR) {
        // Either ours (the reason is already recorded) or nghttp2's for a protocol violation.
        set_reason(CloseReason::kProtocolError);
        if (!fatal_) {
          fatal_ = true;
          fatal_at_ = now();
        }
      }
      break;
    default:
      break;
  }
  return 0;
}

int SessionCore::handle_frame_not_send(const nghttp2_frame& frame) {
  // A HEADERS that could not go out (GOAWAY, stream limits): the stream never started.
  if (frame.hd.type == NGHTTP2_HEADERS) {
    if (auto s = find(frame.hd.stream_id); s && !s->headers_sent) {
      handle_stream_close(frame.hd.stream_id, NGHTTP2_REFUSED_STREAM);
    }
  }
  return 0;
}

ssize_t SessionCore::handle_read_data(int32_t stream_id, uint8_t* buf, size_t length,
                                      uint32_t* flags) {
  std::shared_ptr<Stream> s = find(stream_id);
  if (!s) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  const size_t n = std::min(s->out_pending(), length);
  if (n > 0) {
    std::memcpy(buf, s->out_buf.data() + s->out_off, n);
    s->out_off += n;
    if (s->out_off == s->out_buf.size()) {
      s->out_buf.clear();
      s->out_off = 0;
    } else if (s->out_off * 2 > s->out_buf.size()) {
      s->out_buf.erase(0, s->out_off);
      s->out_off = 0;
    }
    s->last_activity = now();
    if (s->out_pending() < settings_.stream_send_buffer) s->out_drained.notify_all();
  }
  if (s->out_pending() > 0) return static_cast<ssize_t>(n);
  if (!s->out_ended) {
    if (n > 0) return static_cast<ssize_t>(n);
    s->out_deferred = true;  // pump_body resumes us when the body yields more
    return NGHTTP2_ERR_DEFERRED;
  }
  *flags |= NGHTTP2_DATA_FLAG_EOF;
  if (!s->out_trailers.empty()) {
    auto fields = trailer_fields(s->out_trailers);
    s->out_trailers.clear();
    counters_.invalid_outbound_headers_total.fetch_add(fields.dropped, std::memory_order_relaxed);
    if (!fields.fields.empty()) {
      auto nv = to_nv(fields.fields);
      if (nghttp2_submit_trailer(session_, stream_id, nv.data(), nv.size()) == 0) {
        *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      }
    }
  }
  return static_cast<ssize_t>(n);
}

}  // namespace detail
}  // namespace trellis::http::h2
