// Fuzz target: the manifest decoder and validator. Any input must produce diagnostics, never a
// crash, hang or sanitizer report.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "resources/load.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 256 * 1024) return 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  trellis::resources::Diagnostics diags;
  std::vector<trellis::resources::Resource> out;
  trellis::resources::load_text(text, "fuzz.yaml", out, diags);
  for (const auto& d : diags.items()) (void)d.format();
  return 0;
}
