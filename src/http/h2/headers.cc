#include "http/h2/headers.h"

#include <algorithm>
#include <cctype>

#include "base/strings.h"
#include "http/h1/chars.h"

namespace trellis::http::h2 {
namespace {

// Token characters are shared with the HTTP/1 parser (RFC 9110 §5.6.2).
using h1::is_tchar;
using h1::is_token;

bool is_ws(char c) { return c == ' ' || c == '\t'; }

bool is_connection_specific(std::string_view name) {
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" ||
         name == "transfer-encoding" || name == "upgrade";
}

// RFC 3986 scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
bool is_scheme(std::string_view s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
  });
}

// RFC 3986 authority without userinfo (RFC 9113 §8.3.1 forbids it): host [":" port], where host
// is reg-name (unreserved / pct-encoded / sub-delims) or an IP literal in brackets.
bool is_authority(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    if (std::isalnum(static_cast<unsigned char>(c))) return true;
    switch (c) {
      case '-': case '.': case '_': case '~': case '%': case '!': case '$': case '&':
      case '\'': case '(': case ')': case '*': case '+': case ',': case ';': case '=':
      case ':': case '[': case ']':
        return true;
      default:
        return false;
    }
  });
}

// Origin-form (or "*"): visible ASCII only, no fragment. Non-ASCII, controls and spaces are
// rejected here rather than forwarded to an HTTP/1 upstream that might split on them.
bool is_path(std::string_view s) {
  if (s.empty()) return false;
  if (s == "*") return true;
  if (s[0] != '/') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && c != '#';
  });
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && is_ws(v.front())) v.remove_prefix(1);
  while (!v.empty() && is_ws(v.back())) v.remove_suffix(1);
  return v;
}

// Copies the regular fields of `headers` that HTTP/2 can carry.
void append_regular(const Headers& headers, bool allow_te, OutboundFields& out) {
  for (const auto& h : headers) {
    const std::string_view value = trim(h.value);
    if (h.name == "host") continue;  // carried as :authority
    if (!h.name.empty() && h.name[0] == ':') {
      ++out.dropped;
      continue;
    }
    if (h.name == "te") {
      if (allow_te && base::iequals(value, "trailers")) {
        out.fields.push_back({"te", "trailers"});
      } else {
        ++out.dropped;
      }
      continue;
    }
    if (check_field(h.name, value)) {
      ++out.dropped;
      continue;
    }
    out.fields.push_back({h.name, std::string(value)});
  }
}

}  // namespace

const char* to_string(HeaderError e) {
  switch (e) {
    case HeaderError::kInvalidName: return "invalid_name";
    case HeaderError::kUppercaseName: return "uppercase_name";
    case HeaderError::kInvalidValue: return "invalid_value";
    case HeaderError::kValueWhitespace: return "value_whitespace";
    case HeaderError::kConnectionSpecific: return "connection_specific";
    case HeaderError::kInvalidTe: return "invalid_te";
    case HeaderError::kUnknownPseudo: return "unknown_pseudo_header";
    case HeaderError::kPseudoAfterRegular: return "pseudo_header_after_regular";
    case HeaderError::kDuplicatePseudo: return "duplicate_pseudo_header";
    case HeaderError::kPseudoInTrailers: return "pseudo_header_in_trailers";
    case HeaderError::kMissingPseudo: return "missing_pseudo_header";
    case HeaderError::kInvalidPseudoValue: return "invalid_pseudo_header_value";
    case HeaderError::kInvalidContentLength: return "invalid_content_length";
    case HeaderError::kAuthorityMismatch: return "authority_mismatch";
    case HeaderError::kTooManyFields: return "too_many_fields";
    case HeaderError::kTooLarge: return "too_large";
  }
  return "unknown";
}

