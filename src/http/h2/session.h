#pragma once
// The engine shared by ServerSession and ClientSession: one nghttp2 session on one Transport,
// driven by three coroutines (reader, writer, watchdog) on the connection's io_context. Every
// nghttp2 callback lands in one member of SessionCore (session.cc adapts them in one place);
// the role-specific parts are the few virtual hooks below. See README.md for the flow.

#include <nghttp2/nghttp2.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <variant>

#include "http/body.h"
#include "http/h2/abuse.h"
#include "http/h2/headers.h"
#include "http/h2/settings.h"
#include "http/h2/transport.h"
#include "http/message.h"
#include "net/asio.h"

namespace trellis::http::h2 {

// Why a session ended; the first reason recorded wins.
enum class CloseReason : uint8_t {
  kNone,
  kPeerClosed,         // end of stream or reset from the peer
  kReadError,
  kWriteError,
  kGoaway,             // a GOAWAY exchange (either side) completed and every stream finished
  kLocalClose,         // close() was called
  kProtocolError,      // the peer broke the protocol (nghttp2 sent GOAWAY with an error)
  kIdleTimeout,
  kHeaderTimeout,
  kWriteTimeout,
  kDrainTimeout,
  kRapidReset,
  kHeaderFlood,
  kControlFlood,
  kPriorityFlood,
  kWindowUpdateFlood,
  kEmptyFrameFlood,
  kOutboundFlood,
};
const char* to_string(CloseReason r);

// Per-session figures, mostly for tests and debug logs.
struct SessionStats {
  uint64_t streams_opened = 0;
  uint64_t bytes_received = 0;
  uint64_t bytes_sent = 0;
  size_t max_open_streams = 0;      // high-water mark of concurrently open streams
  size_t max_stream_buffered = 0;   // most unread body bytes held for one stream
  uint32_t max_stream_window = 0;   // largest receive window advertised for a stream
  uint64_t window_grows = 0;        // stream windows doubled because the consumer kept up
};

namespace detail {

using Clock = std::chrono::steady_clock;

// A condition-variable for one thread: wait() suspends until the next notify_all(). Waiters
// re-check their condition in a loop, so a notification with nobody waiting is harmless.
class Notifier {
 public:
  explicit Notifier(const net::asio::any_io_executor& ex)
      : timer_(ex, net::asio::steady_timer::time_point::max()) {}
  net::awaitable<void> wait() { co_await timer_.async_wait(net::use_nothrow); }
  void notify_all() { timer_.cancel(); }

 private:
  net::asio::steady_timer timer_;
};

class SessionCore;

// One stream, shared by the session (while nghttp2 has it open), the coroutine serving it and
// the Body handed to the application, which may outlive both: `session` is cleared when the
// session is destroyed, and closed streams never call into nghttp2 for anything but consumption.
struct Stream {
  Stream(SessionCore* owner, int32_t stream_id, const net::asio::any_io_executor& ex);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  SessionCore* session;
  int32_t id;
  Clock::time_point opened_at;
  Clock::time_point last_activity;

  // The header block being received.
  std::variant<std::monostate, RequestHeadBuilder, ResponseHeadBuilder, TrailersBuilder> block;
  bool rejected = false;          // reset by us; ignore whatever else arrives
  bool over_field_limit = false;  // server: answer 431 instead of calling the service
  bool head_received = false;
  bool head_request = false;      // the request was HEAD: the response has no body
  std::optional<RequestHead> request;
  std::optional<ResponseHead> response;  // client: the final (non-1xx) response

  // Inbound body: DATA lands in in_buf and is released to the peer's window only when the
  // consumer takes it (StreamBody::next).
  std::string in_buf;
  bool in_ended = false;
  Headers in_trailers;
  std::optional<BodyError> in_error;
  uint64_t in_received = 0;
  std::optional<uint64_t> in_content_length;
  bool consumer_gone = false;
  uint32_t recv_window = 0;
  uint64_t consumed_since_grow = 0;
  Notifier in_ready;

