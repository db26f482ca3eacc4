#pragma once
// Protocol detection from the first bytes of a connection (DESIGN.md §2): a TLS ClientHello, the
// HTTP/2 connection preface, an HTTP/1 request line — or, if none of these can match, opaque TCP.
// Pure functions over a byte prefix so they can be fuzzed; the connection code peeks, calls
// detect(), and reads more while the answer is kNeedMore (until the detect timeout).

#include <cstddef>
#include <string_view>

namespace trellis::proxy::detect {

enum class Protocol {
  kNeedMore,  // the prefix could still become more than one protocol
  kTls,       // a TLS handshake record (ClientHello)
  kHttp2,     // "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
  kHttp1,     // a plausible HTTP/1.x request line
  kOpaque,    // none of the above can match
};
const char* to_string(Protocol p);

// Linkerd reads up to 1 KiB to decide; a request line longer than this is treated as opaque.
inline constexpr size_t kMaxDetectBytes = 1024;

inline constexpr std::string_view kHttp2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

Protocol detect(std::string_view prefix);

}  // namespace trellis::proxy::detect
