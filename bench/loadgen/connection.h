#pragma once
// What every connection of a run shares: the run's immutable context, the start gate, the
// connect-with-deadline and the reconnect backoff. One connection is one coroutine on its
// worker's io_context (DESIGN.md §7.3); its state lives in its object, owned by the runner.
//
// Life of a connection: connect (before the start, so handshakes of the first requests are not
// measured) -> arrive at the gate -> the runner opens every gate with one common start time ->
// build the Pacer -> protocol loop (http1_connection.h, http2_connection.h) until the Pacer is
// done and nothing is in flight. A lost connection is re-established as long as the Pacer still
// has requests to send; every failed attempt counts as a connect error.

#include <cstdint>
#include <latch>
#include <optional>
#include <string>
#include <vector>

#include "loadgen/options.h"
#include "loadgen/recorder.h"
#include "loadgen/schedule.h"
#include "net/asio.h"

namespace trellis::bench::loadgen {

// Immutable during a run, shared by every thread.
struct RunContext {
  Protocol protocol = Protocol::kHttp1;
  net::tcp::endpoint endpoint;
  Plan plan;
  Duration timeout{0};
  bool head_request = false;        // HTTP/1: responses to HEAD have no body
  std::string http1_request;        // the complete request bytes
  std::vector<Header> http2_headers;
  std::string body;                 // h2c / gRPC request body (gRPC: framed)
};

// The start line of one worker: connections arrive (counting down the run-wide latch) and wait
// until the runner opens the gate with the common start time. Used on its worker's thread only,
// except open(), which the runner posts there.
class StartGate {
 public:
  StartGate(net::asio::any_io_executor executor, std::latch& ready);

  net::awaitable<TimePoint> arrive_and_wait();
  // Counts a connection that will never wait (it failed before the gate).
  void arrive_without_waiting() { ready_.count_down(); }
  void open(TimePoint start);
  net::asio::any_io_executor executor() { return timer_.get_executor(); }

 private:
  net::asio::steady_timer timer_;
  std::latch& ready_;
  std::optional<TimePoint> start_;
};

class Connection {
 public:
  Connection(const RunContext& context, uint32_t index, Recorder& recorder, StartGate& gate);
  virtual ~Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs the connection to the end of the run. Never throws: an unexpected exception ends this
  // connection and is kept in failure() for the runner to report.
  net::awaitable<void> run();
  const std::string& failure() const { return failure_; }

 protected:
  virtual net::awaitable<void> run_connection() = 0;

  // First connect, the gate, then the Pacer. Call once at the top of run_connection().
  net::awaitable<void> connect_and_wait_for_start();
  // One connect attempt with the run's timeout; counts success or failure in the recorder.
  net::awaitable<bool> connect();
  // After a failed attempt: waits the current backoff (10 ms doubling to 320 ms), never past
  // the time the Pacer stops sending.
  net::awaitable<void> backoff();
  void close();

  const RunContext& context_;
  const uint32_t index_;
  Recorder& recorder_;
  StartGate& gate_;
  net::tcp::socket socket_;
  std::optional<Pacer> pacer_;

 private:
  Duration backoff_;
  bool arrived_ = false;
  std::string failure_;
};

}  // namespace trellis::bench::loadgen