std::optional<HeaderError> check_field(std::string_view name, std::string_view value) {
  if (name.empty()) return HeaderError::kInvalidName;
  for (char c : name) {
    if (c >= 'A' && c <= 'Z') return HeaderError::kUppercaseName;
    if (!is_tchar(c)) return HeaderError::kInvalidName;
  }
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return HeaderError::kInvalidValue;
  }
  if (!value.empty() && (is_ws(value.front()) || is_ws(value.back()))) {
    return HeaderError::kValueWhitespace;
  }
  if (is_connection_specific(name)) return HeaderError::kConnectionSpecific;
  if (name == "te" && value != "trailers") return HeaderError::kInvalidTe;
  return std::nullopt;
}

std::optional<HeaderError> FieldBudget::charge(std::string_view name, std::string_view value) {
  used_ += name.size() + value.size() + 32;
  ++fields_;
  if (used_ > max_bytes_) return HeaderError::kTooLarge;
  if (fields_ > max_fields_) return HeaderError::kTooManyFields;
  return std::nullopt;
}

std::optional<uint64_t> parse_content_length(std::string_view value) {
  if (value.empty() || value.size() > 19) return std::nullopt;  // 19 digits always fit
  uint64_t n = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

std::optional<HeaderError> RequestHeadBuilder::add(std::string_view name, std::string_view value) {
  if (auto e = budget_.charge(name, value)) return e;
  if (!name.empty() && name[0] == ':') {
    if (regular_seen_) return HeaderError::kPseudoAfterRegular;
    auto set_once = [](bool& seen) { return std::exchange(seen, true); };
    if (name == ":method") {
      if (set_once(has_method_)) return HeaderError::kDuplicatePseudo;
      if (!is_token(value)) return HeaderError::kInvalidPseudoValue;
      head_.method = value;
    } else if (name == ":scheme") {
      if (set_once(has_scheme_)) return HeaderError::kDuplicatePseudo;
      if (!is_scheme(value)) return HeaderError::kInvalidPseudoValue;
      head_.scheme = value;
    } else if (name == ":authority") {
      if (set_once(has_authority_)) return HeaderError::kDuplicatePseudo;
      if (!is_authority(value)) return HeaderError::kInvalidPseudoValue;
      head_.authority = value;
    } else if (name == ":path") {
      if (set_once(has_path_)) return HeaderError::kDuplicatePseudo;
      if (!is_path(value)) return HeaderError::kInvalidPseudoValue;
      head_.path = value;
    } else {
      return HeaderError::kUnknownPseudo;  // includes :protocol, we never enable it
    }
    return std::nullopt;
  }
  regular_seen_ = true;
  if (auto e = check_field(name, value)) return e;
  if (name == "host") {
    if (host_ || !is_authority(value)) return HeaderError::kAuthorityMismatch;
    host_ = std::string(value);
    return std::nullopt;
  }
  if (name == "content-length") {
    auto n = parse_content_length(value);
    if (!n || (content_length_ && *content_length_ != *n)) {
      return HeaderError::kInvalidContentLength;
    }
    if (content_length_) return std::nullopt;  // an identical duplicate adds nothing
    content_length_ = n;
  }
  if (name == "cookie") {
    cookies_.emplace_back(value);
    return std::nullopt;
  }
  head_.headers.add(name, value);
  return std::nullopt;
}

base::Result<RequestHead, HeaderError> RequestHeadBuilder::finish() {
  if (!has_method_) return base::unexpected(HeaderError::kMissingPseudo);
  if (head_.method == "CONNECT") {
    // RFC 9113 §8.5: only :method and :authority.
    if (has_scheme_ || has_path_) return base::unexpected(HeaderError::kInvalidPseudoValue);
    if (!has_authority_) return base::unexpected(HeaderError::kMissingPseudo);
  } else {
    if (!has_scheme_ || !has_path_) return base::unexpected(HeaderError::kMissingPseudo);
    if (head_.path == "*" && head_.method != "OPTIONS") {
      return base::unexpected(HeaderError::kInvalidPseudoValue);
    }
  }
  if (host_) {
    if (has_authority_ && !base::iequals(*host_, head_.authority)) {
      return base::unexpected(HeaderError::kAuthorityMismatch);
    }
    if (!has_authority_) head_.authority = *host_;
  }
  if (!cookies_.empty()) {
    // RFC 9113 §8.2.3: crumbs are joined with "; " before reaching HTTP/1 or the application.
    std::string joined;
    for (const auto& c : cookies_) {
      if (!joined.empty()) joined += "; ";
      joined += c;
    }
    head_.headers.add("cookie", joined);
  }
  head_.version = Version::kHttp2;
  return std::move(head_);
}

std::optional<HeaderError> ResponseHeadBuilder::add(std::string_view name,
                                                    std::string_view value) {
  if (auto e = budget_.charge(name, value)) return e;
  if (!name.empty() && name[0] == ':') {
    if (regular_seen_) return HeaderError::kPseudoAfterRegular;
    if (name != ":status") return HeaderError::kUnknownPseudo;
    if (std::exchange(has_status_, true)) return HeaderError::kDuplicatePseudo;
    if (value.size() != 3 || value[0] < '1' || value[0] > '5' ||
        !std::isdigit(static_cast<unsigned char>(value[1])) ||
        !std::isdigit(static_cast<unsigned char>(value[2]))) {
      return HeaderError::kInvalidPseudoValue;
    }
    head_.status = (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
    if (head_.status == 101) return HeaderError::kInvalidPseudoValue;  // no Upgrade in HTTP/2
    return std::nullopt;
  }
  regular_seen_ = true;
  if (auto e = check_field(name, value)) return e;
  if (name == "content-length") {
    auto n = parse_content_length(value);
    if (!n || (content_length_ && *content_length_ != *n)) {
      return HeaderError::kInvalidContentLength;
    }
    if (content_length_) return std::nullopt;
    content_length_ = n;
  }
  head_.headers.add(name, value);
  return std::nullopt;
}

base::Result<ResponseHead, HeaderError> ResponseHeadBuilder::finish() {
  if (!has_status_) return base::unexpected(HeaderError::kMissingPseudo);
  head_.version = Version::kHttp2;
  return std::move(head_);
}

std::optional<HeaderError> TrailersBuilder::add(std::string_view name, std::string_view value) {
  if (auto e = budget_.charge(name, value)) return e;
  if (!name.empty() && name[0] == ':') return HeaderError::kPseudoInTrailers;
  if (auto e = check_field(name, value)) return e;
  trailers_.add(name, value);
  return std::nullopt;
}

OutboundFields request_fields(const RequestHead& head) {
  OutboundFields out;
  std::string authority = head.authority;
  if (authority.empty()) {
    if (auto host = head.headers.get("host")) authority = std::string(trim(*host));
  }
  out.fields.push_back({":method", head.method});
  if (head.method == "CONNECT") {
    out.fields.push_back({":authority", authority});
  } else {
    out.fields.push_back({":scheme", head.scheme.empty() ? "http" : head.scheme});
    if (!authority.empty()) out.fields.push_back({":authority", authority});
    out.fields.push_back({":path", head.path.empty() ? "/" : head.path});
  }
  append_regular(head.headers, /*allow_te=*/true, out);
  return out;
}

OutboundFields response_fields(const ResponseHead& head) {
  OutboundFields out;
  out.fields.push_back({":status", std::to_string(head.status)});
  append_regular(head.headers, /*allow_te=*/false, out);
  return out;
}

void add_content_length(const Body& body, const Headers& headers, OutboundFields& fields) {
  const auto size = body.size_hint();
  if (!size || headers.get("content-length")) return;
  fields.fields.push_back({"content-length", std::to_string(*size)});
}

OutboundFields trailer_fields(const Headers& trailers) {
  OutboundFields out;
  append_regular(trailers, /*allow_te=*/false, out);
  return out;
}

}  // namespace trellis::http::h2
