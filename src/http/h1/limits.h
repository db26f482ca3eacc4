#pragma once
// Size limits of the HTTP/1 parser. Defaults are safe for a sidecar facing untrusted peers
// (security.md §1.3, §1.6: Envoy 60 KiB / 100 fields; HAProxy 101 lines). Every limit is checked
// incrementally, as bytes arrive, so a peer can never make the proxy buffer more than the limit.

#include <cstddef>

namespace trellis::http::h1 {

struct Limits {
  // The whole head: leading empty lines, start-line, field lines and the final empty line.
  // Also bounds a chunked trailer section. Violation: kHeaderBlockTooLarge (431).
  size_t max_header_bytes = 64 * 1024;
  // Field lines in a head or trailer section. Violation: kTooManyHeaders (431).
  size_t max_header_count = 100;
  // Request-line / status-line, without CRLF. Violation: kRequestLineTooLong (414) /
  // kStatusLineTooLong.
  size_t max_start_line = 8 * 1024;
  // One field line, without CRLF. Violation: kHeaderLineTooLong (431).
  size_t max_header_line = 16 * 1024;
  // A chunk-size line (size, extensions), without CRLF. Violation: kChunkLineTooLong.
  size_t max_chunk_line = 2048;
  // The chunk-ext part of one chunk-size line. Extensions are discarded, but a peer could
  // otherwise make us scan unbounded lines (Kestrel CVE-2025-55315). kChunkExtensionTooLong.
  size_t max_chunk_extension = 1024;
};

}  // namespace trellis::http::h1
