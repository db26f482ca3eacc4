// placeholder fuzz target; replaced by the HTTP/1 parser fuzz target
#include <cstddef>
#include <cstdint>
extern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }
