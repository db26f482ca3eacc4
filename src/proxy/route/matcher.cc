#include "proxy/route/matcher.h"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>

#include "base/strings.h"

namespace trellis::proxy::route {
namespace {

namespace pb = api::traffic::v1;

base::Result<std::unique_ptr<re2::RE2>, std::string> compile_regex(const std::string& pattern) {
  re2::RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_unique<re2::RE2>(pattern, options);
  if (!re->ok()) {
    return base::unexpected("invalid regular expression \"" + pattern + "\": " + re->error());
  }
  return re;
}

bool full_match(const re2::RE2& re, std::string_view s) {
  return re2::RE2::FullMatch(re2::StringPiece(s.data(), s.size()), re);
}

}  // namespace

RequestView RequestView::of(const http::RequestHead& head) {
  RequestView v;
  v.method = head.method;
  std::string_view target = head.path;
  if (const auto q = target.find('?'); q != std::string_view::npos) {
    v.query = target.substr(q + 1);
    target = target.substr(0, q);
  }
  v.path = target;
  std::string_view host = head.authority;
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    host = close == std::string_view::npos ? host : host.substr(0, close + 1);
  } else if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  v.host = host;
  v.headers = &head.headers;
  return v;
}

std::optional<std::string_view> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    if (key == name) {
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

bool path_has_prefix(std::string_view path, std::string_view prefix) {
  while (prefix.size() > 1 && prefix.back() == '/') prefix.remove_suffix(1);
  if (prefix.empty() || prefix == "/") return true;
  if (path.size() < prefix.size() || path.substr(0, prefix.size()) != prefix) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

Matcher::Matcher(Matcher&&) noexcept = default;
Matcher& Matcher::operator=(Matcher&&) noexcept = default;
Matcher::~Matcher() = default;

base::Result<Matcher, std::string> Matcher::compile(const pb::RequestMatch& m) {
  Matcher out;
  auto compile_list = [&](const pb::MatchList& list) -> std::string {
    for (const auto& c : list.matches()) {
      auto child = compile(c);
      if (!child.ok()) return child.error();
      out.children_.push_back(std::move(child).value());
    }
    return {};
  };
  auto set_regex = [&](const std::string& pattern, std::unique_ptr<re2::RE2>& slot) {
    auto re = compile_regex(pattern);
    if (!re.ok()) return re.error();
    slot = std::move(re).value();
    return std::string();
  };
  std::string error;
  switch (m.kind_case()) {
    case pb::RequestMatch::kAll:
      out.kind_ = Kind::kAll;
      error = compile_list(m.all());
      break;
    case pb::RequestMatch::kAny:
      out.kind_ = Kind::kAny;
      error = compile_list(m.any());
      break;
    case pb::RequestMatch::kNot: {
      out.kind_ = Kind::kNot;
      auto child = compile(m.not_());
      if (!child.ok()) return child;
      out.children_.push_back(std::move(child).value());
      break;
    }
    case pb::RequestMatch::kPath:
      switch (m.path().kind_case()) {
        case pb::PathMatch::kExact:
          out.kind_ = Kind::kPathExact;
          out.value_ = m.path().exact();
          break;
        case pb::PathMatch::kPrefix:
          out.kind_ = Kind::kPathPrefix;
          out.value_ = m.path().prefix();
          break;
        case pb::PathMatch::kRegex:
          out.kind_ = Kind::kPathRegex;
          error = set_regex(m.path().regex(), out.regex_);
          break;
        case pb::PathMatch::KIND_NOT_SET:
          error = "path match without a kind";
          break;
      }
      break;
    case pb::RequestMatch::kMethod:
      out.kind_ = Kind::kMethod;
      out.value_ = m.method();
      break;
    case pb::RequestMatch::kHeader:
    case pb::RequestMatch::kQueryParam: {
      const bool header = m.kind_case() == pb::RequestMatch::kHeader;
      const pb::ValueMatch& v = header ? m.header() : m.query_param();
      out.name_ = v.name();
      if (v.kind_case() == pb::ValueMatch::kRegex) {
        out.kind_ = header ? Kind::kHeaderRegex : Kind::kQueryRegex;
        error = set_regex(v.regex(), out.regex_);
      } else {
        out.kind_ = header ? Kind::kHeaderExact : Kind::kQueryExact;
        out.value_ = v.exact();
      }
      break;
    }
    case pb::RequestMatch::kGrpc: {
      out.kind_ = Kind::kGrpc;
      const auto& g = m.grpc();
      if (g.has_service_regex()) {
        error = set_regex(g.service_regex(), out.grpc_service_regex_);
      } else {
        out.grpc_service_ = g.service_exact();
      }
      if (error.empty() && g.has_method_regex()) {
        error = set_regex(g.method_regex(), out.grpc_method_regex_);
      } else {
        out.grpc_method_ = g.method_exact();
      }
      break;
    }
    case pb::RequestMatch::KIND_NOT_SET:
      error = "request match without a condition";
      break;
  }
  if (!error.empty()) return base::unexpected(std::move(error));
  return out;
}

bool Matcher::matches(const RequestView& r) const {
  switch (kind_) {
    case Kind::kAll:
      return std::all_of(children_.begin(), children_.end(),
                         [&](const Matcher& c) { return c.matches(r); });
    case Kind::kAny:
      return std::any_of(children_.begin(), children_.end(),
                         [&](const Matcher& c) { return c.matches(r); });
    case Kind::kNot:
      return !children_.front().matches(r);
    case Kind::kPathExact:
      return r.path == value_;
    case Kind::kPathPrefix:
      return path_has_prefix(r.path, value_);
    case Kind::kPathRegex:
      return full_match(*regex_, r.path);
    case Kind::kMethod:
      return r.method == value_;
    case Kind::kHeaderExact:
    case Kind::kHeaderRegex:
      if (!r.headers) return false;
      for (const auto& h : *r.headers) {
        if (!base::iequals(h.name, name_)) continue;
        if (kind_ == Kind::kHeaderExact ? h.value == value_ : full_match(*regex_, h.value)) {
          return true;
        }
      }
      return false;
    case Kind::kQueryExact:
    case Kind::kQueryRegex: {
      const auto v = query_param(r.query, name_);
      if (!v) return false;
      return kind_ == Kind::kQueryExact ? *v == value_ : full_match(*regex_, *v);
    }
    case Kind::kGrpc: {
      // "/<service>/<method>"
      if (r.path.size() < 2 || r.path.front() != '/') return false;
      const std::string_view rest = r.path.substr(1);
      const auto slash = rest.find('/');
      if (slash == std::string_view::npos) return false;
      const std::string_view service = rest.substr(0, slash);
      const std::string_view method = rest.substr(slash + 1);
      if (grpc_service_regex_) {
        if (!full_match(*grpc_service_regex_, service)) return false;
      } else if (!grpc_service_.empty() && service != grpc_service_) {
        return false;
      }
      if (grpc_method_regex_) {
        if (!full_match(*grpc_method_regex_, method)) return false;
      } else if (!grpc_method_.empty() && method != grpc_method_) {
        return false;
      }
      return true;
    }
  }
  return false;
}

std::optional<std::string_view> Matcher::path_prefix() const {
  if (kind_ == Kind::kPathPrefix) return value_;
  if (kind_ == Kind::kAll) {
    for (const auto& c : children_) {
      if (c.kind_ == Kind::kPathPrefix) return c.value_;
    }
  }
  return std::nullopt;
}

}  // namespace trellis::proxy::route
