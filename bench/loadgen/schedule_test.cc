// The open-loop schedule and the coordinated-omission correction, driven by a fake clock: the
// tests pass `now` to the Pacer exactly as the connection coroutines do with the real clock.

#include "loadgen/schedule.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <set>
#include <vector>

namespace trellis::bench::loadgen {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using Kind = Decision::Kind;

const TimePoint kStart = TimePoint{} + std::chrono::hours(1);

Plan open_plan(double rate, uint32_t connections, Duration duration, Duration warmup = {},
               uint32_t max_in_flight = 1) {
  return Plan{.rate = rate,
              .connections = connections,
              .warmup = warmup,
              .duration = duration,
              .grace = std::chrono::seconds(5),
              .max_in_flight = max_in_flight,
              .jitter = 0,
              .seed = 1};
}

// One HTTP/1-like connection (one request in flight) against a server whose service time per
// request index is given, on a fake clock. Mirrors Http1Connection::request_loop().
struct Simulation {
  Recorder recorder;
  std::vector<Slot> slots;
  std::vector<TimePoint> sent_at;

  void run(const Plan& plan, uint32_t connection,
           const std::function<Duration(uint64_t)>& service) {
    Pacer pacer(plan, connection, kStart, recorder);
    TimePoint now = kStart;
    while (true) {
      const Decision d = pacer.next(now);
      if (d.kind == Kind::kDone) break;
      ASSERT_NE(d.kind, Kind::kWaitForCompletion);  // nothing is in flight here
      if (d.kind == Kind::kWaitUntil) {
        ASSERT_GT(d.until, now);
        now = d.until;
        continue;
      }
      const Slot slot = pacer.take(now);
      slots.push_back(slot);
      sent_at.push_back(now);
      now += service(slot.index);
      pacer.finish(slot, now, Outcome::kOk, 200);
    }
    EXPECT_EQ(pacer.in_flight(), 0u);
  }
};

TEST(Pacer, PlannedOffsetAndFirstIndexAgree) {
  for (double rate : {1.0, 3.0, 7.5, 1000.0, 123456.7}) {
    for (int64_t ms : {0, 1, 333, 1000, 1001, 12345}) {
      const Duration offset = milliseconds(ms);
      const uint64_t i = Pacer::first_index(offset, rate);
      EXPECT_GE(Pacer::planned_offset(i, rate), offset) << rate << " " << ms;
      if (i > 0) {
        EXPECT_LT(Pacer::planned_offset(i - 1, rate), offset) << rate << " " << ms;
      }
    }
  }
  EXPECT_EQ(Pacer::planned_offset(3, 1000), milliseconds(3));
  EXPECT_EQ(Pacer::planned_offset(1, 3), Duration(333'333'333));
}

TEST(Pacer, ConnectionsInterleaveAndTogetherFollowThePlan) {
  const Plan plan = open_plan(300, 3, std::chrono::seconds(1));
  std::set<uint64_t> indices;
  Recorder total;
  for (uint32_t c = 0; c < 3; ++c) {
    Simulation sim;
    sim.run(plan, c, [](uint64_t) { return microseconds(10); });
    ASSERT_EQ(sim.slots.size(), 100u);
    for (size_t k = 0; k < sim.slots.size(); ++k) {
      const Slot& s = sim.slots[k];
      EXPECT_EQ(s.index, c + 3 * k);  // connection c owns c, c+3, c+6, ...
      EXPECT_EQ(s.scheduled, kStart + Pacer::planned_offset(s.index, 300));
      EXPECT_EQ(sim.sent_at[k], s.scheduled);  // never late: the server is fast
      EXPECT_TRUE(s.measured);
      indices.insert(s.index);
    }
    total.merge(sim.recorder);
  }
  EXPECT_EQ(indices.size(), 300u);
  EXPECT_EQ(*indices.rbegin(), 299u);
  EXPECT_EQ(total.planned(), 300u);
  EXPECT_EQ(total.sent(), 300u);
  EXPECT_EQ(total.count(Outcome::kOk), 300u);
  EXPECT_EQ(total.latency().max(), 10'000u);  // every latency is the 10 us service time
  EXPECT_EQ(total.send_delay().max(), 0u);
}

TEST(Pacer, RequestCountIsExactAtTheWindowEdge) {
  // Request 100 is planned at exactly 500 ms: outside [0, 500 ms).
  Simulation sim;
  sim.run(open_plan(200, 1, milliseconds(500)), 0, [](uint64_t) { return microseconds(1); });
  EXPECT_EQ(sim.slots.size(), 100u);
  EXPECT_EQ(sim.recorder.planned(), 100u);
  EXPECT_EQ(sim.recorder.sent(), 100u);
}

TEST(Pacer, WarmupRequestsAreSentButNotMeasured) {
  Simulation sim;
  sim.run(open_plan(100, 1, milliseconds(500), milliseconds(200)), 0,
          [](uint64_t) { return microseconds(50); });
  ASSERT_EQ(sim.slots.size(), 70u);
  for (const Slot& s : sim.slots) EXPECT_EQ(s.measured, s.index >= 20) << s.index;
  EXPECT_EQ(sim.recorder.planned(), 50u);
  EXPECT_EQ(sim.recorder.sent(), 50u);
  EXPECT_EQ(sim.recorder.warmup_requests(), 20u);
  EXPECT_EQ(sim.recorder.count(Outcome::kOk), 50u);
  EXPECT_EQ(sim.recorder.latency().count(), 50u);
}

// The coordinated-omission correction. 1000 req/s on one connection, 100 us per response,
// except request 10, which stalls the server for 50 ms. Requests 11.. were due during the stall;
// each waits for the connection, and that wait is part of its latency.
TEST(Pacer, AStallShowsUpInTheLatencyOfEveryRequestThatWaited) {
  const Plan plan = open_plan(1000, 1, milliseconds(100));
  auto service = [](uint64_t index) -> Duration {
    return index == 10 ? Duration(milliseconds(50)) : Duration(microseconds(100));
  };
  Simulation sim;
  sim.run(plan, 0, service);
  ASSERT_EQ(sim.slots.size(), 100u);

  // An independent model of the same connection: send when planned or when the previous
  // response is done, whichever is later; latency from the planned time.
  Histogram expected;
  std::vector<Duration> latencies;
  TimePoint free_at = kStart;
  for (uint64_t k = 0; k < 100; ++k) {
    const TimePoint planned = kStart + milliseconds(k);
    const TimePoint sent = std::max(planned, free_at);
    free_at = sent + service(k);
    latencies.push_back(free_at - planned);
    expected.record(static_cast<uint64_t>(latencies.back().count()));
    EXPECT_EQ(sim.sent_at[k], sent) << k;
  }
  // Request 11 went out when the stall ended (60 ms) and took 49.1 ms in all; the backlog
  // drains 0.9 ms per request until request 66 is on time again.
  EXPECT_EQ(latencies[10], milliseconds(50));
  EXPECT_EQ(latencies[11], microseconds(49'100));
  EXPECT_EQ(latencies[65], microseconds(500));
  EXPECT_EQ(latencies[66], microseconds(100));
  const auto waited = std::count_if(latencies.begin(), latencies.end(),
                                    [](Duration d) { return d > microseconds(100); });
  EXPECT_EQ(waited, 56);  // the stalled request and the 55 that queued behind it

  const Histogram& got = sim.recorder.latency();
  EXPECT_EQ(got.count(), 100u);
  EXPECT_EQ(got.max(), 50'000'000u);
  EXPECT_EQ(got.min(), 100'000u);
  EXPECT_EQ(got.mean(), expected.mean());
  const auto got_buckets = got.nonempty_buckets();
  const auto want_buckets = expected.nonempty_buckets();
  ASSERT_EQ(got_buckets.size(), want_buckets.size());
  for (size_t i = 0; i < got_buckets.size(); ++i) {
    EXPECT_EQ(got_buckets[i].lowest_ns, want_buckets[i].lowest_ns);
    EXPECT_EQ(got_buckets[i].count, want_buckets[i].count);
  }
  // Sorted, the 56 waits follow 44 on-time requests: the median is the 6th smallest wait
  // (request 60: 5 ms) and p90 the 46th (request 20: 41 ms).
  const auto p50 = static_cast<double>(got.value_at_percentile(50));
  const auto p90 = static_cast<double>(got.value_at_percentile(90));
  EXPECT_GE(p50, 5e6);
  EXPECT_LE(p50, 5e6 * (1 + Histogram::kRelativePrecision));
  EXPECT_GE(p90, 41e6);
  EXPECT_LE(p90, 41e6 * (1 + Histogram::kRelativePrecision));
  // How late each request actually went out is recorded too.
  EXPECT_EQ(sim.recorder.send_delay().max(), 49'000'000u);  // request 11: due 11 ms, sent 60
}

TEST(Pacer, ClosedLoopHidesTheSameStall) {
  // What a closed-loop tool reports for the same server: one slow request among fast ones.
  Plan plan = open_plan(0, 1, milliseconds(100));
  Simulation sim;
  sim.run(plan, 0, [](uint64_t index) -> Duration {
    return index == 10 ? Duration(milliseconds(50)) : Duration(microseconds(100));
  });
  const Histogram& got = sim.recorder.latency();
  EXPECT_EQ(got.max(), 50'000'000u);
  // ~500 requests, only one slow: p99 is the fast service time (within the precision).
  EXPECT_GE(got.value_at_percentile(99), 100'000u);
  EXPECT_LE(got.value_at_percentile(99), 100'000u * (1 + Histogram::kRelativePrecision));
  EXPECT_EQ(sim.recorder.send_delay().max(), 0u);    // closed loop is never "late"
}

TEST(Pacer, BacklogIsStillSentAfterTheWindowWithinTheGrace) {
  // The stall reaches past the end of the window: the requests planned inside it are still
  // sent (and measured) afterwards, so the count stays exact.
  Plan plan = open_plan(1000, 1, milliseconds(20));
  plan.grace = milliseconds(100);
  Simulation sim;
  sim.run(plan, 0, [](uint64_t index) -> Duration {
    return index == 15 ? Duration(milliseconds(40)) : Duration(microseconds(100));
  });
  EXPECT_EQ(sim.slots.size(), 20u);
  EXPECT_EQ(sim.recorder.unsent(), 0u);
  EXPECT_GT(sim.sent_at.back(), kStart + milliseconds(20));  // after the window
  EXPECT_EQ(sim.recorder.latency().count(), 20u);
}

TEST(Pacer, GivesUpAfterTheGraceAndCountsTheRestAsUnsent) {
  Plan plan = open_plan(100, 1, std::chrono::seconds(1));
  plan.grace = milliseconds(100);
  Recorder recorder;
  Pacer pacer(plan, 0, kStart, recorder);
  EXPECT_EQ(recorder.planned(), 100u);
  ASSERT_EQ(pacer.next(kStart).kind, Kind::kSend);
  const Slot first = pacer.take(kStart);
  // The response never comes; the caller's timeout fires much later.
  EXPECT_EQ(pacer.next(kStart + milliseconds(500)).kind, Kind::kWaitForCompletion);
  const TimePoint give_up = kStart + milliseconds(1100);
  EXPECT_EQ(pacer.give_up(), give_up);
  EXPECT_EQ(pacer.next(give_up - Duration(1)).kind, Kind::kWaitForCompletion);
  EXPECT_EQ(pacer.next(give_up).kind, Kind::kDone);
  EXPECT_EQ(pacer.next(give_up + milliseconds(1)).kind, Kind::kDone);  // counted once
  pacer.finish(first, give_up, Outcome::kTimeout);
  EXPECT_EQ(recorder.sent(), 1u);
  EXPECT_EQ(recorder.unsent(), 99u);
  EXPECT_EQ(recorder.count(Outcome::kTimeout), 1u);
  EXPECT_EQ(recorder.planned(), recorder.sent() + recorder.unsent());
  EXPECT_EQ(recorder.latency().count(), 0u);  // errors stay out of the latency
}

TEST(Pacer, UnsentCountsOnlyThisConnectionsMeasuredRequests) {
  Plan plan = open_plan(1000, 4, milliseconds(100), milliseconds(50));
  plan.grace = Duration(0);
  Recorder recorder;
  Pacer pacer(plan, 2, kStart, recorder);
  EXPECT_EQ(recorder.planned(), 25u);  // indices 50..149 that are 2 mod 4
  EXPECT_EQ(pacer.next(kStart + milliseconds(150)).kind, Kind::kDone);
  EXPECT_EQ(recorder.unsent(), 25u);  // warmup requests are not counted
}

TEST(Pacer, InFlightBoundHoldsBackDueRequests) {
  Recorder recorder;
  Pacer pacer(open_plan(1000, 1, milliseconds(100), {}, 3), 0, kStart, recorder);
  const TimePoint now = kStart + milliseconds(10);  // 11 requests are due
  std::vector<Slot> taken;
  while (pacer.next(now).kind == Kind::kSend) taken.push_back(pacer.take(now));
  ASSERT_EQ(taken.size(), 3u);
  EXPECT_EQ(pacer.in_flight(), 3u);
  EXPECT_EQ(pacer.next(now).kind, Kind::kWaitForCompletion);
  pacer.finish(taken[1], now + milliseconds(1), Outcome::kOk);
  EXPECT_EQ(pacer.next(now + milliseconds(1)).kind, Kind::kSend);
  const Slot fourth = pacer.take(now + milliseconds(1));
  EXPECT_EQ(fourth.index, 3u);
  EXPECT_EQ(fourth.scheduled, kStart + milliseconds(3));  // latency still counts from here
}

TEST(Pacer, WaitsUntilTheNextPlannedTime) {
  Recorder recorder;
  Pacer pacer(open_plan(10, 2, std::chrono::seconds(1)), 1, kStart, recorder);
  // Connection 1 of 2 at 10 req/s: requests 1, 3, 5, ... at 100 ms, 300 ms, 500 ms, ...
  Decision d = pacer.next(kStart);
  ASSERT_EQ(d.kind, Kind::kWaitUntil);
  EXPECT_EQ(d.until, kStart + milliseconds(100));
  ASSERT_EQ(pacer.next(d.until).kind, Kind::kSend);
  const Slot slot = pacer.take(d.until);
  EXPECT_EQ(slot.index, 1u);
  d = pacer.next(d.until);
  ASSERT_EQ(d.kind, Kind::kWaitForCompletion);
  pacer.finish(slot, kStart + milliseconds(101), Outcome::kOk);
  d = pacer.next(kStart + milliseconds(101));
  ASSERT_EQ(d.kind, Kind::kWaitUntil);
  EXPECT_EQ(d.until, kStart + milliseconds(300));
}

TEST(Pacer, JitterDelaysWithinOneIntervalDeterministically) {
  Plan plan = open_plan(1000, 4, milliseconds(200));
  plan.jitter = 1.0;
  auto run = [&](uint64_t seed, uint32_t connection) {
    Plan p = plan;
    p.seed = seed;
    Simulation sim;
    sim.run(p, connection, [](uint64_t) { return microseconds(1); });
    return sim;
  };
  const Duration interval = milliseconds(4);  // 4 connections at 1000 req/s
  Simulation a = run(9, 1);
  ASSERT_EQ(a.slots.size(), 50u);  // jitter never changes which requests are planned
  EXPECT_EQ(a.recorder.planned(), 50u);
  bool any_delayed = false;
  for (size_t k = 0; k < a.slots.size(); ++k) {
    const TimePoint nominal = kStart + Pacer::planned_offset(a.slots[k].index, 1000);
    EXPECT_GE(a.slots[k].scheduled, nominal);
    EXPECT_LT(a.slots[k].scheduled, nominal + interval);
    if (k > 0) {
      EXPECT_GT(a.slots[k].scheduled, a.slots[k - 1].scheduled);
    }
    any_delayed |= a.slots[k].scheduled != nominal;
  }
  EXPECT_TRUE(any_delayed);
  Simulation again = run(9, 1);
  Simulation other_seed = run(10, 1);
  Simulation other_connection = run(9, 2);
  bool same = true, differs_by_seed = false, differs_by_connection = false;
  for (size_t k = 0; k < a.slots.size(); ++k) {
    const auto offset = [&](const Simulation& s) {
      return s.slots[k].scheduled - (kStart + Pacer::planned_offset(s.slots[k].index, 1000));
    };
    same &= offset(again) == offset(a);
    differs_by_seed |= offset(other_seed) != offset(a);
    differs_by_connection |= offset(other_connection) != offset(a);
  }
  EXPECT_TRUE(same);
  EXPECT_TRUE(differs_by_seed);
  EXPECT_TRUE(differs_by_connection);
}

TEST(Pacer, ClosedLoopSendsWhenFreeAndMeasuresFromTheSend) {
  Plan plan = open_plan(0, 2, milliseconds(100), milliseconds(10), 2);
  Recorder recorder;
  Pacer pacer(plan, 0, kStart, recorder);
  Decision d = pacer.next(kStart - milliseconds(1));
  ASSERT_EQ(d.kind, Kind::kWaitUntil);  // nothing before the common start
  EXPECT_EQ(d.until, kStart);

  const Slot warm = pacer.take(kStart);
  EXPECT_FALSE(warm.measured);
  pacer.finish(warm, kStart + milliseconds(1), Outcome::kOk);

  const TimePoint t = kStart + milliseconds(20);
  ASSERT_EQ(pacer.next(t).kind, Kind::kSend);
  const Slot a = pacer.take(t);
  ASSERT_EQ(pacer.next(t).kind, Kind::kSend);
  const Slot b = pacer.take(t);
  EXPECT_EQ(pacer.next(t).kind, Kind::kWaitForCompletion);
  EXPECT_TRUE(a.measured);
  EXPECT_EQ(a.scheduled, t);
  EXPECT_NE(a.index, b.index);
  EXPECT_EQ(a.index % 2, 0u);  // unique across the run's connections
  pacer.finish(a, t + microseconds(300), Outcome::kOk);
  pacer.finish(b, t + microseconds(700), Outcome::kStatus, 503);
  EXPECT_EQ(recorder.latency().count(), 1u);
  EXPECT_EQ(recorder.latency().max(), 300'000u);
  EXPECT_EQ(recorder.warmup_requests(), 1u);
  EXPECT_EQ(recorder.sent(), 2u);
  EXPECT_EQ(pacer.next(kStart + milliseconds(110)).kind, Kind::kDone);
  EXPECT_EQ(recorder.unsent(), 0u);
}

}  // namespace
}  // namespace trellis::bench::loadgen
