#pragma once
// Character classes of RFC 9110/9112 and the field validation helpers shared by the HTTP/1
// parser, the serializer and (later) the HTTP/2 <-> HTTP/1 translation, so every path that puts
// bytes on an HTTP/1 wire applies the same rules. Table lookups: no locale, no per-byte branches.

#include <array>
#include <cstdint>
#include <string_view>

namespace trellis::http::h1 {

namespace detail {

constexpr std::array<bool, 256> make_tchar_table() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}

// field-vchar / SP / HTAB / obs-text: everything but CTLs (other than HTAB) and DEL.
constexpr std::array<bool, 256> make_field_value_table() {
  std::array<bool, 256> t{};
  t['\t'] = true;
  for (int c = 0x20; c <= 0x7e; ++c) t[c] = true;
  for (int c = 0x80; c <= 0xff; ++c) t[c] = true;
  return t;
}

constexpr std::array<char, 256> make_lower_table() {
  std::array<char, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[c] = static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
  }
  return t;
}

inline constexpr std::array<bool, 256> kTchar = make_tchar_table();
inline constexpr std::array<bool, 256> kFieldValueChar = make_field_value_table();
inline constexpr std::array<char, 256> kLower = make_lower_table();

}  // namespace detail

inline bool is_tchar(char c) { return detail::kTchar[static_cast<unsigned char>(c)]; }
inline bool is_ows(char c) { return c == ' ' || c == '\t'; }
inline char ascii_lower(char c) { return detail::kLower[static_cast<unsigned char>(c)]; }

// 1*tchar: a method, field name, transfer coding or Connection option.
bool is_token(std::string_view s);

// A field name an HTTP/1 peer may receive: a non-empty token.
inline bool is_valid_field_name(std::string_view name) { return is_token(name); }

// A field value an HTTP/1 peer may receive: no CR, LF, NUL or other control character (HTAB
// allowed), and no leading or trailing whitespace (RFC 9113 §8.2.1 asks the same of HTTP/2, so
// a value that passes here is valid on both sides of a translation).
bool is_valid_field_value(std::string_view value);

// What is wrong with a field value; used where the caller wants to count the reason.
enum class FieldValueProblem : uint8_t { kNone, kCr, kLf, kNul, kCtl, kSurroundingWhitespace };
FieldValueProblem check_field_value(std::string_view value);

// ASCII case-insensitive equality (field names, codings, Connection options are all ASCII).
bool iequals(std::string_view a, std::string_view b);

// Strips leading and trailing SP/HTAB (OWS), nothing else.
std::string_view trim_ows(std::string_view s);

// True if the comma-separated list `value` contains `token`, case-insensitively.
bool list_contains_token(std::string_view value, std::string_view token);

// Hop-by-hop and connection-specific fields that are never forwarded as-is (RFC 9110 §7.6.1):
// connection, keep-alive, proxy-connection, te, transfer-encoding, upgrade, http2-settings.
bool is_hop_by_hop(std::string_view name);

// Fields that must not appear in a trailer section, because their meaning is needed before the
// content (framing, connection management, routing, authentication; RFC 9110 §6.5.1).
bool is_forbidden_trailer(std::string_view name);

// uri-host [ ":" port ], as in a Host field value or an authority (no userinfo). With
// `require_port`, the authority-form of CONNECT ("host:port"); an empty value is never valid
// then. Without it, an empty value is valid (RFC 9112 §3.2: empty Host when there is none).
bool is_valid_authority(std::string_view authority, bool require_port);

}  // namespace trellis::http::h1
