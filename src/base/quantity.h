#pragma once
// Kubernetes resource quantities ("900m", "1", "1.5", "2Ki", "1e3"), as used by TrafficSplit
// weights and ServiceProfile dstOverrides. Values are held in thousandths (milli-units).

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace trellis::base {

struct Quantity {
  int64_t milli = 0;  // value * 1000, rounded up like Kubernetes' MilliValue()
  friend bool operator==(const Quantity&, const Quantity&) = default;
};

// Parses the Kubernetes quantity grammar: sign, digits with optional fraction, and a suffix
// (binary Ki..Ei, decimal n u m "" k M G T P E, or an exponent e<N>/E<N>).
Result<Quantity, std::string> parse_quantity(std::string_view text);

}  // namespace trellis::base
