#pragma once
// The HTTP message model shared by HTTP/1 and HTTP/2 (and so by the h1<->h2 translation): a
// request or response head, and a streamed body. Header names are kept lower-case (the HTTP/2
// form); pseudo-headers are fields of the head, never entries in `headers`.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace trellis::http {

enum class Version : uint8_t { kHttp10, kHttp11, kHttp2 };
const char* to_string(Version v);

struct Header {
  std::string name;   // lower-case
  std::string value;
};

class Headers {
 public:
  Headers() = default;
  Headers(std::initializer_list<Header> fields);

  // `name` is lower-cased on the way in.
  void add(std::string_view name, std::string_view value);
  // Replaces every field called `name` with one.
  void set(std::string_view name, std::string_view value);
  // Removes every field called `name`; returns how many were removed.
  size_t remove(std::string_view name);
  std::optional<std::string_view> get(std::string_view name) const;
  std::vector<std::string_view> get_all(std::string_view name) const;
  bool contains(std::string_view name) const { return get(name).has_value(); }
  // True if a comma-separated header (e.g. Connection) contains `token`, case-insensitively.
  bool has_token(std::string_view name, std::string_view token) const;

  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  auto begin() const { return fields_.begin(); }
  auto end() const { return fields_.end(); }
  void clear() { fields_.clear(); }
  void reserve(size_t n) { fields_.reserve(n); }
  // Name and value bytes plus 32 per field (RFC 7541 §4.1), for header-size budgets.
  size_t budget_size() const;

 private:
  std::vector<Header> fields_;
};

struct RequestHead {
  std::string method;     // "GET"
  std::string scheme;     // "http" or "https" (HTTP/2 :scheme; inferred for HTTP/1)
  std::string authority;  // :authority or Host
  std::string path;       // origin-form target: path and query ("*" for OPTIONS *)
  Version version = Version::kHttp11;
  Headers headers;        // no pseudo-headers, no Host
};

struct ResponseHead {
  int status = 200;
  std::string reason;     // HTTP/1 reason phrase; empty means the standard one
  Version version = Version::kHttp11;
  Headers headers;
};

// The standard reason phrase for a status code ("Not Found"), or "" if unknown.
std::string_view reason_phrase(int status);

// True for the request methods RFC 9110 defines as idempotent (safe to retry).
bool is_idempotent(std::string_view method);

}  // namespace trellis::http
