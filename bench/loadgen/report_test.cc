#include "loadgen/report.h"

#include <gtest/gtest.h>

namespace trellis::bench::loadgen {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

const TimePoint kT0 = TimePoint{} + std::chrono::hours(1);

// 1000 req/s for 1 s: 990 ok at 100..1089 us, 8 x 503, 2 timeouts, 5 never sent.
Report sample_report() {
  Report r;
  auto options = parse_options({"--rate", "1000", "--duration", "1s", "-c", "4", "-H",
                                "X-Run: 7", "http://127.0.0.1:8080/p"});
  EXPECT_TRUE(options.ok());
  r.options = *options;
  r.endpoint = "127.0.0.1:8080";
  r.measure_start = kT0;
  r.totals.add_planned(1005);
  for (uint64_t i = 0; i < 1000; ++i) {
    const Slot slot{i, kT0 + milliseconds(i), true};
    r.totals.on_sent(slot, slot.scheduled + microseconds(i < 10 ? 50 : 0));
    if (i < 990) {
      r.totals.on_done(slot, slot.scheduled + microseconds(100 + i), Outcome::kOk, 200);
    } else if (i < 998) {
      r.totals.on_done(slot, slot.scheduled + microseconds(10), Outcome::kStatus, 503);
    } else {
      r.totals.on_done(slot, slot.scheduled + milliseconds(5000), Outcome::kTimeout, 0);
    }
  }
  r.totals.add_unsent(5);
  r.totals.on_connected();
  r.totals.on_connect_error();
  return r;
}

TEST(Report, JsonCarriesEveryFigure) {
  const Report r = sample_report();
  const nlohmann::json j = to_json(r);
  EXPECT_EQ(j["tool"], "trellis-loadgen");
  EXPECT_EQ(j["config"]["protocol"], "http1");
  EXPECT_EQ(j["config"]["mode"], "open");
  EXPECT_EQ(j["config"]["rate"], 1000.0);
  EXPECT_EQ(j["config"]["connections"], 4);
  EXPECT_EQ(j["config"]["duration_s"], 1.0);
  EXPECT_EQ(j["config"]["headers"], nlohmann::json::array({"X-Run: 7"}));
  EXPECT_EQ(j["requests"]["planned"], 1005);
  EXPECT_EQ(j["requests"]["sent"], 1000);
  EXPECT_EQ(j["requests"]["unsent"], 5);
  EXPECT_EQ(j["requests"]["completed"], 1000);
  EXPECT_EQ(j["requests"]["ok"], 990);
  EXPECT_EQ(j["requests"]["errors"], 10);
  EXPECT_EQ(j["errors"]["status"], 8);
  EXPECT_EQ(j["errors"]["timeout"], 2);
  EXPECT_EQ(j["errors"]["connect"], 1);
  EXPECT_EQ(j["errors"]["protocol"], 0);
  EXPECT_EQ(j["status_codes"]["503"], 8);
  EXPECT_EQ(j["connections"]["opened"], 1);
  EXPECT_EQ(j["rate"]["target_rps"], 1000.0);
  // The last measured request (a timeout) finished at 999 ms + 5 s: the elapsed time stretches.
  EXPECT_DOUBLE_EQ(j["rate"]["elapsed_s"].get<double>(), 5.999);
  EXPECT_DOUBLE_EQ(j["rate"]["achieved_rps"].get<double>(), 1000 / 5.999);
  // Latency: successful requests only, 100 .. 1089 us.
  EXPECT_EQ(j["latency_us"]["count"], 990);
  EXPECT_DOUBLE_EQ(j["latency_us"]["min"].get<double>(), 100.0);
  EXPECT_DOUBLE_EQ(j["latency_us"]["max"].get<double>(), 1089.0);
  EXPECT_DOUBLE_EQ(j["latency_us"]["mean"].get<double>(), 594.5);
  const double p50 = j["latency_us"]["p50"];  // rank 495: 594 us
  EXPECT_GE(p50, 594.0);
  EXPECT_LE(p50, 594.0 * (1 + Histogram::kRelativePrecision));
  for (const char* key : {"p75", "p90", "p99", "p99_9", "p99_99"}) {
    EXPECT_TRUE(j["latency_us"].contains(key)) << key;
  }
  EXPECT_EQ(j["send_delay_us"]["count"], 1000);
  EXPECT_DOUBLE_EQ(j["send_delay_us"]["max"].get<double>(), 50.0);
  uint64_t bucket_total = 0;
  for (const auto& b : j["latency_histogram_ns"]) {
    EXPECT_LE(b[0].get<uint64_t>(), b[1].get<uint64_t>());
    bucket_total += b[2].get<uint64_t>();
  }
  EXPECT_EQ(bucket_total, 990u);
  EXPECT_TRUE(j["failures"].empty());
}

TEST(Report, ClosedLoopHasNoTargetRate) {
  Report r;
  auto options = parse_options({"--closed", "--duration", "2s", "http://h/"});
  ASSERT_TRUE(options.ok());
  r.options = *options;
  r.measure_start = kT0;
  const Slot slot{0, kT0, true};
  r.totals.on_sent(slot, kT0);
  r.totals.on_done(slot, kT0 + milliseconds(1), Outcome::kOk, 200);
  const nlohmann::json j = to_json(r);
  EXPECT_TRUE(j["rate"]["target_rps"].is_null());
  EXPECT_EQ(j["requests"]["planned"], 1);  // closed loop plans what it sends
  EXPECT_DOUBLE_EQ(j["rate"]["achieved_rps"].get<double>(), 0.5);
}

TEST(Report, SummaryNamesTheFiguresAndWarnsAboutUnsent) {
  const std::string s = format_summary(sample_report());
  EXPECT_NE(s.find("open loop 1000 req/s"), std::string::npos) << s;
  EXPECT_NE(s.find("planned 1005  sent 1000  unsent 5  completed 1000"), std::string::npos) << s;
  EXPECT_NE(s.find("ok 990  errors 10: status 8 grpc_status 0 protocol 0 reset 0 timeout 2 io 0"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("503x8"), std::string::npos) << s;
  EXPECT_NE(s.find("count 990  mean 594.5  min 100.0  max 1089.0"), std::string::npos) << s;
  EXPECT_NE(s.find("WARNING: 5 requests were never sent"), std::string::npos) << s;
}

}  // namespace
}  // namespace trellis::bench::loadgen
