#pragma once
// A request condition of the traffic policy (api/traffic.proto RequestMatch), compiled once per
// policy version: regexes become RE2 objects (linear time: user-supplied patterns must not be a
// ReDoS vector), and matching never allocates.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/traffic.pb.h"
#include "base/result.h"
#include "http/message.h"

namespace re2 {
class RE2;
}

namespace trellis::proxy::route {

// The parts of a request that conditions look at, split once per request.
struct RequestView {
  std::string_view method;
  std::string_view path;   // without the query string
  std::string_view query;  // after '?', empty when none
  std::string_view host;   // authority without the port
  const http::Headers* headers = nullptr;

  static RequestView of(const http::RequestHead& head);
};

// The value of the first query parameter called `name` ("a=1&b=2"); nullopt when absent.
std::optional<std::string_view> query_param(std::string_view query, std::string_view name);

// Gateway API PathPrefix semantics: whole path segments; a trailing '/' in the prefix ignored.
bool path_has_prefix(std::string_view path, std::string_view prefix);

class Matcher {
 public:
  // Fails (with the reason) on an invalid regex or an empty condition.
  static base::Result<Matcher, std::string> compile(const api::traffic::v1::RequestMatch& m);

  Matcher(Matcher&&) noexcept;
  Matcher& operator=(Matcher&&) noexcept;
  ~Matcher();

  bool matches(const RequestView& request) const;

  // The PathPrefix this condition requires (itself, or an operand of a top-level `all`), for
  // URLRewrite/RequestRedirect ReplacePrefixMatch; nullopt when there is none.
  std::optional<std::string_view> path_prefix() const;

 private:
  enum class Kind {
    kAll, kAny, kNot, kPathExact, kPathPrefix, kPathRegex, kMethod, kHeaderExact, kHeaderRegex,
    kQueryExact, kQueryRegex, kGrpc
  };
  Matcher() = default;

  Kind kind_ = Kind::kAll;
  std::vector<Matcher> children_;
  std::string name_;   // header or query parameter name
  std::string value_;  // exact path/prefix/method/value
  std::unique_ptr<re2::RE2> regex_;
  // kGrpc: service and method, each exact (string) or regex (RE2); both empty = any.
  std::string grpc_service_;
  std::string grpc_method_;
  std::unique_ptr<re2::RE2> grpc_service_regex_;
  std::unique_ptr<re2::RE2> grpc_method_regex_;
};

}  // namespace trellis::proxy::route
