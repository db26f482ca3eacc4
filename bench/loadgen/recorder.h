#pragma once
// What a run measured, per worker thread (no sharing on the hot path) and merged at the end.
//
// Accounting, for the requests whose planned send time falls inside the measurement window
// (after warmup): planned = sent + unsent, and sent = ok + the per-request errors once the run
// is over. Requests of the warmup are counted in warmup_requests when sent, and nowhere else.
// Connection failures are counted per attempt (connect_errors): they are not requests.
// Latency is measured from the planned send time (see schedule.h); only successful requests
// enter the latency histogram unless include_errors, so a fast stream of 503s cannot make a
// target look quick.

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <string_view>

#include "loadgen/histogram.h"

namespace trellis::bench::loadgen {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

// The result of one request. Stable snake_case names (to_string) are the JSON keys.
enum class Outcome : uint8_t {
  kOk,          // 2xx (HTTP), or :status 200 with grpc-status 0 (gRPC)
  kStatus,      // a complete response with a non-2xx status (gRPC: :status != 200)
  kGrpcStatus,  // gRPC: grpc-status present and not 0
  kProtocol,    // malformed response, missing :status / grpc-status, bytes nobody asked for
  kReset,       // HTTP/2: the server reset the stream or refused it (RST_STREAM, GOAWAY)
  kTimeout,     // no complete response within --timeout of the send
  kIo,          // the connection failed or closed before the response was complete
};
inline constexpr size_t kOutcomeCount = 7;
std::string_view to_string(Outcome outcome);

// One planned request.
struct Slot {
  uint64_t index = 0;    // request number, unique across connections of a run
  TimePoint scheduled;   // when it should be sent: latency is measured from here
  bool measured = false; // inside the measurement window (after warmup)
};

class Recorder {
 public:
  Recorder() = default;
  explicit Recorder(bool include_errors) : include_errors_(include_errors) {}

  // Measured requests the open-loop plan of a connection holds.
  void add_planned(uint64_t n) { planned_ += n; }
  // A request went on the wire at `now`; its send delay is now - slot.scheduled.
  void on_sent(const Slot& slot, TimePoint now);
  // A sent request finished; `status` is the HTTP status when there was one (else 0).
  void on_done(const Slot& slot, TimePoint now, Outcome outcome, int status);
  // Measured requests that were never sent: the run gave up on them (see schedule.h).
  void add_unsent(uint64_t n) { unsent_ += n; }
  void on_connect_error() { ++connect_errors_; }
  void on_connected() { ++connections_opened_; }

  void merge(const Recorder& other);

  uint64_t planned() const { return planned_; }
  uint64_t sent() const { return sent_; }
  uint64_t unsent() const { return unsent_; }
  uint64_t warmup_requests() const { return warmup_requests_; }
  uint64_t count(Outcome outcome) const { return outcomes_[static_cast<size_t>(outcome)]; }
  uint64_t completed() const;  // every measured request that finished, ok or not
  uint64_t errors() const;     // completed() - ok
  uint64_t connect_errors() const { return connect_errors_; }
  uint64_t connections_opened() const { return connections_opened_; }
  // Measured non-2xx responses by status code.
  const std::map<int, uint64_t>& statuses() const { return statuses_; }
  bool include_errors() const { return include_errors_; }
  // When the last measured request finished (TimePoint{} if none): a run whose backlog drained
  // after the window must not report the target rate as achieved.
  TimePoint last_done() const { return last_done_; }

  // Planned send time -> end of response, nanoseconds.
  const Histogram& latency() const { return latency_; }
  // Planned send time -> actual send: how far the generator (or a busy connection) fell behind.
  const Histogram& send_delay() const { return send_delay_; }

 private:
  bool include_errors_ = false;
  uint64_t planned_ = 0;
  uint64_t sent_ = 0;
  uint64_t unsent_ = 0;
  uint64_t warmup_requests_ = 0;
  uint64_t connect_errors_ = 0;
  uint64_t connections_opened_ = 0;
  std::array<uint64_t, kOutcomeCount> outcomes_{};
  std::map<int, uint64_t> statuses_;
  TimePoint last_done_{};
  Histogram latency_;
  Histogram send_delay_;
};

}  // namespace trellis::bench::loadgen
