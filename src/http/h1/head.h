#pragma once
// Parsed HTTP/1 message heads. Every string_view points into the caller's receive buffer (zero
// copy): a head is valid only while those bytes are unchanged. `info` carries the decisions the
// proxy acts on (body framing, keep-alive, upgrade/CONNECT tunnelling, Expect: 100-continue),
// made once by the parser so no later stage re-reads framing headers.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "http/h1/errors.h"
#include "http/h1/inline_vector.h"

namespace trellis::http::h1 {

enum class Version : uint8_t { kHttp10, kHttp11 };
std::string_view to_string(Version version);  // "HTTP/1.0", "HTTP/1.1"

struct HeaderField {
  std::string_view name;   // as received (case preserved); a token
  std::string_view value;  // leading and trailing OWS removed
};

// Field lines in the order received. 32 inline: typical heads never allocate.
class FieldList : public InlineVector<HeaderField, 32> {
 public:
  // The first value of `name` (case-insensitive), if present.
  std::optional<std::string_view> find(std::string_view name) const;
  size_t count(std::string_view name) const;
};

// How the body that follows a head is delimited (RFC 9112 §6.3).
enum class BodyKind : uint8_t {
  kNone,            // no body at all
  kContentLength,   // exactly `length` bytes (possibly 0)
  kChunked,         // chunked coding: use ChunkedDecoder
  kCloseDelimited,  // responses only: everything until the server closes
};
std::string_view to_string(BodyKind kind);

struct BodyFraming {
  BodyKind kind = BodyKind::kNone;
  uint64_t length = 0;  // kContentLength only

  static BodyFraming none() { return {}; }
  static BodyFraming content_length(uint64_t n) { return {BodyKind::kContentLength, n}; }
  static BodyFraming chunked() { return {BodyKind::kChunked, 0}; }
  static BodyFraming close_delimited() { return {BodyKind::kCloseDelimited, 0}; }
  friend bool operator==(const BodyFraming&, const BodyFraming&) = default;
};

// Transfer codings other than chunked, in the order they were applied. Rare, but they have to
// be re-emitted when the proxy re-derives framing, or a gzip-coded body would lose its coding.
enum class Coding : uint8_t { kGzip, kDeflate, kCompress };
std::string_view to_string(Coding coding);

struct TransferCodings {
  static constexpr size_t kMax = 4;
  std::array<Coding, kMax> items{};
  uint8_t size = 0;

  bool empty() const { return size == 0; }
  friend bool operator==(const TransferCodings& a, const TransferCodings& b) {
    if (a.size != b.size) return false;
    for (size_t i = 0; i < a.size; ++i) {
      if (a.items[i] != b.items[i]) return false;
    }
    return true;
  }
};

enum class TargetForm : uint8_t { kOrigin, kAbsolute, kAuthority, kAsterisk };
std::string_view to_string(TargetForm form);

struct MessageInfo {
  BodyFraming body;
  TransferCodings codings;                 // non-chunked codings (chunked is in `body`)
  std::optional<uint64_t> content_length;  // the declared value, also when no body follows
                                           // (HEAD, 304) so it can be forwarded
  bool keep_alive = false;  // the connection may carry another message after this one
  // Request: HTTP/1.1 "Connection: upgrade" + Upgrade (e.g. WebSocket); the proxy tunnels once
  // the upstream answers 101. Response: status 101; the connection becomes a tunnel.
  bool upgrade = false;
  std::string_view upgrade_protocol;  // the (first) Upgrade value, e.g. "websocket"
  // Request: method CONNECT. Response: a 2xx answer to CONNECT; the connection becomes a tunnel.
  bool connect = false;
  bool expect_continue = false;  // HTTP/1.1 request with "Expect: 100-continue"
  bool interim = false;          // 1xx response other than 101: the final response follows
  std::string_view host;         // request: the Host value (empty if none)
};

struct RequestHead {
  std::string_view method;
  std::string_view target;
  TargetForm target_form = TargetForm::kOrigin;
  std::string_view authority;  // absolute-form / authority-form: the target's authority
  Version version = Version::kHttp11;
  FieldList fields;
  MessageInfo info;
};

struct ResponseHead {
  Version version = Version::kHttp11;
  int status = 0;
  std::string_view reason;
  FieldList fields;
  MessageInfo info;
};

enum class ParseStatus : uint8_t { kIncomplete, kComplete, kError };

// Outcome of one parse call: need more bytes, a complete head of `consumed()` bytes (everything
// after it is body or the next message), or the error that rejects the message. An error is
// final: the proxy answers it (see http_status) and closes the connection.
class ParseResult {
 public:
  static ParseResult incomplete() { return ParseResult(ParseStatus::kIncomplete, 0, {}); }
  static ParseResult complete(size_t consumed) {
    return ParseResult(ParseStatus::kComplete, consumed, {});
  }
  static ParseResult failed(ParseError error) {
    return ParseResult(ParseStatus::kError, 0, error);
  }

  ParseStatus status() const { return status_; }
  bool is_incomplete() const { return status_ == ParseStatus::kIncomplete; }
  bool is_complete() const { return status_ == ParseStatus::kComplete; }
  bool is_error() const { return status_ == ParseStatus::kError; }
  size_t consumed() const { return consumed_; }
  // Only meaningful when is_error().
  ParseError error() const { return error_; }

  friend bool operator==(const ParseResult& a, const ParseResult& b) {
    return a.status_ == b.status_ && a.consumed_ == b.consumed_ &&
           (a.status_ != ParseStatus::kError || a.error_ == b.error_);
  }

 private:
  ParseResult(ParseStatus s, size_t consumed, ParseError e)
      : status_(s), consumed_(consumed), error_(e) {}
  ParseStatus status_;
  size_t consumed_;
  ParseError error_;
};

}  // namespace trellis::http::h1
