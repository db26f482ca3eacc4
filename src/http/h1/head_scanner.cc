#include "http/h1/head_scanner.h"

#include <cstdint>
#include <cstring>
#include <limits>

#include "http/h1/chars.h"

namespace trellis::http::h1::detail {
namespace {

constexpr size_t kNever = std::numeric_limits<size_t>::max();
// Content-Length and chunk sizes are capped at the signed 64-bit range, so no consumer that
// stores them in an int64 (or adds to them) can overflow.
constexpr uint64_t kMaxLength = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Calls fn(element) for each non-empty, OWS-trimmed element of a comma-separated list (RFC
// 9110 §5.6.1: empty elements are allowed and ignored). Stops at the first error fn returns.
template <typename Fn>
std::optional<ParseError> for_each_element(std::string_view list, Fn&& fn) {
  while (true) {
    const size_t comma = list.find(',');
    const std::string_view element =
        trim_ows(comma == std::string_view::npos ? list : list.substr(0, comma));
    if (!element.empty()) {
      if (auto e = fn(element)) return e;
    }
    if (comma == std::string_view::npos) return std::nullopt;
    list.remove_prefix(comma + 1);
  }
}

std::optional<ParseError> parse_version(std::string_view v, Version& out) {
  if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || !is_digit(v[5]) || v[6] != '.' ||
      !is_digit(v[7])) {
    return ParseError::kInvalidVersion;
  }
  if (v[5] == '1' && v[7] == '1') {
    out = Version::kHttp11;
  } else if (v[5] == '1' && v[7] == '0') {
    out = Version::kHttp10;
  } else {
    // HTTP/2.0 (e.g. the h2 preface on an h1 port), HTTP/1.2, HTTP/0.9 ...
    return ParseError::kUnsupportedVersion;
  }
  return std::nullopt;
}

// The authority of an absolute-form target ("scheme://authority[/path][?query]"), or npos.
size_t absolute_authority_start(std::string_view target) {
  if (target.empty() || !is_alpha(target[0])) return std::string_view::npos;
  size_t i = 1;
  while (i < target.size() && (is_alpha(target[i]) || is_digit(target[i]) || target[i] == '+' ||
                               target[i] == '-' || target[i] == '.')) {
    ++i;
  }
  if (target.substr(i, 3) != "://") return std::string_view::npos;
  return i + 3;
}

// Every request-target byte must be a visible ASCII character; no fragment (a client never
// sends one; HAProxy rejects it too) and only well-formed percent-encodings.
bool valid_target_bytes(std::string_view target) {
  for (size_t i = 0; i < target.size(); ++i) {
    const auto c = static_cast<unsigned char>(target[i]);
    if (c <= 0x20 || c >= 0x7f || c == '#') return false;
    if (c == '%') {
      if (i + 2 >= target.size() || !is_hex(target[i + 1]) || !is_hex(target[i + 2])) {
        return false;
      }
      i += 2;
    }
  }
  return true;
}

std::optional<ParseError> parse_content_length(std::string_view value, FieldFacts& facts) {
  // Unlike other lists, an empty element (or an empty value: HAProxy CVE-2023-40225) is invalid.
  while (true) {
    const size_t comma = value.find(',');
    const std::string_view element =
        trim_ows(comma == std::string_view::npos ? value : value.substr(0, comma));
    if (element.empty()) return ParseError::kInvalidContentLength;
    for (char c : element) {
      if (!is_digit(c)) return ParseError::kInvalidContentLength;  // also "+5", "-1", "0x5"
    }
    uint64_t n = 0;
    for (char c : element) {
      const auto digit = static_cast<uint64_t>(c - '0');
      if (n > (kMaxLength - digit) / 10) return ParseError::kContentLengthOverflow;
      n = n * 10 + digit;
    }
    // "5, 5" or two "Content-Length: 5" lines fold into one (RFC 9110 §8.6); "5, 6" cannot.
    if (facts.has_content_length && facts.content_length != n) {
      return ParseError::kConflictingContentLength;
    }
    facts.has_content_length = true;
    facts.content_length = n;
    if (comma == std::string_view::npos) return std::nullopt;
    value.remove_prefix(comma + 1);
  }
}

std::optional<ParseError> parse_transfer_encoding(std::string_view value, FieldFacts& facts) {
  facts.has_transfer_encoding = true;
  size_t elements = 0;
  auto error = for_each_element(value, [&](std::string_view coding) -> std::optional<ParseError> {
    ++elements;
    // Parameters ("chunked;x=1") and inner whitespace make it a non-token: nobody sends those
    // legitimately, and parsers disagree about them.
    if (!is_token(coding)) return ParseError::kInvalidTransferEncoding;
    if (iequals(coding, "chunked")) {
      if (facts.chunked) return ParseError::kChunkedTwice;
      facts.chunked = true;
      return std::nullopt;
    }
    Coding known;
    if (iequals(coding, "gzip") || iequals(coding, "x-gzip")) {
      known = Coding::kGzip;
    } else if (iequals(coding, "deflate")) {
      known = Coding::kDeflate;
    } else if (iequals(coding, "compress") || iequals(coding, "x-compress")) {
      known = Coding::kCompress;
    } else {
      return ParseError::kUnknownTransferCoding;  // includes "identity" (removed in RFC 7230)
    }
    // Anything after chunked: chunked is not final, the body cannot be delimited (§6.1).
    if (facts.chunked) return ParseError::kTeNotChunkedFinal;
    if (facts.codings.size == TransferCodings::kMax) return ParseError::kTooManyTransferCodings;
    facts.codings.items[facts.codings.size++] = known;
    return std::nullopt;
  });
  if (error) return error;
  // "Transfer-Encoding:" with no coding: some parsers take it as chunked, some ignore it.
  if (elements == 0) return ParseError::kInvalidTransferEncoding;
  return std::nullopt;
}

std::optional<ParseError> parse_connection(std::string_view value, FieldFacts& facts) {
  return for_each_element(value, [&](std::string_view option) -> std::optional<ParseError> {
    if (!is_token(option)) return ParseError::kInvalidConnectionHeader;
    if (iequals(option, "close")) {
      facts.connection_close = true;
    } else if (iequals(option, "keep-alive")) {
      facts.connection_keep_alive = true;
    } else if (iequals(option, "upgrade")) {
      facts.connection_upgrade = true;
    }
    return std::nullopt;
  });
}

}  // namespace

void HeadScanner::reset() {
  phase_ = kind_ == BlockKind::kTrailers ? Phase::kFields : Phase::kStartLine;
  error_ = ParseError::kBareCr;
  line_start_ = 0;
  scan_pos_ = 0;
  field_count_ = 0;
  method_ = {};
  target_ = {};
  authority_ = {};
  target_form_ = TargetForm::kOrigin;
  is_connect_ = false;
  version_ = Version::kHttp11;
  status_ = 0;
  reason_ = {};
  fields_.clear();
  facts_ = {};
}

ParseResult HeadScanner::fail(ParseError error) {
  phase_ = Phase::kFailed;
  error_ = error;
  return ParseResult::failed(error);
}

ParseResult HeadScanner::scan(std::string_view buffer) {
  if (phase_ == Phase::kFailed) return ParseResult::failed(error_);
  // The caller broke the cumulative-buffer contract (a shorter buffer): start over rather than
  // read stale offsets past its end.
  if (buffer.size() < scan_pos_) reset();
  if (phase_ == Phase::kDone) return ParseResult::complete(line_start_);

  const char* data = buffer.data();
  const size_t size = buffer.size();
  while (true) {
    const void* lf =
        scan_pos_ < size ? std::memchr(data + scan_pos_, '\n', size - scan_pos_) : nullptr;
    if (lf == nullptr) {
      scan_pos_ = size;
      if (auto e = limit_error(data + line_start_, size - line_start_, false)) return fail(*e);
      return ParseResult::incomplete();
    }
    const auto lf_pos = static_cast<size_t>(static_cast<const char*>(lf) - data);
    const size_t raw_len = lf_pos - line_start_;
    if (auto e = limit_error(data + line_start_, raw_len, true)) return fail(*e);
    if (raw_len == 0 || data[lf_pos - 1] != '\r') return fail(ParseError::kBareLf);
    const size_t start = line_start_;
    line_start_ = lf_pos + 1;
    scan_pos_ = lf_pos + 1;
    if (auto e = process_line(buffer, start, raw_len - 1)) return fail(*e);
    if (phase_ == Phase::kDone) return ParseResult::complete(line_start_);
  }
}

// Limits are decided on line prefixes: the error is the limit whose threshold the byte stream
// crosses first, computed the same way whether the line is complete or still arriving. That
// keeps the outcome independent of read boundaries (see the file comment in the header).
std::optional<ParseError> HeadScanner::limit_error(const char* raw, size_t raw_len,
                                                   bool complete) const {
  const bool start_line = phase_ == Phase::kStartLine;
  const size_t max_line = start_line ? limits_.max_start_line : limits_.max_header_line;
  // Line length excludes the CRLF. A prefix ending in CR may still end in CRLF, so its CR does
  // not count yet.
  size_t line_cross = kNever;
  if (raw_len > max_line) {
    if (raw[max_line] != '\r') {
      line_cross = max_line + 1;
    } else if (raw_len >= max_line + 2) {
      line_cross = max_line + 2;
    }
  }
  const size_t budget =
      limits_.max_header_bytes > line_start_ ? limits_.max_header_bytes - line_start_ : 0;
  const size_t seen = raw_len + (complete ? 1 : 0);  // a complete line includes its LF
  const size_t block_cross = seen > budget ? budget + 1 : kNever;
  if (line_cross == kNever && block_cross == kNever) return std::nullopt;
  if (line_cross <= block_cross) {
    if (!start_line) return ParseError::kHeaderLineTooLong;
    return kind_ == BlockKind::kResponse ? ParseError::kStatusLineTooLong
                                         : ParseError::kRequestLineTooLong;
  }
  return ParseError::kHeaderBlockTooLarge;
}

std::optional<ParseError> HeadScanner::process_line(std::string_view buffer, size_t start,
                                                    size_t length) {
  // A CR inside a line is a bare CR: the terminating CR has already been stripped.
  if (length > 0 && std::memchr(buffer.data() + start, '\r', length) != nullptr) {
    return ParseError::kBareCr;
  }
  if (phase_ == Phase::kStartLine) {
    // RFC 9112 §2.2: empty lines before the start-line are ignored (clients send a stray CRLF
    // after a POST body). They still count towards max_header_bytes.
    if (length == 0) return std::nullopt;
    phase_ = Phase::kFields;
    return kind_ == BlockKind::kRequest ? request_line(buffer, start, length)
                                        : status_line(buffer, start, length);
  }
  if (length == 0) {
    phase_ = Phase::kDone;
    return std::nullopt;
  }
  return field_line(buffer, start, length);
}

std::optional<ParseError> HeadScanner::request_line(std::string_view buffer, size_t start,
                                                    size_t length) {
  const std::string_view line = buffer.substr(start, length);
  // Exactly "method SP target SP version": the version is after the last SP, so a target with
  // a space in it is reported as a bad target.
  const size_t sp1 = line.find(' ');
  const size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp1 == sp2) return ParseError::kInvalidRequestLine;
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (!is_token(method)) return ParseError::kInvalidMethod;
  // "GET  / HTTP/1.1": separators are exactly one SP.
  if (target.empty() || target.front() == ' ' || target.back() == ' ') {
    return ParseError::kInvalidRequestLine;
  }
  if (auto e = parse_version(line.substr(sp2 + 1), version_)) return e;
  if (!valid_target_bytes(target)) return ParseError::kInvalidRequestTarget;

  method_ = {start, sp1};
  target_ = {start + sp1 + 1, target.size()};
  is_connect_ = method == "CONNECT";
  if (target == "*") {
    if (method != "OPTIONS") return ParseError::kAsteriskFormNotOptions;
    target_form_ = TargetForm::kAsterisk;
  } else if (target.front() == '/') {
    if (is_connect_) return ParseError::kConnectTargetNotAuthority;
    target_form_ = TargetForm::kOrigin;
  } else if (const size_t a = absolute_authority_start(target); a != std::string_view::npos) {
    if (is_connect_) return ParseError::kConnectTargetNotAuthority;
    const std::string_view rest = target.substr(a);
    const std::string_view authority = rest.substr(0, rest.find_first_of("/?"));
    // Userinfo ("user@host") is deprecated and a classic confusion vector (RFC 9110 §4.2.4).
    if (authority.empty() || !is_valid_authority(authority, false)) {
      return ParseError::kInvalidRequestTarget;
    }
    target_form_ = TargetForm::kAbsolute;
    authority_ = {target_.offset + a, authority.size()};
  } else if (is_valid_authority(target, true)) {
    if (!is_connect_) return ParseError::kAuthorityFormNotConnect;
    target_form_ = TargetForm::kAuthority;
    authority_ = target_;
  } else {
    return is_connect_ ? ParseError::kConnectTargetNotAuthority
                       : ParseError::kInvalidRequestTarget;
  }
  return std::nullopt;
}

