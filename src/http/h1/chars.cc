#include "http/h1/chars.h"

#include <cstring>

namespace trellis::http::h1 {
namespace {

// unreserved / sub-delims / "%" (pct-encoded is checked separately): the reg-name alphabet.
constexpr std::array<bool, 256> make_reg_name_table() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : std::string_view("-._~!$&'()*+,;=%")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr std::array<bool, 256> kRegNameChar = make_reg_name_table();

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool valid_port(std::string_view port) {
  if (port.empty() || port.size() > 5) return false;
  uint32_t v = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  return v <= 65535;
}

bool valid_reg_name(std::string_view host) {
  for (size_t i = 0; i < host.size(); ++i) {
    const char c = host[i];
    if (!kRegNameChar[static_cast<unsigned char>(c)]) return false;
    if (c == '%') {
      if (i + 2 >= host.size() || !is_hex(host[i + 1]) || !is_hex(host[i + 2])) return false;
      i += 2;
    }
  }
  return true;
}

bool valid_ip_literal(std::string_view inside) {
  // IPv6address (and embedded IPv4); the exact grammar is checked where addresses are used, this
  // only guarantees the alphabet, so nothing exotic reaches routing.
  if (inside.empty()) return false;
  for (char c : inside) {
    if (!is_hex(c) && c != ':' && c != '.') return false;
  }
  return true;
}

}  // namespace

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_tchar(c)) return false;
  }
  return true;
}

FieldValueProblem check_field_value(std::string_view value) {
  for (char c : value) {
    if (detail::kFieldValueChar[static_cast<unsigned char>(c)]) continue;
    if (c == '\r') return FieldValueProblem::kCr;
    if (c == '\n') return FieldValueProblem::kLf;
    if (c == '\0') return FieldValueProblem::kNul;
    return FieldValueProblem::kCtl;
  }
  if (!value.empty() && (is_ows(value.front()) || is_ows(value.back()))) {
    return FieldValueProblem::kSurroundingWhitespace;
  }
  return FieldValueProblem::kNone;
}

bool is_valid_field_value(std::string_view value) {
  return check_field_value(value) == FieldValueProblem::kNone;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

bool list_contains_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    const std::string_view element =
        trim_ows(comma == std::string_view::npos ? value : value.substr(0, comma));
    if (iequals(element, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

bool is_hop_by_hop(std::string_view name) {
  switch (name.size()) {
    case 2: return iequals(name, "te");
    case 7: return iequals(name, "upgrade");
    case 10: return iequals(name, "connection") || iequals(name, "keep-alive");
    case 14: return iequals(name, "http2-settings");
    case 16: return iequals(name, "proxy-connection");
    case 17: return iequals(name, "transfer-encoding");
    default: return false;
  }
}

bool is_forbidden_trailer(std::string_view name) {
  if (is_hop_by_hop(name)) return true;
  switch (name.size()) {
    case 4: return iequals(name, "host");
    case 7: return iequals(name, "trailer");
    case 13: return iequals(name, "authorization");
    case 14: return iequals(name, "content-length");
    case 19: return iequals(name, "proxy-authorization");
    default: return false;
  }
}

bool is_valid_authority(std::string_view authority, bool require_port) {
  if (authority.empty()) return !require_port;
  std::string_view host;
  std::string_view rest;
  if (authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return false;
    if (!valid_ip_literal(authority.substr(1, close - 1))) return false;
    host = authority.substr(0, close + 1);
    rest = authority.substr(close + 1);
  } else {
    const size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view() : authority.substr(colon);
    if (host.empty() || !valid_reg_name(host)) return false;
  }
  if (rest.empty()) return !require_port;
  if (rest.front() != ':') return false;
  return valid_port(rest.substr(1));
}

}  // namespace trellis::http::h1
