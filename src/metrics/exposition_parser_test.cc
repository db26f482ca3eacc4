#include "metrics/exposition_parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "metrics/registry.h"

namespace trellis::metrics {
namespace {

using ::testing::HasSubstr;

TEST(ExpositionParserTest, ParsesHelpTypeAndSamples) {
  constexpr std::string_view kText =
      "# HELP request_total Total count of HTTP requests,\\nby \\\\ direction.\n"
      "# TYPE request_total counter\n"
      "request_total{direction=\"inbound\",authority=\"a \\\"b\\\" \\\\ c\\nd\"} 12\n"
      "request_total{direction=\"outbound\" , authority=\"x\",} 3 1700000000000\n"
      "\n"
      "# just a comment\n"
      "tcp_open_connections -2\n"
      "latency_bucket{le=\"+Inf\"} +Inf\n"
      "latency_sum NaN\n"
      "latency_count 1.5e3\n"
      "neg_inf -Inf\n";
  auto parsed = parse_exposition(kText);
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  const Exposition& e = *parsed;
  EXPECT_EQ(e.samples().size(), 7u);
  EXPECT_EQ(e.help("request_total"), "Total count of HTTP requests,\nby \\ direction.");
  EXPECT_EQ(e.type("request_total"), "counter");
  EXPECT_FALSE(e.type("tcp_open_connections"));
  EXPECT_EQ(e.value("request_total", {{"direction", "inbound"}, {"authority", "a \"b\" \\ c\nd"}}),
            12);
  EXPECT_EQ(e.value("request_total", {{"authority", "x"}, {"direction", "outbound"}}), 3);
  EXPECT_FALSE(e.value("request_total", {{"direction", "outbound"}})) << "exact match only";
  EXPECT_EQ(e.value("tcp_open_connections"), -2);
  EXPECT_EQ(e.value("latency_bucket", {{"le", "+Inf"}}), INFINITY);
  EXPECT_TRUE(std::isnan(e.value("latency_sum").value_or(0)));
  EXPECT_EQ(e.value("latency_count"), 1500);
  EXPECT_EQ(e.value("neg_inf"), -INFINITY);
}

TEST(ExpositionParserTest, SelectAndSumMatchALabelSubset) {
  auto parsed = parse_exposition(
      "response_total{direction=\"inbound\",status_code=\"200\"} 5\n"
      "response_total{direction=\"inbound\",status_code=\"500\"} 2\n"
      "response_total{direction=\"outbound\",status_code=\"200\"} 7\n"
      "request_total{direction=\"inbound\"} 100\n");
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  EXPECT_EQ(parsed->select("response_total").size(), 3u);
  const auto inbound = parsed->select("response_total", {{"direction", "inbound"}});
  ASSERT_EQ(inbound.size(), 2u);
  EXPECT_EQ(inbound[0]->labels.at("status_code"), "200");
  EXPECT_EQ(inbound[1]->labels.at("status_code"), "500");
  EXPECT_EQ(parsed->sum("response_total", {{"direction", "inbound"}}), 7);
  EXPECT_EQ(parsed->sum("response_total", {{"status_code", "200"}}), 12);
  EXPECT_EQ(parsed->sum("response_total"), 14);
  EXPECT_EQ(parsed->sum("response_total", {{"direction", "nowhere"}}), 0);
  EXPECT_EQ(parsed->sum("missing_total"), 0);
}

TEST(ExpositionParserTest, RejectsMalformedText) {
  const struct {
    std::string_view text;
    std::string_view error;
  } kCases[] = {
      {"a{b=\"c} 1\n", "line 1: unterminated label value"},
      {"ok 1\na{b=\"\\t\"} 1\n", "line 2: invalid escape \\t in label value"},
      {"a{b=c} 1\n", "line 1: expected '\"' to open the value of label b"},
      {"a{b=\"c\" d=\"e\"} 1\n", "line 1: expected ',' or '}' after a label value"},
      {"a{9=\"c\"} 1\n", "line 1: invalid label name"},
      {"a{b=\"1\",b=\"2\"} 1\n", "line 1: duplicate label b"},
      {"a{b=\"1\"\n", "line 1: unterminated label set"},
      {"a\n", "line 1: expected a space before the value"},
      {"a 1\n\n\na 2\n", "line 4: duplicate series a"},
      {"a{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 1\n", "line 2: duplicate series a"},
      {"a one\n", "line 1: invalid sample value"},
      {"a inf\n", "line 1: invalid sample value"},
      {"a +-1\n", "line 1: invalid sample value"},
      {"a 1 soon\n", "line 1: invalid timestamp"},
      {"a 1 2 3\n", "line 1: trailing text after the sample"},
      {"9a 1\n", "line 1: invalid metric name"},
      {"a-b 1\n", "line 1: expected a space before the value"},
      {"# TYPE a counter\n# TYPE a gauge\n", "line 2: second TYPE for a"},
      {"# TYPE a countr\n", "line 1: unknown metric type \"countr\""},
      {"# HELP a x\n# HELP a y\n", "line 2: second HELP for a"},
      {"# HELP 1a x\n", "line 1: invalid metric name in HELP"},
  };
  for (const auto& c : kCases) {
    auto parsed = parse_exposition(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(parsed.error(), c.error) << c.text;
  }
}

TEST(ExpositionParserTest, RoundTripsARenderedRegistry) {
  Registry registry;
  Family<Counter>& requests = registry.counter("request_total", "Requests \"in\"\nflight \\ ok.",
                                               {"direction", "authority"});
  Family<Gauge>& open = registry.gauge("tcp_open_connections", "Open.", {"peer"});
  Family<Histogram>& latency = registry.histogram("response_latency_ms", "Latency.",
                                                  {"status_code"}, kLatencyBucketsMs);
  const std::string weird = "q\"uote \\back\\slash\nnew line caf\xC3\xA9 {}=,";
  auto a = requests.get({"inbound", weird});
  a->inc(41);
  auto b = requests.get({"outbound", ""});
  b->inc(18446744073709551615ull);  // uint64 max survives as the nearest double
  auto g = open.get({"src"});
  g->set(-5);
  auto h = latency.get({"200"});
  h->observe(0.25);
  h->observe(4.5);
  h->observe(70000);

  const std::string text = registry.render();
  auto parsed = parse_exposition(text);
  ASSERT_TRUE(parsed.ok()) << parsed.error() << "\n" << text;
  const Exposition& e = *parsed;
  EXPECT_EQ(e.help("request_total"), "Requests \"in\"\nflight \\ ok.");
  EXPECT_EQ(e.type("request_total"), "counter");
  EXPECT_EQ(e.type("tcp_open_connections"), "gauge");
  EXPECT_EQ(e.type("response_latency_ms"), "histogram");
  EXPECT_EQ(e.value("request_total", {{"direction", "inbound"}, {"authority", weird}}), 41);
  // An empty label value is left out of the output (Prometheus treats both the same).
  EXPECT_EQ(e.value("request_total", {{"direction", "outbound"}}),
            18446744073709551615.0);
  EXPECT_EQ(e.value("tcp_open_connections", {{"peer", "src"}}), -5);
  EXPECT_EQ(e.select("response_latency_ms_bucket").size(), 26u);
  EXPECT_EQ(e.value("response_latency_ms_bucket", {{"status_code", "200"}, {"le", "1"}}), 1);
  EXPECT_EQ(e.value("response_latency_ms_bucket", {{"status_code", "200"}, {"le", "4"}}), 1);
  EXPECT_EQ(e.value("response_latency_ms_bucket", {{"status_code", "200"}, {"le", "5"}}), 2);
  EXPECT_EQ(e.value("response_latency_ms_bucket", {{"status_code", "200"}, {"le", "50000"}}), 2);
  EXPECT_EQ(e.value("response_latency_ms_bucket", {{"status_code", "200"}, {"le", "+Inf"}}), 3);
  EXPECT_EQ(e.value("response_latency_ms_sum", {{"status_code", "200"}}), 70004.75);
  EXPECT_EQ(e.value("response_latency_ms_count", {{"status_code", "200"}}), 3);
  EXPECT_EQ(e.samples().size(), 2u + 1u + 26u + 2u);
}

}  // namespace
}  // namespace trellis::metrics