std::optional<ParseError> HeadScanner::status_line(std::string_view buffer, size_t start,
                                                   size_t length) {
  const std::string_view line = buffer.substr(start, length);
  const size_t sp = line.find(' ');
  if (auto e = parse_version(line.substr(0, sp), version_)) return e;
  if (sp == std::string_view::npos) return ParseError::kInvalidStatusLine;
  const std::string_view rest = line.substr(sp + 1);
  if (rest.size() < 3 || !is_digit(rest[0]) || !is_digit(rest[1]) || !is_digit(rest[2]) ||
      (rest.size() > 3 && rest[3] != ' ')) {
    return ParseError::kInvalidStatusCode;
  }
  status_ = (rest[0] - '0') * 100 + (rest[1] - '0') * 10 + (rest[2] - '0');
  if (status_ < 100 || status_ > 599) return ParseError::kInvalidStatusCode;
  // "HTTP/1.1 200" without SP and reason is accepted: the grammar wants the SP, but servers omit
  // it, and it cannot change how the message is framed.
  const std::string_view reason = rest.size() > 4 ? rest.substr(4) : std::string_view();
  for (char c : reason) {
    if (!detail::kFieldValueChar[static_cast<unsigned char>(c)]) {
      return ParseError::kInvalidReasonPhrase;
    }
  }
  reason_ = reason.empty() ? Span{start + length, 0} : Span{start + sp + 5, reason.size()};
  return std::nullopt;
}

