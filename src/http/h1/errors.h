#pragma once
// Every way an HTTP/1 message can be rejected, as one enum (DESIGN.md §7.1), plus the single
// place that maps a rejection to the status code the proxy answers with (DESIGN.md §7.6).
// to_string() names are stable snake_case and are used as metric label values: never rename one.

#include <cstdint>
#include <string_view>

namespace trellis::http::h1 {

enum class ParseError : uint8_t {
  // Limits (see Limits in limits.h).
  kHeaderBlockTooLarge,      // head (or trailer section) longer than max_header_bytes -> 431
  kTooManyHeaders,           // more than max_header_count field lines -> 431
  kHeaderLineTooLong,        // one field line longer than max_header_line -> 431
  kRequestLineTooLong,       // request-line longer than max_start_line -> 414
  kStatusLineTooLong,        // status-line longer than max_start_line
  kHeaderReadTimeout,        // the caller's header-read deadline expired -> 408

  // Line structure (RFC 9112 §2.2, §5).
  kBareCr,                   // CR not followed by LF, anywhere in a head or chunk line
  kBareLf,                   // LF without CR terminating a head line (strict: never accepted)
  kObsFold,                  // field line starting with SP/HTAB (line folding, §5.2)
  kWhitespaceAfterStartLine, // SP/HTAB between the start-line and the first field (§2.2)
  kWhitespaceBeforeColon,    // "Name : value" (§5.1: MUST be rejected)
  kInvalidHeaderName,        // non-token character in a field name
  kEmptyHeaderName,          // ": value"
  kMissingColon,             // field line without ':'
  kNulInFieldValue,          // NUL in a field value (Envoy CVE-2019-9900)
  kCtlInFieldValue,          // another control character (not HTAB) in a field value

  // Start lines (§3, §4).
  kInvalidRequestLine,       // not "method SP target SP version"
  kInvalidMethod,            // empty or non-token method
  kInvalidRequestTarget,     // bad characters, fragment, userinfo, bad authority or pct-encoding
  kAsteriskFormNotOptions,   // "*" with a method other than OPTIONS
  kAuthorityFormNotConnect,  // "host:port" with a method other than CONNECT
  kConnectTargetNotAuthority,// CONNECT with an origin-, absolute- or asterisk-form target
  kInvalidVersion,           // not "HTTP/" DIGIT "." DIGIT
  kUnsupportedVersion,       // well-formed but not 1.0 / 1.1 (HTTP/2.0, HTTP/1.2, ...) -> 505
  kInvalidStatusLine,        // not "version SP status [SP reason]"
  kInvalidStatusCode,        // not 3 digits in 100..599
  kInvalidReasonPhrase,      // control character in the reason phrase

  // Host (RFC 9112 §3.2).
  kMissingHost,              // HTTP/1.1 request without Host
  kMultipleHost,             // more than one Host field line
  kInvalidHost,              // Host value is not uri-host [":" port]
  kHostAuthorityMismatch,    // absolute-form target whose authority differs from Host

  // Framing: the request-smuggling vectors (RFC 9112 §6).
  kClTeConflict,             // Content-Length together with Transfer-Encoding
  kConflictingContentLength, // Content-Length values that differ
  kInvalidContentLength,     // empty, signed, non-numeric or list with an empty element
  kContentLengthOverflow,    // more than 2^63-1
  kTeNotChunkedFinal,        // request TE whose final coding is not chunked; chunked not last
  kUnknownTransferCoding,    // coding other than chunked/gzip/deflate/compress -> 501
  kChunkedTwice,             // chunked applied more than once
  kInvalidTransferEncoding,  // empty Transfer-Encoding, or a coding with parameters
  kTooManyTransferCodings,   // more codings than anyone legitimately stacks
  kTransferEncodingHttp10,   // Transfer-Encoding in an HTTP/1.0 message (§6.1: faulty framing)
  kConnectWithBody,          // CONNECT with Transfer-Encoding or a non-zero Content-Length
  kInvalidConnectionHeader,  // Connection element that is not a token

  // Chunked coding (§7.1).
  kInvalidChunkSize,         // no hex digit, or garbage before/after the size
  kChunkSizeOverflow,        // more than 16 hex digits, or more than 2^63-1
  kBareLfInChunkLine,        // LF without CR in a chunk-size line (Go CVE-2025-22871)
  kInvalidChunkExtension,    // chunk-ext not matching the grammar
  kChunkExtensionTooLong,    // chunk-ext longer than max_chunk_extension
  kChunkLineTooLong,         // chunk-size line longer than max_chunk_line
  kMissingChunkCrlf,         // chunk data not followed by CRLF
  kForbiddenTrailerField,    // framing/routing/connection field sent as a trailer
};

inline constexpr size_t kParseErrorCount =
    static_cast<size_t>(ParseError::kForbiddenTrailerField) + 1;

// Stable snake_case name, e.g. "obs_fold", "cl_te_conflict".
std::string_view to_string(ParseError error);

// Status the proxy answers a downstream client with when its *request* fails to parse:
// 431, 414, 408, 505, 501 or 400 (DESIGN.md §7.6).
int http_status(ParseError error);

// Status the proxy answers its client with when the *upstream response* fails to parse:
// 504 for the header-read deadline, 502 for everything else.
int upstream_http_status(ParseError error);

// Errors of the serializer: the head model (built by routing and header rewriting, so partly
// from configuration) would produce bytes a strict parser rejects, or an impossible framing.
enum class SerializeError : uint8_t {
  kInvalidMethod,
  kInvalidTarget,
  kInvalidStatus,
  kInvalidReason,
  kInvalidFieldName,
  kInvalidFieldValue,
  kForbiddenTrailerField,
  kInvalidFraming,  // e.g. chunked to HTTP/1.0, close-delimited request, body on 204
};

std::string_view to_string(SerializeError error);

}  // namespace trellis::http::h1
