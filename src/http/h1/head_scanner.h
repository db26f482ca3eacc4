#pragma once
// Internal: the line engine shared by the request-head parser, the response-head parser and the
// chunked decoder's trailer section. Not part of the h1 API.
//
// The scanner is fed the cumulative bytes of one block (the same prefix on every call, maybe
// longer) and resumes where it stopped, so a head that arrives byte by byte costs O(n) in total.
// It only ever looks at complete lines, plus limit checks on the incomplete last line. Every
// check is a function of a line prefix, and lines are handled in order, so the first error in
// stream order wins and the outcome does not depend on how the bytes were split into reads. It
// keeps offsets, not pointers, because the caller may grow (move) its buffer between calls.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "http/h1/head.h"
#include "http/h1/inline_vector.h"
#include "http/h1/limits.h"

namespace trellis::http::h1::detail {

enum class BlockKind : uint8_t { kRequest, kResponse, kTrailers };

struct Span {
  size_t offset = 0;
  size_t length = 0;
  std::string_view in(std::string_view buffer) const { return buffer.substr(offset, length); }
};

struct FieldSpan {
  Span name;
  Span value;
};

// What framing-relevant fields said, gathered while scanning (so nothing re-reads them).
struct FieldFacts {
  size_t host_count = 0;
  Span host;
  bool has_content_length = false;
  uint64_t content_length = 0;
  bool has_transfer_encoding = false;
  bool chunked = false;  // chunked seen; any later coding already failed kTeNotChunkedFinal
  TransferCodings codings;
  bool connection_close = false;
  bool connection_keep_alive = false;
  bool connection_upgrade = false;
  bool has_upgrade = false;
  Span upgrade;  // first Upgrade value
  bool expect_continue = false;
};

class HeadScanner {
 public:
  HeadScanner(BlockKind kind, const Limits& limits) : kind_(kind), limits_(limits) { reset(); }

  void reset();
  // See the file comment. On kComplete, consumed() is the block length including its final CRLF.
  ParseResult scan(std::string_view buffer);

  // Valid after kComplete.
  Span method() const { return method_; }
  Span target() const { return target_; }
  Span authority() const { return authority_; }
  TargetForm target_form() const { return target_form_; }
  Version version() const { return version_; }
  int status() const { return status_; }
  Span reason() const { return reason_; }
  const FieldFacts& facts() const { return facts_; }
  void fill_fields(std::string_view buffer, FieldList& out) const;

 private:
  enum class Phase : uint8_t { kStartLine, kFields, kDone, kFailed };

  ParseResult fail(ParseError error);
  std::optional<ParseError> limit_error(const char* raw, size_t raw_len, bool complete) const;
  std::optional<ParseError> process_line(std::string_view buffer, size_t start, size_t length);
  std::optional<ParseError> request_line(std::string_view buffer, size_t start, size_t length);
  std::optional<ParseError> status_line(std::string_view buffer, size_t start, size_t length);
  std::optional<ParseError> field_line(std::string_view buffer, size_t start, size_t length);
  std::optional<ParseError> field_fact(std::string_view name, std::string_view value, Span span);

  BlockKind kind_;
  Limits limits_;
  Phase phase_ = Phase::kStartLine;
  ParseError error_ = ParseError::kBareCr;
  size_t line_start_ = 0;  // first byte of the line being assembled
  size_t scan_pos_ = 0;    // where the search for the next LF resumes
  size_t field_count_ = 0;

  Span method_;
  Span target_;
  Span authority_;
  TargetForm target_form_ = TargetForm::kOrigin;
  bool is_connect_ = false;
  Version version_ = Version::kHttp11;
  int status_ = 0;
  Span reason_;
  InlineVector<FieldSpan, 32> fields_;
  FieldFacts facts_;
};

}  // namespace trellis::http::h1::detail
