// Fuzz target: protocol detection over arbitrary connection prefixes. Invariants: detect() is
// total, never reads past the input, and is monotone — once a prefix is classified (anything but
// kNeedMore), every longer input that starts with it gets the same answer unless it was decided
// by the detect window's length limit.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proxy/detect/detect.h"

using trellis::proxy::detect::detect;
using trellis::proxy::detect::Protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const Protocol whole = detect(input);
  for (size_t cut = 0; cut <= input.size() && cut < 1100; ++cut) {
    const Protocol part = detect(input.substr(0, cut));
    if (part != Protocol::kNeedMore && part != whole && cut < trellis::proxy::detect::kMaxDetectBytes &&
        input.size() < trellis::proxy::detect::kMaxDetectBytes) {
      std::abort();  // a decided prefix changed its answer
    }
  }
  return 0;
}
