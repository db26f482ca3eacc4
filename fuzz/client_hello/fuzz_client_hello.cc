// Fuzz target for the ClientHello peek parser (src/tls/client_hello.h), which runs on the first
// bytes of every inbound connection, before any authentication. Beyond "no crash, no overread"
// (ASan), it checks invariants that must hold for any bytes, and aborts on a violation:
//   - a parsed hello lies inside the input and the cap, its SNI has no NUL, and every ALPN
//     protocol is non-empty;
//   - answers are prefix-stable: a final answer (not TLS, malformed, hello) on a data-derived
//     prefix is the answer on the whole input too, and every strict prefix of a complete hello
//     is "need more";
//   - the hello parses identically on its own (the bytes after it do not matter).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tls/client_hello.h"

namespace tls = trellis::tls;

namespace {

// Record header (5) + handshake header (4) + version, random, empty session id, one cipher
// suite, one compression method (41).
constexpr size_t kMinHello = 50;

void check(bool ok) {
  if (!ok) std::abort();
}

bool same(const tls::HelloParse& a, const tls::HelloParse& b) {
  if (a.status != b.status || a.error != b.error) return false;
  if (a.status != tls::HelloStatus::kClientHello) return true;
  return a.hello.legacy_version == b.hello.legacy_version &&
         a.hello.has_server_name == b.hello.has_server_name &&
         a.hello.server_name == b.hello.server_name && a.hello.alpn == b.hello.alpn &&
         a.hello.offers_tls13 == b.hello.offers_tls13 && a.hello.bytes == b.hello.bytes;
}

void check_prefix(std::string_view input, const tls::HelloParse& whole, size_t k) {
  const tls::HelloParse part = tls::parse_client_hello(input.substr(0, k));
  if (part.status != tls::HelloStatus::kNeedMore) check(same(part, whole));
  if (whole.status == tls::HelloStatus::kClientHello && k < whole.hello.bytes) {
    check(part.status == tls::HelloStatus::kNeedMore);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const tls::HelloParse whole = tls::parse_client_hello(input);

  check((whole.status == tls::HelloStatus::kMalformed) == (whole.error != tls::HelloError::kNone));
  if (whole.status == tls::HelloStatus::kClientHello) {
    const tls::ClientHello& h = whole.hello;
    check(h.bytes <= size && h.bytes <= tls::kMaxClientHelloBytes && h.bytes >= kMinHello);
    check(h.has_server_name || h.server_name.empty());
    check(h.server_name.find('\0') == std::string::npos);
    for (const auto& p : h.alpn) check(!p.empty() && p.size() <= 255);
    check(same(tls::parse_client_hello(input.substr(0, h.bytes)), whole));
    check_prefix(input, whole, h.bytes - 1);
  }
  if (size > 0) {
    check_prefix(input, whole, size / 2);
    check_prefix(input, whole, data[size - 1] % size);
    check_prefix(input, whole, 3);
  }
  return 0;
}
