#pragma once
// The two outputs of a run: a summary for people and a JSON document with every figure for the
// bench harness (tables, pooled percentiles across runs from the exported histogram buckets).
// Latencies are reported in microseconds; the exported buckets are in nanoseconds.

#include <nlohmann/json.hpp>

#include <string>

#include "loadgen/runner.h"

namespace trellis::bench::loadgen {

// The percentiles every output reports, with their JSON keys.
struct PercentileKey {
  double percentile;
  const char* key;
};
inline constexpr PercentileKey kReportedPercentiles[] = {
    {50, "p50"}, {75, "p75"}, {90, "p90"}, {99, "p99"}, {99.9, "p99_9"}, {99.99, "p99_99"},
};

std::string format_summary(const Report& report);
nlohmann::json to_json(const Report& report);

}  // namespace trellis::bench::loadgen
