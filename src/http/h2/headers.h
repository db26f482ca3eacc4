#pragma once
// HTTP/2 header blocks <-> the shared message model, with the RFC 9113 §8.2/§8.3 rules applied
// on the way in (a violation makes the message malformed: the stream is reset) and fields that
// HTTP/2 cannot carry dropped on the way out. nghttp2 runs with HTTP messaging checks off, so
// this file is the single place those rules live.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "http/body.h"
#include "http/message.h"

namespace trellis::http::h2 {

enum class HeaderError : uint8_t {
  kInvalidName,           // empty, or a byte outside the RFC 9110 token set
  kUppercaseName,         // RFC 9113 §8.2.1: names are lower-case
  kInvalidValue,          // NUL, CR, LF or another control byte
  kValueWhitespace,       // leading or trailing SP/HTAB
  kConnectionSpecific,    // connection, keep-alive, proxy-connection, transfer-encoding, upgrade
  kInvalidTe,             // te other than "trailers"
  kUnknownPseudo,         // a pseudo-header this message type does not define
  kPseudoAfterRegular,    // pseudo-headers must come first
  kDuplicatePseudo,       // each pseudo-header at most once
  kPseudoInTrailers,
  kMissingPseudo,         // :method/:scheme/:path (request) or :status (response) absent
  kInvalidPseudoValue,    // a malformed :method, :scheme, :authority, :path or :status
  kInvalidContentLength,  // not digits, or differing values
  kAuthorityMismatch,     // host and :authority disagree
  kTooManyFields,         // more than max_header_fields
  kTooLarge,              // over the header list budget (name + value + 32 per field)
};
const char* to_string(HeaderError e);

// Per-field checks every header block applies (regular fields only, not pseudo-headers).
std::optional<HeaderError> check_field(std::string_view name, std::string_view value);

// The budget and field-count limits shared by the builders below.
class FieldBudget {
 public:
  FieldBudget(size_t max_bytes, size_t max_fields)
      : max_bytes_(max_bytes), max_fields_(max_fields) {}
  // Charges one field; kTooLarge or kTooManyFields once a limit is passed.
  std::optional<HeaderError> charge(std::string_view name, std::string_view value);
  size_t used() const { return used_; }

 private:
  size_t max_bytes_;
  size_t max_fields_;
  size_t used_ = 0;
  size_t fields_ = 0;
};

// Collects a request header block field by field. add() returns the first violation; once one
// was returned the builder must not be used further.
class RequestHeadBuilder {
 public:
  RequestHeadBuilder(size_t max_bytes, size_t max_fields) : budget_(max_bytes, max_fields) {}
  std::optional<HeaderError> add(std::string_view name, std::string_view value);
  // Checks the block as a whole (required pseudo-headers, host vs :authority) and builds the
  // head: cookie crumbs joined with "; ", host folded into authority.
  base::Result<RequestHead, HeaderError> finish();
  std::optional<uint64_t> content_length() const { return content_length_; }

 private:
  FieldBudget budget_;
  RequestHead head_;
  bool has_method_ = false, has_scheme_ = false, has_authority_ = false, has_path_ = false;
  bool regular_seen_ = false;
  std::optional<std::string> host_;
  std::optional<uint64_t> content_length_;
  std::vector<std::string> cookies_;
};

class ResponseHeadBuilder {
 public:
  ResponseHeadBuilder(size_t max_bytes, size_t max_fields) : budget_(max_bytes, max_fields) {}
  std::optional<HeaderError> add(std::string_view name, std::string_view value);
  base::Result<ResponseHead, HeaderError> finish();
  std::optional<uint64_t> content_length() const { return content_length_; }

 private:
  FieldBudget budget_;
  ResponseHead head_;
  bool has_status_ = false;
  bool regular_seen_ = false;
  std::optional<uint64_t> content_length_;
};

class TrailersBuilder {
 public:
  TrailersBuilder(size_t max_bytes, size_t max_fields) : budget_(max_bytes, max_fields) {}
  std::optional<HeaderError> add(std::string_view name, std::string_view value);
  Headers finish() { return std::move(trailers_); }

 private:
  FieldBudget budget_;
  Headers trailers_;
};

// A header list ready for the encoder: pseudo-headers first, then regular fields that are valid
// for HTTP/2. `dropped` counts fields left out (connection-specific or invalid).
struct OutboundFields {
  std::vector<Header> fields;
  size_t dropped = 0;
};
OutboundFields request_fields(const RequestHead& head);
OutboundFields response_fields(const ResponseHead& head);
// Adds content-length from the body's size hint when the headers do not carry one (an HTTP/1
// message's length is held by its body, not its headers).
void add_content_length(const Body& body, const Headers& headers, OutboundFields& fields);
OutboundFields trailer_fields(const Headers& trailers);

// Parses a content-length value (digits only, no sign, no overflow).
std::optional<uint64_t> parse_content_length(std::string_view value);

}  // namespace trellis::http::h2
