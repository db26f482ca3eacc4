#pragma once
// An HTTP/2 connection with prior knowledge (h2c), many streams at once, through an nghttp2
// client session: the generator's side of --protocol h2c and --protocol grpc.
//
// One session per TCP connection, driven by three coroutines on the connection's thread:
//   writer    asks the Pacer, submits due requests (up to max_in_flight streams), flushes
//             nghttp2's output; the only one that writes to the socket.
//   reader    feeds received bytes to nghttp2; its callbacks finish streams and wake the writer
//             (a freed stream slot, a SETTINGS ack or WINDOW_UPDATE to send).
//   watchdog  resets streams that pass their deadline (send + --timeout) with RST_STREAM(CANCEL)
//             and counts them as timeouts.
// The first of them to see the connection fail closes it; the others notice and return. Streams
// still open then finish as io (or protocol, if nghttp2 rejected the peer's bytes) errors, and
// the connection reconnects if the Pacer has more to send. After a GOAWAY no new stream is
// started: the open ones drain, then the connection is replaced. At the end the writer sends
// GOAWAY(NO_ERROR) and closes.
//
// A stream succeeds when the response is complete (END_STREAM) and, for h2c, :status is 2xx; for
// gRPC, :status is 200 and grpc-status (trailers, or a trailers-only response) is 0.

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "loadgen/connection.h"

namespace trellis::bench::loadgen {

class Http2Connection final : public Connection {
 public:
  Http2Connection(const RunContext& context, uint32_t index, Recorder& recorder,
                  StartGate& gate);
  ~Http2Connection() override;

 protected:
  net::awaitable<void> run_connection() override;

 private:
  struct Stream {
    Slot slot;
    int status = 0;
    int grpc_status = -1;      // -1: not received
    bool bad_header = false;   // an unparsable :status or grpc-status
    bool complete = false;     // END_STREAM received
    bool finished = false;     // reported to the Pacer (completion, timeout or teardown)
    size_t body_offset = 0;    // request body bytes handed to nghttp2
  };
  struct SessionDeleter {
    void operator()(nghttp2_session* session) const { nghttp2_session_del(session); }
  };

  bool start_session();
  net::awaitable<void> session_loop();
  net::awaitable<void> writer();
  net::awaitable<void> reader();
  net::awaitable<void> watchdog();
  // Moves nghttp2's pending output to the socket. False once the connection is dead.
  net::awaitable<bool> flush();
  void submit(const Slot& slot, TimePoint now);
  // Drops leading deadlines of streams that already finished.
  void prune_deadlines();
  void finish_stream(Stream& stream, Outcome outcome, TimePoint now);
  Outcome classify(const Stream& stream, uint32_t error_code) const;
  // Ends the connection: open streams will finish as `outcome` when the session is torn down.
  void close_connection(Outcome outcome);
  void teardown();
  void wake();

  // nghttp2 callbacks; user_data is the connection.
  static int on_header(nghttp2_session* session, const nghttp2_frame* frame,
                       const uint8_t* name, size_t namelen, const uint8_t* value,
                       size_t valuelen, uint8_t flags, void* user_data);
  static int on_frame_recv(nghttp2_session* session, const nghttp2_frame* frame,
                           void* user_data);
  static int on_stream_close(nghttp2_session* session, int32_t stream_id, uint32_t error_code,
                             void* user_data);
  static ssize_t read_body(nghttp2_session* session, int32_t stream_id, uint8_t* buf,
                           size_t length, uint32_t* data_flags, nghttp2_data_source* source,
                           void* user_data);

  net::asio::steady_timer wake_timer_;
  net::asio::steady_timer watchdog_timer_;
  std::unique_ptr<nghttp2_session, SessionDeleter> session_;
  std::vector<nghttp2_nv> nva_;  // views into context_.http2_headers
  std::unordered_map<int32_t, std::unique_ptr<Stream>> streams_;
  std::deque<std::pair<TimePoint, int32_t>> deadlines_;  // in send order, so in deadline order
  std::vector<uint8_t> read_buffer_;
  std::string write_buffer_;
  bool dead_ = false;
  bool wake_pending_ = false;
  bool goaway_ = false;
  bool progress_ = false;  // a response completed on this session
  Outcome dead_outcome_ = Outcome::kIo;
};

}  // namespace trellis::bench::loadgen
