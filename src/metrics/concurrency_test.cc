// Several worker threads update series while another thread scrapes or sweeps. Totals must be
// exact, and every scrape must parse and be internally consistent. Workers keep going until
// the other thread has done a minimum amount of work, so the races are really exercised; a
// wall-clock deadline only bounds a broken build. Run under the sanitizer build too: the churn
// test is where a use-after-free between release and sweep would show.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "metrics/exposition_parser.h"
#include "metrics/registry.h"

namespace trellis::metrics {
namespace {

using namespace std::chrono_literals;

constexpr int kThreads = 4;
constexpr uint64_t kMinIterations = 200000;
constexpr auto kDeadline = 20s;

TEST(ConcurrencyTest, ParallelIncrementsWithParallelScrapesAreExact) {
  constexpr int kMinScrapes = 50;
  ManualClock clock;
  Registry registry(RegistryOptions{.clock = &clock});
  Family<Counter>& requests = registry.counter("request_total", "h", {"direction"});
  Family<Counter>& per_thread = registry.counter("thread_total", "h", {"thread"});
  Family<Gauge>& open = registry.gauge("tcp_open_connections", "h", {});
  static constexpr double kBounds[] = {1, 10, 100};
  Family<Histogram>& latency = registry.histogram("response_latency_ms", "h", {}, kBounds);

  std::atomic<bool> done{false};
  std::atomic<int> scrape_failures{0};
  std::atomic<int> scrapes{0};
  std::thread scraper([&] {
    double last_shared = 0;
    while (!done.load()) {
      auto parsed = parse_exposition(registry.render());
      if (!parsed.ok()) {
        ++scrape_failures;
        continue;
      }
      ++scrapes;
      const double shared =
          parsed->value("request_total", {{"direction", "outbound"}}).value_or(0);
      if (shared < last_shared) ++scrape_failures;  // counters never go backwards
      last_shared = shared;
      const auto inf = parsed->value("response_latency_ms_bucket", {{"le", "+Inf"}});
      const auto count = parsed->value("response_latency_ms_count");
      if (inf != count) ++scrape_failures;  // +Inf bucket and _count always agree
    }
  });

  struct Expected {
    uint64_t iterations = 0;
    uint64_t sum = 0;
    uint64_t le1 = 0;
    uint64_t le100 = 0;
  };
  std::vector<Expected> expected(kThreads);
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  std::latch start(kThreads);  // released together, so the increments really overlap
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      // Each worker looks its handles up once, as a connection would.
      Handle<Counter> shared = requests.get({"outbound"});
      Handle<Counter> mine = per_thread.get({std::to_string(t)});
      Handle<Gauge> conns = open.get({});
      Handle<Histogram> lat = latency.get({});
      Expected& e = expected[t];
      start.arrive_and_wait();
      while (e.iterations < kMinIterations ||
             (scrapes.load(std::memory_order_relaxed) < kMinScrapes &&
              std::chrono::steady_clock::now() < deadline)) {
        const uint64_t v = e.iterations % 200;
        shared->inc();
        mine->inc(2);
        conns->inc();
        lat->observe(static_cast<double>(v));  // integers: the sum stays exact in a double
        conns->dec();
        ++e.iterations;
        e.sum += v;
        e.le1 += v <= 1;
        e.le100 += v <= 100;
      }
    });
  }
  for (auto& w : workers) w.join();
  done = true;
  scraper.join();

  RecordProperty("scrapes", scrapes.load());
  EXPECT_GE(scrapes.load(), kMinScrapes);
  EXPECT_EQ(scrape_failures.load(), 0);
  Expected total;
  for (const Expected& e : expected) {
    total.iterations += e.iterations;
    total.sum += e.sum;
    total.le1 += e.le1;
    total.le100 += e.le100;
  }
  auto parsed = parse_exposition(registry.render());
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  EXPECT_EQ(parsed->value("request_total", {{"direction", "outbound"}}),
            static_cast<double>(total.iterations));
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(parsed->value("thread_total", {{"thread", std::to_string(t)}}),
              2.0 * static_cast<double>(expected[t].iterations));
  }
  EXPECT_EQ(parsed->value("tcp_open_connections"), 0);
  EXPECT_EQ(parsed->value("response_latency_ms_count"), static_cast<double>(total.iterations));
  EXPECT_EQ(parsed->value("response_latency_ms_sum"), static_cast<double>(total.sum));
  EXPECT_EQ(parsed->value("response_latency_ms_bucket", {{"le", "1"}}),
            static_cast<double>(total.le1));
  EXPECT_EQ(parsed->value("response_latency_ms_bucket", {{"le", "100"}}),
            static_cast<double>(total.le100));
  EXPECT_EQ(parsed->value("response_latency_ms_bucket", {{"le", "+Inf"}}),
            static_cast<double>(total.iterations));
}