std::optional<ParseError> HeadScanner::field_line(std::string_view buffer, size_t start,
                                                  size_t length) {
  const char* c = buffer.data() + start;
  if (is_ows(c[0])) {
    return field_count_ == 0 && kind_ != BlockKind::kTrailers
               ? ParseError::kWhitespaceAfterStartLine
               : ParseError::kObsFold;
  }
  if (++field_count_ > limits_.max_header_count) return ParseError::kTooManyHeaders;

  const void* colon_ptr = std::memchr(c, ':', length);
  if (colon_ptr == nullptr) return ParseError::kMissingColon;
  const auto colon = static_cast<size_t>(static_cast<const char*>(colon_ptr) - c);
  if (colon == 0) return ParseError::kEmptyHeaderName;
  for (size_t i = 0; i < colon; ++i) {
    if (is_tchar(c[i])) continue;
    // "Name : value" is the whitespace-before-colon smuggling vector (§5.1: MUST reject).
    size_t j = i;
    while (j < colon && is_ows(c[j])) ++j;
    return j == colon ? ParseError::kWhitespaceBeforeColon : ParseError::kInvalidHeaderName;
  }

  size_t begin = colon + 1;
  size_t end = length;
  while (begin < end && is_ows(c[begin])) ++begin;
  while (end > begin && is_ows(c[end - 1])) --end;
  for (size_t i = begin; i < end; ++i) {
    if (!detail::kFieldValueChar[static_cast<unsigned char>(c[i])]) {
      return c[i] == '\0' ? ParseError::kNulInFieldValue : ParseError::kCtlInFieldValue;
    }
  }
  const FieldSpan span{{start, colon}, {start + begin, end - begin}};
  fields_.push_back(span);
  return field_fact(std::string_view(c, colon), std::string_view(c + begin, end - begin),
                    span.value);
}

std::optional<ParseError> HeadScanner::field_fact(std::string_view name, std::string_view value,
                                                  Span span) {
  if (kind_ == BlockKind::kTrailers) {
    if (is_forbidden_trailer(name)) return ParseError::kForbiddenTrailerField;
    return std::nullopt;
  }
  // Dispatch on length first: most fields are none of these and cost one switch.
  switch (name.size()) {
    case 4:
      if (kind_ == BlockKind::kRequest && iequals(name, "host")) {
        if (++facts_.host_count > 1) return ParseError::kMultipleHost;
        facts_.host = span;
        if (!is_valid_authority(value, false)) return ParseError::kInvalidHost;
      }
      break;
    case 6:
      if (iequals(name, "expect") && iequals(value, "100-continue")) {
        facts_.expect_continue = true;
      }
      break;
    case 7:
      if (iequals(name, "upgrade") && !facts_.has_upgrade) {
        facts_.has_upgrade = true;
        facts_.upgrade = span;
      }
      break;
    case 10:
      if (iequals(name, "connection")) return parse_connection(value, facts_);
      break;
    case 14:
      if (iequals(name, "content-length")) return parse_content_length(value, facts_);
      break;
    case 17:
      if (iequals(name, "transfer-encoding")) return parse_transfer_encoding(value, facts_);
      break;
    default:
      break;
  }
  return std::nullopt;
}

void HeadScanner::fill_fields(std::string_view buffer, FieldList& out) const {
  out.clear();
  for (const FieldSpan& f : fields_) out.push_back({f.name.in(buffer), f.value.in(buffer)});
}

}  // namespace trellis::http::h1::detail
