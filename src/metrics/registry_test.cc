#include "metrics/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>

#include "metrics/text_format.h"

namespace trellis::metrics {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

TEST(RegistryTest, RendersASmallRegistryExactly) {
  ManualClock clock;
  Registry r(RegistryOptions{.clock = &clock});
  // Registered out of name order: the output is sorted by family name regardless.
  Family<Gauge>& open = r.gauge("tcp_open_connections", "Number of currently open connections.",
                                {});
  static constexpr double kBounds[] = {1, 10, 100};
  Family<Histogram>& latency = r.histogram(
      "response_latency_ms", "Time to first byte of the response, in milliseconds.",
      {"direction"}, kBounds);
  Family<Counter>& requests =
      r.counter("request_total", "Total count of HTTP requests.", {"direction", "authority"});

  auto out = requests.get({"outbound", "web.default.svc.cluster.local:80"});
  out->inc(3);
  auto in = requests.get({"inbound", ""});
  in->inc();
  auto conns = open.get({});
  conns->set(2);
  auto lat = latency.get({"inbound"});
  for (const double v : {0.5, 7.0, 7.0, 1000.0}) lat->observe(v);

  EXPECT_EQ(r.render(),
            "# HELP request_total Total count of HTTP requests.\n"
            "# TYPE request_total counter\n"
            "request_total{direction=\"inbound\"} 1\n"
            "request_total{direction=\"outbound\",authority=\"web.default.svc.cluster.local:80\"}"
            " 3\n"
            "# HELP response_latency_ms Time to first byte of the response, in milliseconds.\n"
            "# TYPE response_latency_ms histogram\n"
            "response_latency_ms_bucket{direction=\"inbound\",le=\"1\"} 1\n"
            "response_latency_ms_bucket{direction=\"inbound\",le=\"10\"} 3\n"
            "response_latency_ms_bucket{direction=\"inbound\",le=\"100\"} 3\n"
            "response_latency_ms_bucket{direction=\"inbound\",le=\"+Inf\"} 4\n"
            "response_latency_ms_sum{direction=\"inbound\"} 1014.5\n"
            "response_latency_ms_count{direction=\"inbound\"} 4\n"
            "# HELP tcp_open_connections Number of currently open connections.\n"
            "# TYPE tcp_open_connections gauge\n"
            "tcp_open_connections 2\n");
}

TEST(RegistryTest, UnlabelledHistogramAndLatencyBucketText) {
  Registry r;
  auto h = r.histogram("control_response_latency_ms", "Latency.", {}, kLatencyBucketsMs).get({});
  h->observe(12000);
  const std::string text = r.render();
  EXPECT_THAT(text, HasSubstr("control_response_latency_ms_bucket{le=\"5000\"} 0\n"
                              "control_response_latency_ms_bucket{le=\"10000\"} 0\n"
                              "control_response_latency_ms_bucket{le=\"20000\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("control_response_latency_ms_bucket{le=\"50000\"} 1\n"
                              "control_response_latency_ms_bucket{le=\"+Inf\"} 1\n"
                              "control_response_latency_ms_sum 12000\n"
                              "control_response_latency_ms_count 1\n"));
}

TEST(RegistryTest, EscapesLabelValuesAndHelp) {
  Registry r;
  auto c = r.counter("request_total", "Requests, by \"authority\"\nwith a \\ in help.",
                     {"authority"})
               .get({"we\"ird\\host\nname"});
  c->inc();
  EXPECT_EQ(r.render(),
            "# HELP request_total Requests, by \"authority\"\\nwith a \\\\ in help.\n"
            "# TYPE request_total counter\n"
            "request_total{authority=\"we\\\"ird\\\\host\\nname\"} 1\n");
}

TEST(RegistryTest, CounterNamesAreRenderedExactlyAsGiven) {
  Registry r;
  r.counter("request_total", "h", {}).get({})->inc();
  r.counter("tcp_open_total", "h", {}).get({})->inc();
  r.counter("stack_poll_total_ms", "h", {}).get({})->inc();
  const std::string text = r.render();
  EXPECT_THAT(text, HasSubstr("\nrequest_total 1\n"));
  EXPECT_THAT(text, HasSubstr("\ntcp_open_total 1\n"));
  EXPECT_THAT(text, HasSubstr("\nstack_poll_total_ms 1\n"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("_total_total")));
}

TEST(RegistryTest, SeriesAreSortedByLabelSet) {
  Registry r;
  Family<Counter>& f = r.counter("response_total", "h", {"status_code", "classification"});
  std::vector<Handle<Counter>> held;
  for (const auto* code : {"503", "200", "404", "200"}) {
    held.push_back(f.get({code, code[0] == '2' ? "success" : "failure"}));
    held.back()->inc();
  }
  EXPECT_EQ(r.render(),
            "# HELP response_total h\n"
            "# TYPE response_total counter\n"
            "response_total{status_code=\"200\",classification=\"success\"} 2\n"
            "response_total{status_code=\"404\",classification=\"failure\"} 1\n"
            "response_total{status_code=\"503\",classification=\"failure\"} 1\n");
}

TEST(RegistryTest, RejectsInvalidRegistrations) {
  Registry r;
  r.counter("request_total", "h", {"direction"});
  static constexpr double kGood[] = {1, 2};
  static constexpr double kBad[] = {2, 1};
  EXPECT_THROW(r.counter("request_total", "h", {}), std::invalid_argument);
  EXPECT_THROW(r.gauge("request_total", "h", {}), std::invalid_argument);
  EXPECT_THROW(r.counter("request-total", "h", {}), std::invalid_argument);
  EXPECT_THROW(r.counter("", "h", {}), std::invalid_argument);
  EXPECT_THROW(r.counter("a", "h", {"bad-label"}), std::invalid_argument);
  EXPECT_THROW(r.counter("b", "h", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(r.counter("c", "h", {"x", "y", "x"}), std::invalid_argument);
  EXPECT_THROW(r.histogram("d", "h", {"le"}, kGood), std::invalid_argument);
  EXPECT_THROW(r.histogram("e", "h", {}, kBad), std::invalid_argument);
  EXPECT_NO_THROW(r.counter("le_is_fine_on_counters", "h", {"le"}));
  try {
    r.counter("f", "h", {"dst", "dst"});
    ADD_FAILURE() << "expected a throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "metric f: duplicate label name \"dst\"");
  }
  // A failed registration leaves nothing behind: the names are still free.
  EXPECT_NO_THROW(r.counter("a", "h", {}));
  EXPECT_NO_THROW(r.histogram("e", "h", {}, kGood));
}

TEST(RegistryTest, ContentType) {
  EXPECT_EQ(kTextContentType, "text/plain; version=0.0.4; charset=utf-8");
}

class FakeCollector final : public Collector {
 public:
  explicit FakeCollector(std::vector<CollectedFamily> families) : families_(std::move(families)) {}
  void collect(std::vector<CollectedFamily>& out) const override {
    ++calls;
    out.insert(out.end(), families_.begin(), families_.end());
  }
  mutable int calls = 0;

 private:
  std::vector<CollectedFamily> families_;
};

TEST(RegistryTest, CollectorsAreMergedByNameAndRunOnEveryScrape) {
  Registry r;
  r.counter("middle_total", "registered", {}).get({})->inc(4);
  auto first = std::make_unique<FakeCollector>(std::vector<CollectedFamily>{
      {"zzz_info", "Last.", MetricType::Gauge, {{{{"version", "1.0 \"beta\""}}, 1}}},
      {"aaa_seconds_total", "First.", MetricType::Counter, {{{}, 1.5}}},
      {"middle_total", "Clashes with a registered family.", MetricType::Counter, {{{}, 99}}},
      {"bad-name", "Invalid.", MetricType::Gauge, {{{}, 1}}},
      {"hist", "Histograms cannot be collected.", MetricType::Histogram, {{{}, 1}}},
      {"empty", "No samples.", MetricType::Gauge, {}},
  });
  FakeCollector* first_ptr = first.get();
  r.add_collector(std::move(first));
  r.add_collector(std::make_unique<FakeCollector>(std::vector<CollectedFamily>{
      {"zzz_info", "Duplicate of an earlier collector.", MetricType::Gauge, {{{}, 2}}},
  }));
  const std::string expected =
      "# HELP aaa_seconds_total First.\n"
      "# TYPE aaa_seconds_total counter\n"
      "aaa_seconds_total 1.5\n"
      "# HELP middle_total registered\n"
      "# TYPE middle_total counter\n"
      "middle_total 4\n"
      "# HELP zzz_info Last.\n"
      "# TYPE zzz_info gauge\n"
      "zzz_info{version=\"1.0 \\\"beta\\\"\"} 1\n";
  EXPECT_EQ(r.render(), expected);
  EXPECT_EQ(r.render(), expected);
  EXPECT_EQ(first_ptr->calls, 2);
}

// The pattern every component follows (DESIGN.md §7.9): all of its metrics declared in one
// list -- one struct of family references with units in the names -- built by one function
// at start-up. Request paths then cache handles (per connection, endpoint or route).
struct ProxyMetrics {
  Family<Counter>& request_total;
  Family<Counter>& response_total;
  Family<Histogram>& response_latency_ms;
  Family<Gauge>& tcp_open_connections;
  Family<Counter>& tcp_read_bytes_total;
};

ProxyMetrics make_proxy_metrics(Registry& r) {
  return ProxyMetrics{
      .request_total = r.counter("request_total", "Total count of HTTP requests.",
                                 {"direction", "target_addr"}),
      .response_total = r.counter("response_total", "Total count of HTTP responses.",
                                  {"direction", "target_addr", "status_code", "classification"}),
      .response_latency_ms = r.histogram(
          "response_latency_ms", "Time to first byte of the response, in milliseconds.",
          {"direction", "target_addr", "status_code"}, kLatencyBucketsMs),
      .tcp_open_connections = r.gauge("tcp_open_connections",
                                      "Number of currently open connections.",
                                      {"direction", "peer"}),
      .tcp_read_bytes_total = r.counter("tcp_read_bytes_total",
                                        "Total count of bytes read from peers.",
                                        {"direction", "peer"}),
  };
}

// What a connection caches when it is accepted; dropping it releases the series.
struct ConnectionMetrics {
  ConnectionMetrics(const ProxyMetrics& m, std::string_view direction)
      : open(m.tcp_open_connections.get({direction, "src"})),
        read_bytes(m.tcp_read_bytes_total.get({direction, "src"})) {
    open->inc();
  }
  ~ConnectionMetrics() { open->dec(); }
  Handle<Gauge> open;
  Handle<Counter> read_bytes;
};

TEST(RegistryTest, ComponentMetricsPattern) {
  ManualClock clock;
  Registry registry(RegistryOptions{.clock = &clock});
  const ProxyMetrics metrics = make_proxy_metrics(registry);
  {
    ConnectionMetrics a(metrics, "inbound");
    ConnectionMetrics b(metrics, "inbound");
    a.read_bytes->inc(100);
    b.read_bytes->inc(20);
    EXPECT_EQ(a.open->value(), 2);
    metrics.request_total.get({"inbound", "10.0.0.1:8080"})->inc();
    metrics.response_latency_ms.get({"inbound", "10.0.0.1:8080", "200"})->observe_ms(3ms);
  }
  const std::string text = registry.render();
  EXPECT_THAT(text, HasSubstr("tcp_open_connections{direction=\"inbound\",peer=\"src\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("tcp_read_bytes_total{direction=\"inbound\",peer=\"src\"} 120\n"));
  EXPECT_THAT(text, HasSubstr("request_total{direction=\"inbound\",target_addr=\"10.0.0.1:8080\"}"
                              " 1\n"));
  EXPECT_THAT(text, HasSubstr("response_latency_ms_bucket{direction=\"inbound\","
                              "target_addr=\"10.0.0.1:8080\",status_code=\"200\",le=\"3\"} 1\n"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("response_total")));  // no series yet
  clock.advance(kDefaultRetainIdle);
  EXPECT_EQ(registry.render(), "") << "every series was released 10 minutes ago";
}

}  // namespace
}  // namespace trellis::metrics
