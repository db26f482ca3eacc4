#pragma once
// ClientHello peek (linkerd.md §2.3): before deciding whether to terminate TLS, the inbound
// proxy reads the first bytes of a connection and looks at the SNI — it terminates when the SNI
// is its own identity and passes the bytes through untouched otherwise. This is a pure function
// over a byte prefix (no I/O), so it can be fuzzed; the caller reads more while the answer is
// kNeedMore and then replays the bytes through net::PrefixedStream.
//
// Answers are prefix-stable: once a prefix gives kNotTls, kMalformed or kClientHello, every
// longer input starting with it gives the same answer.
//
// The hello may be split over several handshake records; it is reassembled, but everything
// needed must lie within the first kMaxClientHelloBytes of the connection (real hellos are
// 0.2–2 KiB, including post-quantum key shares). Past that cap the answer is kMalformed with
// kTooLarge, so a peer cannot make the proxy buffer without bound.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace trellis::tls {

// The cap on bytes the parser will look at (record headers included). A caller never needs to
// buffer more than this to get a final answer.
inline constexpr size_t kMaxClientHelloBytes = 16 * 1024;

enum class HelloStatus : uint8_t {
  kNeedMore,     // a prefix of a possibly valid ClientHello: read more (up to the cap)
  kNotTls,       // the first bytes are not a TLS handshake record: plaintext or another protocol
  kMalformed,    // starts as a TLS handshake record but is not a well-formed ClientHello
  kClientHello,  // complete and well-formed: `hello` is filled in
};
const char* to_string(HelloStatus s);

enum class HelloError : uint8_t {
  kNone,
  kRecordLength,        // a record length of 0 or above 2^14 (RFC 8446 §5.1)
  kUnexpectedRecord,    // a non-handshake record before the hello was complete
  kNotClientHello,      // the first handshake message is not a ClientHello
  kTooLarge,            // the hello does not fit in kMaxClientHelloBytes
  kTruncatedField,      // a length prefix runs past its enclosing structure
  kBadVector,           // a vector with an illegal length (odd cipher suites, empty list, ...)
  kTrailingBytes,       // bytes left over inside the hello or one of its extensions
  kDuplicateExtension,  // the same extension type twice (RFC 8446 §4.2)
  kBadServerName,       // SNI: empty, two host_names, or a name with a NUL byte
  kBadAlpn,             // ALPN: empty list or empty protocol name
};
const char* to_string(HelloError e);

struct ClientHello {
  uint16_t legacy_version = 0;
  bool has_server_name = false;
  std::string server_name;         // host_name, as sent (not validated as DNS here)
  std::vector<std::string> alpn;   // in the client's order
  bool offers_tls13 = false;       // supported_versions contains 0x0304
  size_t bytes = 0;                // bytes of input the hello occupied (records included)
};

struct HelloParse {
  HelloStatus status = HelloStatus::kNeedMore;
  HelloError error = HelloError::kNone;  // set with kMalformed
  ClientHello hello;                     // set with kClientHello
};

// Only the first kMaxClientHelloBytes of `prefix` are examined.
HelloParse parse_client_hello(std::string_view prefix);

}  // namespace trellis::tls