  // Outbound body: the pump appends, nghttp2's data source callback drains.
  std::string out_buf;
  size_t out_off = 0;
  bool out_ended = false;
  Headers out_trailers;
  bool out_deferred = false;
  bool headers_sent = false;
  bool local_closed = false;  // END_STREAM sent
  Notifier out_drained;

  // Lifecycle.
  bool closed = false;
  uint32_t close_code = 0;
  bool reset_by_peer = false;
  bool reset_locally = false;
  Notifier events;  // head received, or closed

  size_t out_pending() const { return out_buf.size() - out_off; }
};

class SessionCore {
 public:
  SessionCore(const SessionCore&) = delete;
  SessionCore& operator=(const SessionCore&) = delete;
  virtual ~SessionCore();

  // Drives the connection until it ends, then waits for every stream coroutine (and, on the
  // client, every send()) to finish. The session may be destroyed once run() has returned.
  net::awaitable<void> run();
  // Graceful shutdown: GOAWAY (a shutdown notice first on the server, then the last stream id
  // after graceful_shutdown_delay); in-flight streams finish, new ones are refused.
  void shutdown();
  // Abortive close: the transport is closed and every stream fails.
  void close();

  bool is_closed() const { return closed_; }
  bool goaway_received() const { return goaway_received_; }
  CloseReason close_reason() const { return close_reason_; }
  const SessionStats& stats() const { return stats_; }
  size_t open_streams() const { return streams_.size(); }

 protected:
  SessionCore(bool server, Transport& transport, const H2Settings& settings,
              H2Counters& counters, std::string initial_bytes);

  // --- Role hooks ---
  // A HEADERS frame starts a header block on `frame.hd.stream_id`.
  virtual int on_begin_headers(const nghttp2_frame& frame) = 0;
  // The header block (HEADERS + CONTINUATION) of `stream` is complete.
  virtual int on_headers_complete(Stream& stream, const nghttp2_frame& frame) = 0;
  virtual void on_stream_closed(Stream&) {}
  virtual void on_goaway_received() {}
  virtual void on_teardown() {}

  // --- Machinery for the roles ---
  std::shared_ptr<Stream> add_stream(int32_t id);
  std::shared_ptr<Stream> find(int32_t id) const;
  // RST_STREAM. `peer_caused` resets count towards the peer's reset budget.
  void reset_stream(Stream& stream, uint32_t error_code, bool peer_caused);
  // A message the peer got wrong: count it and reset the stream with PROTOCOL_ERROR.
  void reject_malformed(Stream& stream, const char* why);
  // The END_STREAM flag arrived (on DATA or HEADERS); checks content-length.
  void end_inbound(Stream& stream);
  // Discards unread inbound bytes, giving their window back.
  void drop_inbound(Stream& stream);
  // The Body the application reads `stream`'s inbound DATA through.
  static BodyPtr make_stream_body(std::shared_ptr<Stream> stream);
  void notify_writer() { write_ready_.notify_all(); }
  // Runs `task` as a stream coroutine that run() waits for.
  void spawn(net::awaitable<void> task);
  // Streams `body` out on `stream` (its data source must be body_source()) until the end, an
  // error (the stream is reset) or the stream closing.
  net::awaitable<void> pump_body(std::shared_ptr<Stream> stream, BodyPtr body);
  nghttp2_data_provider body_source();
  // Converts fields to nghttp2's array; the strings must outlive the submit call.
  static std::vector<nghttp2_nv> to_nv(const std::vector<Header>& fields);
  Clock::time_point now() const { return Clock::now(); }
  static net::awaitable<void> wait_closed(std::shared_ptr<Stream> stream);

