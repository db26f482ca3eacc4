#pragma once
// When each connection sends, and from which instant each request's latency counts.
//
// Open loop (rate > 0): the run's plan is request i at start + i/rate, for i = 0, 1, ...;
// connection c of C owns the requests i = c, c + C, c + 2C, ... So the whole run sends at the
// target rate however many connections there are, and the connections are staggered instead of
// firing together. A request's latency is measured from its *planned* time, not from when it
// actually went out: if the target stalls for 50 ms, every request that should have gone out
// during the stall and had to wait carries that wait in its latency. That is the coordinated
// omission correction; a tool that measured from the actual send would record one slow request
// and many fast ones, and hide the stall.
//   - Jitter (0..1) delays each planned time by a random fraction of jitter * the connection's
//     interval, so connections do not tick in lockstep. Delays are independent, not cumulative,
//     stay below one interval (the order is kept) and are never negative (nothing is planned
//     before the start), so the rate and the request count are unchanged.
//   - Requests planned in [start, start + warmup) are sent but not measured; requests planned in
//     [start + warmup, start + warmup + duration) are measured. Which requests those are depends
//     only on their index, never on jitter or timing, so a run's request count is exact.
//   - A connection falling behind sends its backlog as fast as the in-flight bound allows. It
//     keeps doing so after the end of the window, until start + warmup + duration + grace; what
//     is still unsent then is counted as unsent, so a target that stops answering shows up as
//     unsent requests instead of silently shortening the run.
// Closed loop (rate == 0): from the start, each connection sends whenever it has fewer than
// max_in_flight requests outstanding, until the end of the window; latency counts from the
// actual send.
//
// Pacer is the per-connection decision logic, free of I/O and of the clock: the caller passes
// `now`. The connection coroutines call it with the real clock, the tests with a fake one.

#include <chrono>
#include <cstdint>
#include <random>

#include "loadgen/recorder.h"

namespace trellis::bench::loadgen {

using Duration = std::chrono::nanoseconds;

struct Plan {
  double rate = 0;              // requests per second over the whole run; 0 = closed loop
  uint32_t connections = 1;     // C
  Duration warmup{0};
  Duration duration{0};
  Duration grace{0};            // how long after the window a backlog may still be sent
  uint32_t max_in_flight = 1;   // per connection
  double jitter = 0;            // 0..1, open loop only
  uint64_t seed = 1;            // jitter is deterministic for a given seed
};

struct Decision {
  enum class Kind : uint8_t {
    kSend,               // a request is due: take() it and send it now
    kWaitUntil,          // nothing due before `until`
    kWaitForCompletion,  // the in-flight bound is reached: wait for a response or a timeout
    kDone,               // nothing more will be sent; wait for in_flight() to reach 0
  };
  Kind kind = Kind::kDone;
  TimePoint until;  // kWaitUntil only
};

class Pacer {
 public:
  // `connection` in [0, plan.connections). Open loop: adds this connection's measured requests
  // to recorder.planned().
  Pacer(const Plan& plan, uint32_t connection, TimePoint start, Recorder& recorder);

  // What to do at `now`. Once it has returned kDone it always does. In open loop, the first
  // kDone at or after give_up() counts the remaining measured requests as unsent.
  Decision next(TimePoint now);
  // Takes the due request (only after next() returned kSend) and counts it as sent at `now`.
  Slot take(TimePoint now);
  // A taken request finished at `now`.
  void finish(const Slot& slot, TimePoint now, Outcome outcome, int status = 0);

  uint32_t in_flight() const { return in_flight_; }
  bool open_loop() const { return plan_.rate > 0; }
  TimePoint start() const { return start_; }
  TimePoint window_end() const { return window_end_; }
  TimePoint give_up() const { return give_up_; }
  // After this, next() returns kDone: the window end (closed loop) or give_up() (open loop).
  TimePoint sending_ends() const { return open_loop() ? give_up_ : window_end_; }

  // The plan's arithmetic, exposed for tests. The offset of request i from the start, and the
  // first request planned at or after `offset` (requests [first_index(a), first_index(b)) are
  // the ones planned in [a, b)).
  static Duration planned_offset(uint64_t index, double rate);
  static uint64_t first_index(Duration offset, double rate);

 private:
  Slot planned_slot() const;  // open loop: the next request of this connection
  void advance();      // open loop: on to the next request of this connection
  void draw_jitter();  // open loop: the delay of request k_
  uint64_t remaining_measured() const;

  Plan plan_;
  uint32_t connection_;
  TimePoint start_;
  TimePoint window_end_;
  TimePoint give_up_;
  Recorder& recorder_;
  uint32_t in_flight_ = 0;
  bool done_ = false;

  // Open loop: this connection's k-th request is index connection + k * connections.
  uint64_t k_ = 0;
  uint64_t first_measured_ = 0;  // first index planned at or after start + warmup
  uint64_t end_index_ = 0;       // first index planned at or after the window end
  Duration interval_{0};         // between two requests of this connection
  Duration jitter_delay_{0};     // of request k_
  std::mt19937_64 random_;
};

}  // namespace trellis::bench::loadgen
