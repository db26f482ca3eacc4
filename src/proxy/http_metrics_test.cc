#include "proxy/http_metrics.h"

#include <gtest/gtest.h>

#include "metrics/registry.h"
#include "proxy/http_observe.h"

namespace trellis::proxy {
namespace {

struct Fixture {
  metrics::Registry registry;
  ProxyMetrics metrics = make_proxy_metrics(registry);
  HttpMetricsCache cache{metrics};

  size_t count(std::string_view needle) {
    const std::string text = registry.render();
    size_t n = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
      ++n;
    }
    return n;
  }
};

HttpLabels outbound(std::string_view authority) {
  HttpLabels l = HttpLabels::make("outbound", authority, "10.0.0.1:8080");
  l.set_tls("no_identity", "not_provided_by_service_discovery", "", "");
  return l;
}

TEST(HttpMetricsCache, OneSeriesPerLabelSetAndTheLabelsRememberIt) {
  Fixture f;
  HttpLabels a = outbound("web.default.svc.cluster.local:80");
  f.cache.requests(a)->inc();
  ASSERT_NE(a.series, nullptr);
  HttpSeries* first = a.series.get();
  f.cache.requests(a)->inc();
  EXPECT_EQ(a.series.get(), first);
  // A second object with equal values finds the same series by hash.
  HttpLabels same = outbound("web.default.svc.cluster.local:80");
  f.cache.requests(same)->inc();
  EXPECT_EQ(same.series.get(), first);
  EXPECT_EQ(f.cache.requests(a)->value(), 3u);  // handle of the same series

  HttpLabels b = outbound("api.default.svc.cluster.local:80");
  f.cache.requests(b)->inc();
  EXPECT_NE(b.series.get(), first);
  EXPECT_EQ(f.cache.requests(b)->value(), 1u);
  EXPECT_EQ(f.count("request_total{"), 2u);
  EXPECT_EQ(f.count("authority=\"web.default.svc.cluster.local:80\""), 1u);
}

TEST(HttpMetricsCache, ChangedValuesNeverUseTheRememberedSeries) {
  Fixture f;
  HttpLabels l = outbound("web:80");
  f.cache.requests(l)->inc();
  HttpSeries* web = l.series.get();
  // Written directly, without set_*: the cache notices the values differ.
  l.values[1] = "api:80";
  f.cache.requests(l)->inc();
  EXPECT_NE(l.series.get(), web);
  EXPECT_EQ(l.series->values[1], "api:80");
  // set_dst forgets the series; the new values get their own.
  l.set_dst({{"namespace", "default"}, {"service", "api"}});
  EXPECT_EQ(l.series, nullptr);
  f.cache.requests(l)->inc();
  EXPECT_EQ(l.series->values[9], "default");
  EXPECT_EQ(f.count("request_total{"), 3u);
  EXPECT_EQ(f.count("dst_service=\"api\""), 1u);
}

TEST(HttpMetricsCache, StatusesAndOutcomesAreSeparateSeries) {
  Fixture f;
  HttpLabels l = outbound("web:80");
  f.cache.responses(l, 200, "success", "", "")->inc();
  f.cache.responses(l, 200, "success", "", "")->inc();
  f.cache.responses(l, 503, "failure", "", "fail_fast")->inc();
  f.cache.responses(l, 200, "failure", "14", "")->inc();
  f.cache.latency(l, 200)->observe(1.5);
  f.cache.latency(l, 503)->observe(0.5);
  EXPECT_EQ(f.cache.responses(l, 200, "success", "", "")->value(), 2u);
  EXPECT_EQ(f.cache.responses(l, 503, "failure", "", "fail_fast")->value(), 1u);
  EXPECT_EQ(f.count("response_total{"), 3u);
  EXPECT_EQ(f.count("status_code=\"503\",classification=\"failure\",error=\"fail_fast\""), 1u);
  EXPECT_EQ(f.count("grpc_status=\"14\""), 1u);
  EXPECT_EQ(f.count("response_latency_ms_count{"), 2u);
}

TEST(HttpMetricsCache, ClearForgetsSeriesButInFlightHandlesStayValid) {
  Fixture f;
  HttpLabels l = outbound("web:80");
  f.cache.requests(l)->inc();
  std::shared_ptr<HttpSeries> held = l.series;
  f.cache.clear();
  // Still usable by a request in flight.
  held->requests->inc();
  // The labels re-resolve after clear() (the metric's series is the same: the family holds it).
  f.cache.requests(l)->inc();
  EXPECT_NE(l.series, held);
  EXPECT_EQ(l.series->requests->value(), 3u);
  EXPECT_EQ(f.count("request_total{"), 1u);
}

TEST(HttpMetricsCache, LabelsKeyAndHashTellConcatenationsApart) {
  Fixture f;
  HttpLabels a = outbound("ab");
  a.values[2] = "c";
  HttpLabels b = outbound("a");
  b.values[2] = "bc";
  EXPECT_NE(a.key(), b.key());
  f.cache.requests(a)->inc();
  f.cache.requests(b)->inc();
  EXPECT_NE(a.series, b.series);
  EXPECT_EQ(f.count("request_total{"), 2u);
}

TEST(HttpObserve, RecordsLatencyAtTheHeadAndTheResponseAtTheEndOfTheStream) {
  Fixture f;
  HttpLabels l = outbound("web:80");
  http::Response response;
  response.head.status = 200;
  response.body = http::make_buffered_body("hello", {});
  auto observed = observe_response(f.cache, l, std::chrono::steady_clock::now(),
                                   std::move(response));
  EXPECT_EQ(f.count("response_latency_ms_count{"), 1u);
  EXPECT_EQ(f.count("response_total{"), 0u);
  net::asio::io_context io;
  bool done = false;
  net::asio::co_spawn(io, [&]() -> net::awaitable<void> {
    auto chunk = co_await observed.body->next();
    EXPECT_TRUE(chunk && chunk->end_of_stream);
    done = true;
  }, net::asio::detached);
  io.run();
  ASSERT_TRUE(done);
  EXPECT_EQ(f.cache.responses(l, 200, "success", "", "")->value(), 1u);
  observed.body.reset();  // no second count
  EXPECT_EQ(f.cache.responses(l, 200, "success", "", "")->value(), 1u);
}

TEST(HttpObserve, DroppedBodyCountsAsCancelledFailure) {
  Fixture f;
  HttpLabels l = outbound("web:80");
  http::Response response;
  response.head.status = 200;
  response.body = http::make_buffered_body("hello", {});
  {
    auto observed = observe_response(f.cache, l, std::chrono::steady_clock::now(),
                                     std::move(response));
  }
  EXPECT_EQ(f.cache.responses(l, 200, "failure", "", "cancelled")->value(), 1u);
  EXPECT_EQ(f.count("response_total{"), 1u);
}

TEST(HttpObserve, EmptyBodyIsRecordedWithTheHead) {
  Fixture f;
  HttpLabels l = outbound("web:80");
  http::Response response;
  response.head.status = 200;
  response.head.headers.add("grpc-status", "14");
  response.body = http::make_empty_body();
  auto observed = observe_response(f.cache, l, std::chrono::steady_clock::now(),
                                   std::move(response), "");
  EXPECT_EQ(f.cache.responses(l, 200, "failure", "14", "")->value(), 1u);
}

}  // namespace
}  // namespace trellis::proxy