  // Keeps run() from finishing while a client send() is in progress.
  class TaskGuard {
   public:
    explicit TaskGuard(SessionCore& s) : s_(s) { ++s_.tasks_; }
    ~TaskGuard() { s_.task_done(); }
    TaskGuard(const TaskGuard&) = delete;
    TaskGuard& operator=(const TaskGuard&) = delete;

   private:
    SessionCore& s_;
  };

  const bool server_;
  Transport& transport_;
  const H2Settings settings_;
  H2Counters& counters_;
  net::asio::any_io_executor executor_;
  nghttp2_session* session_ = nullptr;
  std::unordered_map<int32_t, std::shared_ptr<Stream>> streams_;
  SessionStats stats_;
  AbuseGuard abuse_;
  size_t tasks_ = 0;
  bool closed_ = false;
  bool fatal_ = false;             // stop feeding input to nghttp2; flush and close
  bool shutdown_requested_ = false;
  bool goaway_received_ = false;
  uint64_t connection_id_ = 0;  // for logs: [C<id>]

 private:
  friend struct Callbacks;
  friend struct Stream;
  friend class StreamBody;

  // nghttp2 callbacks (session.cc adapts the C signatures to these).
  int handle_begin_frame(const nghttp2_frame_hd& hd);
  int handle_frame_recv(const nghttp2_frame& frame);
  int handle_invalid_frame_recv(const nghttp2_frame& frame);
  int handle_data_chunk(int32_t stream_id, const uint8_t* data, size_t len);
  int handle_header(const nghttp2_frame& frame, std::string_view name, std::string_view value);
  int handle_stream_close(int32_t stream_id, uint32_t error_code);
  int handle_frame_send(const nghttp2_frame& frame);
  int handle_frame_not_send(const nghttp2_frame& frame);
  ssize_t handle_read_data(int32_t stream_id, uint8_t* buf, size_t length, uint32_t* flags);

  // Called by StreamBody.
  void consume(Stream& stream, size_t bytes);
  void consumer_gone(Stream& stream);

  net::awaitable<void> read_loop();
  net::awaitable<void> write_loop();
  net::awaitable<void> watchdog();
  void feed(const uint8_t* data, size_t size);
  void check_deadlines(Clock::time_point t);
  void submit_final_goaway();
  // Records why the session ends (first call wins) and bumps the matching counter.
  void set_reason(CloseReason reason);
  // Stops processing input, sends GOAWAY(code) and closes once it is flushed.
  void fail(CloseReason reason, uint32_t h2_error);
  // For callbacks: fail() with ENHANCE_YOUR_CALM and stop nghttp2 right away.
  int abuse(Abuse a);
  int header_flood();
  void close_now(CloseReason reason);
  // No more input will be processed: closing, or the protocol exchange is complete.
  bool input_finished() const;
  void finish_writing();
  void teardown_streams();
  void task_done();
  static net::awaitable<void> run_task(SessionCore* self, net::awaitable<void> task);

  std::string initial_;
  std::unordered_set<Stream*> all_streams_;  // every live Stream, to detach on destruction
  Notifier write_ready_;
  Notifier tasks_done_;
  net::asio::steady_timer watchdog_timer_;
  Clock::duration tick_;
  bool started_ = false;
  bool write_finished_ = false;    // our side is done (FIN sent); waiting for the peer's
  bool writing_ = false;
  bool goaway_submitted_ = false;  // the final GOAWAY of a graceful shutdown
  CloseReason close_reason_ = CloseReason::kNone;
  Clock::time_point last_activity_;
  Clock::time_point write_started_;
  Clock::time_point fatal_at_;
  Clock::time_point finished_at_;
  Clock::time_point shutdown_at_;
  // The header block in progress (HEADERS + CONTINUATION budget).
  bool in_header_block_ = false;
  Clock::time_point header_block_started_;
  size_t header_block_bytes_ = 0;
  uint32_t continuations_ = 0;
  size_t lingered_bytes_ = 0;
};

}  // namespace detail
}  // namespace trellis::http::h2
