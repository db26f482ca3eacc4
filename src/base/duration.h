#pragma once
// Durations as a strong type, and the Go duration syntax ("5s", "1m30s", "100ms", "1.5h")
// that Kubernetes, Linkerd and Flagger manifests use.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace trellis::base {

using Duration = std::chrono::nanoseconds;

// Parses a Go time.ParseDuration string. Accepts an optional sign, a sequence of decimal
// numbers each with a unit (ns, us, µs, ms, s, m, h), and the bare "0". Rejects overflow.
// The error string says what is wrong, e.g. `missing unit in duration "5"`.
Result<Duration, std::string> parse_go_duration(std::string_view text);

// Formats like Go's Duration.String(): "1m30s", "100ms", "0s".
std::string format_go_duration(Duration d);

}  // namespace trellis::base