// Nothing but contended updates of one series from every thread at once: the tightest window
// for a lost update if an increment were not a single atomic read-modify-write.
TEST(ConcurrencyTest, ContendedUpdatesOfOneSeriesAreExact) {
  constexpr int kPerThread = 500000;
  Registry registry;
  Handle<Counter> counter = registry.counter("request_total", "h", {}).get({});
  Handle<Gauge> gauge = registry.gauge("tcp_open_connections", "h", {}).get({});
  static constexpr double kBounds[] = {1};
  Handle<Histogram> histogram = registry.histogram("latency_ms", "h", {}, kBounds).get({});
  std::latch start(kThreads);
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      Handle<Counter> c = counter;
      Handle<Gauge> g = gauge;
      Handle<Histogram> h = histogram;
      start.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) {
        c->inc();
        g->add(t % 2 == 0 ? 3 : -1);
        h->observe(2);
      }
    });
  }
  for (auto& w : workers) w.join();
  EXPECT_EQ(counter->value(), uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(gauge->value(), int64_t{kThreads / 2} * kPerThread * 2);
  EXPECT_EQ(histogram->count(), uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(histogram->sum(), 2.0 * kThreads * kPerThread);
}

TEST(ConcurrencyTest, ChurningSeriesWhileSweepingNeverLosesAHeldSeries) {
  constexpr size_t kMinDrops = 500;
  ManualClock clock;
  // retain_idle 0: a series is dropped at the first sweep after its last release, so sweeps
  // race with releases and re-creations as hard as they can.
  Registry registry(RegistryOptions{.retain_idle = 0ns, .clock = &clock});
  Family<Counter>& churn = registry.counter("route_request_total", "h", {"rt_route"});
  Family<Counter>& pinned_family = registry.counter("pinned_total", "h", {});
  Handle<Counter> pinned = pinned_family.get({});

  std::atomic<bool> done{false};
  std::atomic<size_t> dropped{0};
  std::thread sweeper([&] {
    while (!done.load()) {
      dropped += registry.sweep();
      clock.advance(1ms);
    }
  });
  std::atomic<int> lost_updates{0};
  std::atomic<uint64_t> iterations{0};
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  std::latch start(kThreads);
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      Handle<Counter> mine = pinned;  // a copy made on another thread holds the series too
      start.arrive_and_wait();
      for (uint64_t i = 0;
           i < kMinIterations / 40 ||
           (dropped.load(std::memory_order_relaxed) < kMinDrops &&
            std::chrono::steady_clock::now() < deadline);
           ++i) {
        Handle<Counter> h = churn.get({std::to_string((t * 7 + i) % 64)});
        const uint64_t before = h->value();
        h->inc();
        Handle<Counter> copy = h;
        h.reset();
        copy->inc();
        // While `copy` is held the series cannot be swept, so both increments are visible.
        if (copy->value() < before + 2) ++lost_updates;
        mine->inc();
        ++iterations;
      }
    });
  }
  for (auto& w : workers) w.join();
  done = true;
  sweeper.join();

  RecordProperty("dropped_while_running", static_cast<int>(dropped.load()));
  EXPECT_GE(dropped.load(), kMinDrops);
  EXPECT_EQ(lost_updates.load(), 0);
  EXPECT_EQ(pinned->value(), iterations.load());
  clock.advance(1ms);
  registry.sweep();
  EXPECT_EQ(churn.size(), 0u) << "no handle is left, so every churned series is gone";
  EXPECT_EQ(pinned_family.size(), 1u);
}

}  // namespace
}  // namespace trellis::metrics
