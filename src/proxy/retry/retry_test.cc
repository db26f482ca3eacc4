// Tests of retries: the budget with a fake clock (ratio, minimum per second, expiry over the
// ttl window), the retry decision and its order of checks, backoff, and replayable bodies.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "net/asio.h"
#include "proxy/retry/backoff.h"
#include "proxy/retry/budget.h"
#include "proxy/retry/decision.h"
#include "proxy/retry/replay.h"

namespace trellis::proxy::retry {
namespace {

namespace pb = api::traffic::v1;
using std::chrono::milliseconds;
using std::chrono::seconds;

const Clock::time_point kT0 = Clock::time_point() + std::chrono::hours(1000);

RetryBudgetConfig config(double ratio, uint32_t min_per_second, milliseconds ttl = seconds(10)) {
  RetryBudgetConfig c;
  c.retry_ratio = ratio;
  c.min_retries_per_second = min_per_second;
  c.ttl = ttl;
  return c;
}

int withdraw_all(RetryBudget& b, Clock::time_point now, int max = 1'000'000) {
  int n = 0;
  while (n < max && b.try_withdraw(now)) ++n;
  return n;
}

// ---- budget ----------------------------------------------------------------------------------

TEST(RetryBudgetTest, ReserveIsMinPerSecondTimesTtl) {
  RetryBudget b(config(0.2, 10), kT0);
  EXPECT_EQ(b.available(kT0), 100);
  EXPECT_EQ(withdraw_all(b, kT0), 100);
  EXPECT_FALSE(b.try_withdraw(kT0 + seconds(5)));
  // The withdrawals expire with their slot, one ttl later.
  EXPECT_EQ(b.available(kT0 + seconds(10)), 100);
}

TEST(RetryBudgetTest, RatioOfRequestsOnTopOfTheReserve) {
  RetryBudget b(config(0.2, 0), kT0);
  EXPECT_FALSE(b.try_withdraw(kT0));
  for (int i = 0; i < 4; ++i) b.deposit(kT0);
  EXPECT_FALSE(b.try_withdraw(kT0));  // 0.8 of a retry
  b.deposit(kT0);
  EXPECT_TRUE(b.try_withdraw(kT0));  // 5 requests -> 1 retry
  EXPECT_FALSE(b.try_withdraw(kT0));
  for (int i = 0; i < 1000; ++i) b.deposit(kT0 + milliseconds(500));
  EXPECT_EQ(withdraw_all(b, kT0 + milliseconds(500)), 200);
}

TEST(RetryBudgetTest, DepositsExpireAfterTheTtl) {
  RetryBudget b(config(0.5, 0, seconds(10)), kT0);
  for (int i = 0; i < 100; ++i) b.deposit(kT0);
  EXPECT_EQ(b.available(kT0 + seconds(9)), 50);
  EXPECT_EQ(b.available(kT0 + seconds(10)), 0);
  // A long idle gap clears everything at once.
  for (int i = 0; i < 100; ++i) b.deposit(kT0 + seconds(20));
  EXPECT_EQ(b.available(kT0 + seconds(1000)), 0);
}

TEST(RetryBudgetTest, SteadyLoadGetsRatioPlusMinimumOverTheWindow) {
  // 100 requests/s, every one failing, for 60 s: over any 10 s window at most
  // 0.2 * 1000 + 10 * 10 = 300 retries are allowed, and after the first window the budget is
  // the limit that binds.
  RetryBudget b(config(0.2, 10), kT0);
  std::vector<int> retries_per_second;
  for (int s = 0; s < 60; ++s) {
    int retries = 0;
    for (int i = 0; i < 100; ++i) {
      const auto now = kT0 + seconds(s) + milliseconds(i * 10);
      b.deposit(now);
      if (b.try_withdraw(now)) ++retries;
    }
    retries_per_second.push_back(retries);
  }
  for (size_t start = 0; start + 10 <= retries_per_second.size(); ++start) {
    int window = 0;
    for (size_t i = start; i < start + 10; ++i) window += retries_per_second[i];
    EXPECT_LE(window, 300) << "window starting at " << start << " s";
  }
  int last = 0;
  for (size_t i = 50; i < 60; ++i) last += retries_per_second[i];
  EXPECT_GE(last, 280);  // steady state uses (nearly) the whole budget
  EXPECT_EQ(retries_per_second[0], 100);  // the reserve absorbs the first burst
}

TEST(RetryBudgetTest, ConfigFromPolicyDefaultsAndClamps) {
  const auto d = RetryBudgetConfig::from(pb::RetryBudget());
  EXPECT_DOUBLE_EQ(d.retry_ratio, 0.2);
  EXPECT_EQ(d.min_retries_per_second, 10u);
  EXPECT_EQ(d.ttl, seconds(10));
  pb::RetryBudget p;
  p.set_retry_ratio(0.5);
  p.set_min_retries_per_second(0);
  p.set_ttl_ms(500'000);
  const auto c = RetryBudgetConfig::from(p);
  EXPECT_DOUBLE_EQ(c.retry_ratio, 0.5);
  EXPECT_EQ(c.min_retries_per_second, 0u);
  EXPECT_EQ(c.ttl, seconds(60));
}

// ---- backoff ---------------------------------------------------------------------------------

TEST(BackoffTest, ExponentialCappedWithJitter) {
  balance::FastRandom random(3);
  const Backoff none;
  EXPECT_EQ(none.delay(1, random).count(), 0);
  const Backoff plain(milliseconds(25), milliseconds(250), 0);
  EXPECT_EQ(plain.delay(1, random), milliseconds(25));
  EXPECT_EQ(plain.delay(2, random), milliseconds(50));
  EXPECT_EQ(plain.delay(4, random), milliseconds(200));
  EXPECT_EQ(plain.delay(5, random), milliseconds(250));
  EXPECT_EQ(plain.delay(60, random), milliseconds(250));
  const Backoff jittered(milliseconds(25), milliseconds(250), 1.0);
  bool varied = false;
  const auto first = jittered.delay(1, random);
  for (int i = 0; i < 1000; ++i) {
    const auto d = jittered.delay(1, random);
    EXPECT_GE(d, milliseconds(25));
    EXPECT_LT(d, milliseconds(50));
    varied |= d != first;
  }
  EXPECT_TRUE(varied);
}

// ---- decision --------------------------------------------------------------------------------

pb::RetryPolicy profile_retry() {
  pb::RetryPolicy p;
  p.set_enabled(true);
  p.set_on_classified_failure(true);
  p.set_max_request_bytes(64 * 1024);
  return p;
}

pb::RetryPolicy annotation_retry() {
  pb::RetryPolicy p;
  p.set_enabled(true);
  p.set_max_retries(2);
  auto* s = p.add_http_statuses();
  s->set_min(502);
  s->set_max(504);
  p.add_grpc_codes(14);
  p.set_per_try_timeout_ms(300);
  p.set_backoff_min_ms(25);
  p.set_backoff_max_ms(250);
  p.set_backoff_jitter(1.0);
  return p;
}

Outcome failed(int status) {
  Outcome o;
  o.status = status;
  o.classification = route::Classification::kFailure;
  return o;
}

TEST(RetryDecisionTest, ProfileRetriesClassifiedFailures) {
  RetryBudget budget(config(0.2, 10), kT0);
  balance::FastRandom random(1);
  EXPECT_EQ(decide(profile_retry(), failed(500), {}, budget, kT0, random).verdict, Verdict::kRetry);
  Outcome ok;
  ok.status = 200;
  EXPECT_EQ(decide(profile_retry(), ok, {}, budget, kT0, random).verdict,
            Verdict::kNotRetryableOutcome);
  // A 404 classified as a failure by the route's response classes is retried too.
  EXPECT_EQ(decide(profile_retry(), failed(404), {}, budget, kT0, random).verdict,
            Verdict::kRetry);
  // No per-request limit and no backoff for profile retries.
  RequestState many;
  many.retries_done = 50;
  const Decision d = decide(profile_retry(), failed(500), many, budget, kT0, random);
  EXPECT_EQ(d.verdict, Verdict::kRetry);
  EXPECT_EQ(d.backoff.count(), 0);
}

TEST(RetryDecisionTest, NotRetryableRouteNeverRetriesAndTakesNoBudget) {
  RetryBudget budget(config(0, 1, seconds(1)), kT0);  // exactly one retry available
  balance::FastRandom random(1);
  EXPECT_EQ(decide(pb::RetryPolicy(), failed(500), {}, budget, kT0, random).verdict,
            Verdict::kRouteNotRetryable);
  EXPECT_EQ(budget.available(kT0), 1);
}

TEST(RetryDecisionTest, AnnotationConditions) {
  RetryBudget budget(config(0.2, 1000), kT0);
  balance::FastRandom random(1);
  const auto p = annotation_retry();
  EXPECT_EQ(decide(p, failed(503), {}, budget, kT0, random).verdict, Verdict::kRetry);
  EXPECT_EQ(decide(p, failed(500), {}, budget, kT0, random).verdict,
            Verdict::kNotRetryableOutcome);
  Outcome grpc;
  grpc.status = 200;
  grpc.grpc_status = 14;
  EXPECT_EQ(decide(p, grpc, {}, budget, kT0, random).verdict, Verdict::kRetry);
  grpc.grpc_status = 13;
  EXPECT_EQ(decide(p, grpc, {}, budget, kT0, random).verdict, Verdict::kNotRetryableOutcome);
  Outcome timeout;
  timeout.per_try_timeout = true;
  EXPECT_EQ(decide(p, timeout, {}, budget, kT0, random).verdict, Verdict::kRetry);
  Outcome reset;  // no response at all
  EXPECT_EQ(decide(p, reset, {}, budget, kT0, random).verdict, Verdict::kRetry);
  RequestState limit;
  limit.retries_done = 2;
  EXPECT_EQ(decide(p, failed(503), limit, budget, kT0, random).verdict, Verdict::kLimitReached);
  const Decision d = decide(p, failed(503), {}, budget, kT0, random);
  EXPECT_GE(d.backoff, milliseconds(25));
  EXPECT_LT(d.backoff, milliseconds(50));
}

TEST(RetryDecisionTest, BodyDeadlineAndBudgetInThatOrder) {
  RetryBudget budget(config(0, 1, seconds(1)), kT0);  // one retry
  balance::FastRandom random(1);
  RequestState big;
  big.body_replayable = false;
  EXPECT_EQ(decide(profile_retry(), failed(500), big, budget, kT0, random).verdict,
            Verdict::kBodyNotReplayable);
  RequestState late;
  late.deadline = kT0;
  EXPECT_EQ(decide(profile_retry(), failed(500), late, budget, kT0, random).verdict,
            Verdict::kDeadline);
  // Backoff that would end past the deadline: no retry either.
  RequestState tight;
  tight.deadline = kT0 + milliseconds(20);
  EXPECT_EQ(decide(annotation_retry(), failed(503), tight, budget, kT0, random).verdict,
            Verdict::kDeadline);
  EXPECT_EQ(budget.available(kT0), 1);  // none of those took from the budget
  EXPECT_EQ(decide(profile_retry(), failed(500), {}, budget, kT0, random).verdict,
            Verdict::kRetry);
  const Decision d = decide(profile_retry(), failed(500), {}, budget, kT0, random);
  EXPECT_EQ(d.verdict, Verdict::kNoBudget);
  EXPECT_STREQ(to_string(d.verdict), "no_budget");
}

struct Simulation {
  int requests = 0;
  int succeeded = 0;
  int retries = 0;
};

// Seed template 3 with 30% injected 500s: `rps` requests per second for `seconds_run` seconds,
// each tried until it succeeds or the retry decision says no.
Simulation simulate(int rps, int seconds_run) {
  RetryBudget budget(config(0.2, 10), kT0);
  balance::FastRandom random(11);
  balance::FastRandom fault(12);
  Simulation sim;
  sim.requests = rps * seconds_run;
  for (int i = 0; i < sim.requests; ++i) {
    const auto now = kT0 + milliseconds(i * 1000 / rps);
    budget.deposit(now);
    RequestState state;
    while (true) {
      if (fault.below(100) >= 30) {
        ++sim.succeeded;
        break;
      }
      const Decision d = decide(profile_retry(), failed(500), state, budget, now, random);
      if (!d.retry()) break;
      ++sim.retries;
      ++state.retries_done;
    }
  }
  return sim;
}

TEST(RetryDecisionTest, ThirtyPercentFailuresAtLowRateAreAllRecovered) {
  // 10 requests/s: the 10 retries/s minimum covers every failure.
  const Simulation sim = simulate(10, 30);
  EXPECT_EQ(sim.succeeded, sim.requests);
  EXPECT_GT(sim.retries, 0);
}

TEST(RetryDecisionTest, ThirtyPercentFailuresAtHighRateStayWithinTheBudget) {
  // 100 requests/s: about 0.43 retries per request would be needed, the budget gives 0.2 per
  // request + 10/s. Without retries 70% succeed; with them ~89%, never more retries than the
  // budget: ratio * requests + the reserve (100) + the minimum renewed each later second.
  const Simulation sim = simulate(100, 30);
  EXPECT_LE(sim.retries, static_cast<int>(0.2 * sim.requests) + 100 + 10 * 30);
  EXPECT_GE(sim.retries, static_cast<int>(0.2 * sim.requests));
  EXPECT_GE(sim.succeeded, sim.requests * 88 / 100);
}

// ---- replayable bodies -----------------------------------------------------------------------

class ChunkedBody : public http::Body {
 public:
  explicit ChunkedBody(std::vector<std::string> chunks, std::optional<uint64_t> hint = {})
      : chunks_(std::move(chunks)), hint_(hint) {}
  net::awaitable<base::Result<http::BodyChunk, http::BodyError>> next() override {
    http::BodyChunk c;
    if (index_ < chunks_.size()) c.data = chunks_[index_++];
    c.end_of_stream = index_ == chunks_.size();
    if (c.end_of_stream) c.trailers.add("x-trailer", "t");
    ++reads;
    co_return c;
  }
  std::optional<uint64_t> size_hint() const override { return hint_; }
  int reads = 0;

 private:
  std::vector<std::string> chunks_;
  std::optional<uint64_t> hint_;
  size_t index_ = 0;
};

struct ReadResult {
  std::string data;
  bool complete = false;
  std::optional<http::BodyError> error;
  std::string trailer;
};

// Reads up to `max_chunks` chunks of `body` (all when 0).
ReadResult read(http::Body& body, int max_chunks = 0) {
  net::asio::io_context io;
  ReadResult out;
  net::asio::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        for (int n = 0; max_chunks == 0 || n < max_chunks; ++n) {
          auto c = co_await body.next();
          if (!c.ok()) {
            out.error = c.error();
            co_return;
          }
          out.data += c->data;
          if (c->end_of_stream) {
            out.complete = true;
            if (auto t = c->trailers.get("x-trailer")) out.trailer = std::string(*t);
            co_return;
          }
        }
      },
      net::asio::detached);
  io.run();
  return out;
}

TEST(ReplayBufferTest, ReplaysAWholeBody) {
  auto buffer = ReplayBuffer::make(std::make_unique<ChunkedBody>(
      std::vector<std::string>{"hello ", "world"}));
  auto first = buffer->attempt();
  const ReadResult r1 = read(*first);
  EXPECT_EQ(r1.data, "hello world");
  EXPECT_TRUE(r1.complete);
  EXPECT_EQ(r1.trailer, "t");
  EXPECT_TRUE(buffer->replayable());
  auto second = buffer->attempt();
  const ReadResult r2 = read(*second);
  EXPECT_EQ(r2.data, "hello world");
  EXPECT_TRUE(r2.complete);
  EXPECT_EQ(r2.trailer, "t");
  // The superseded body no longer reads.
  EXPECT_EQ(read(*first).error, http::BodyError::kCancelled);
}

TEST(ReplayBufferTest, RetryAfterAPartialFirstAttemptContinuesTheOriginal) {
  auto original = std::make_unique<ChunkedBody>(std::vector<std::string>{"a", "b", "c"});
  ChunkedBody* raw = original.get();
  auto buffer = ReplayBuffer::make(std::move(original));
  auto first = buffer->attempt();
  EXPECT_EQ(read(*first, 1).data, "a");
  auto second = buffer->attempt();
  const ReadResult r = read(*second);
  EXPECT_EQ(r.data, "abc");
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(raw->reads, 3);  // the original was read once
}

TEST(ReplayBufferTest, BodiesOverTheLimitStreamButAreNotReplayable) {
  auto buffer = ReplayBuffer::make(
      std::make_unique<ChunkedBody>(std::vector<std::string>{"12345", "67890"}), 8);
  auto first = buffer->attempt();
  const ReadResult r = read(*first);
  EXPECT_EQ(r.data, "1234567890");
  EXPECT_TRUE(r.complete);
  EXPECT_FALSE(buffer->replayable());
  EXPECT_EQ(buffer->buffered_bytes(), 0u);
}

TEST(ReplayBufferTest, ContentLengthOverTheLimitIsNotReplayableFromTheStart) {
  auto buffer = ReplayBuffer::make(
      std::make_unique<ChunkedBody>(std::vector<std::string>{"x"}, 70'000));
  EXPECT_FALSE(buffer->replayable());
  auto buffer2 = ReplayBuffer::make(
      std::make_unique<ChunkedBody>(std::vector<std::string>{"x"}, 65'536));
  EXPECT_TRUE(buffer2->replayable());
}

}  // namespace
}  // namespace trellis::proxy::retry
