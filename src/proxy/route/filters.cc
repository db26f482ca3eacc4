#include "proxy/route/filters.h"

#include <string>

namespace trellis::proxy::route {
namespace {

namespace pb = api::traffic::v1;

struct SplitTarget {
  std::string_view path;
  std::string_view query;  // including the leading '?', or empty
};

SplitTarget split_target(std::string_view target) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q)};
}

// The new path for a PathModifier, or nullopt when it cannot apply (prefix replacement without
// a matched prefix leaves the path unchanged).
std::optional<std::string> modified_path(const pb::PathModifier& m, std::string_view path,
                                         std::optional<std::string_view> matched_prefix) {
  switch (m.kind_case()) {
    case pb::PathModifier::kReplaceFullPath:
      return m.replace_full_path();
    case pb::PathModifier::kReplacePrefixMatch:
      if (!matched_prefix) return std::nullopt;
      return replace_prefix(path, *matched_prefix, m.replace_prefix_match());
    case pb::PathModifier::KIND_NOT_SET:
      break;
  }
  return std::nullopt;
}

// Host and port of an authority ("h:80" -> "h", "80"; "[::1]:80" -> "[::1]", "80").
std::pair<std::string_view, std::string_view> split_authority(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close != std::string_view::npos && close + 1 < authority.size() &&
        authority[close + 1] == ':') {
      return {authority.substr(0, close + 1), authority.substr(close + 2)};
    }
    return {authority, {}};
  }
  const auto colon = authority.rfind(':');
  if (colon == std::string_view::npos) return {authority, {}};
  return {authority.substr(0, colon), authority.substr(colon + 1)};
}

http::ResponseHead redirect(const pb::RequestRedirect& r,
                            std::optional<std::string_view> matched_prefix,
                            const http::RequestHead& request) {
  const std::string scheme = r.scheme().empty() ? request.scheme : r.scheme();
  const auto [req_host, req_port] = split_authority(request.authority);
  const std::string host = r.hostname().empty() ? std::string(req_host) : r.hostname();
  std::string port;
  if (r.port() != 0) {
    port = std::to_string(r.port());
  } else if (scheme == request.scheme) {
    port = std::string(req_port);
  }
  // The scheme's well-known port is left out.
  if ((scheme == "http" && port == "80") || (scheme == "https" && port == "443")) port.clear();
  const SplitTarget target = split_target(request.path);
  std::string path(target.path);
  if (r.has_path()) {
    if (auto p = modified_path(r.path(), target.path, matched_prefix)) path = std::move(*p);
  }
  std::string location = scheme + "://" + host;
  if (!port.empty()) location += ":" + port;
  location += path;
  location += target.query;

  http::ResponseHead out;
  out.status = r.status_code() == 0 ? 302 : static_cast<int>(r.status_code());
  out.version = request.version;
  out.headers.set("location", location);
  out.headers.set("content-length", "0");
  return out;
}

template <typename List>
std::optional<http::ResponseHead> apply_request(const List& filters,
                                                std::optional<std::string_view> matched_prefix,
                                                http::RequestHead& request) {
  for (const pb::Filter& f : filters) {
    switch (f.kind_case()) {
      case pb::Filter::kRequestHeaderModifier:
        apply_header_modifier(f.request_header_modifier(), request.headers);
        break;
      case pb::Filter::kUrlRewrite: {
        const auto& rw = f.url_rewrite();
        if (!rw.hostname().empty()) request.authority = rw.hostname();
        if (rw.has_path()) {
          const SplitTarget target = split_target(request.path);
          if (auto p = modified_path(rw.path(), target.path, matched_prefix)) {
            request.path = *p + std::string(target.query);
          }
        }
        break;
      }
      case pb::Filter::kRequestRedirect:
        return redirect(f.request_redirect(), matched_prefix, request);
      case pb::Filter::kResponseHeaderModifier:
      case pb::Filter::kRequestMirror:
      case pb::Filter::KIND_NOT_SET:
        break;
    }
  }
  return std::nullopt;
}

template <typename List>
void apply_response(const List& filters, http::ResponseHead& response) {
  for (const pb::Filter& f : filters) {
    if (f.has_response_header_modifier()) {
      apply_header_modifier(f.response_header_modifier(), response.headers);
    }
  }
}

}  // namespace

std::string replace_prefix(std::string_view path, std::string_view prefix,
                           std::string_view replacement) {
  while (prefix.size() > 1 && prefix.back() == '/') prefix.remove_suffix(1);
  std::string_view rest = path;
  if (prefix != "/" && rest.substr(0, prefix.size()) == prefix) {
    rest.remove_prefix(prefix.size());
  } else if (prefix == "/" && !rest.empty() && rest.front() == '/') {
    rest.remove_prefix(1);
    if (!rest.empty()) {
      // "/" replaced by "/new" in "/x" -> "/new/x".
      std::string out(replacement);
      if (out.empty() || out.back() != '/') out += '/';
      out += rest;
      return out;
    }
  }
  std::string out(replacement);
  if (!out.empty() && out.back() == '/' && !rest.empty() && rest.front() == '/') out.pop_back();
  out += rest;
  if (out.empty()) out = "/";
  return out;
}

void apply_header_modifier(const pb::HeaderModifier& m, http::Headers& headers) {
  for (const auto& h : m.set()) headers.set(h.name(), h.value());
  for (const auto& h : m.add()) headers.add(h.name(), h.value());
  for (const auto& name : m.remove()) headers.remove(name);
}

std::optional<http::ResponseHead> apply_request_filters(
    const FilterList& filters, std::optional<std::string_view> matched_prefix,
    http::RequestHead& request) {
  return apply_request(filters, matched_prefix, request);
}

std::optional<http::ResponseHead> apply_request_filters(
    const std::vector<pb::Filter>& filters, std::optional<std::string_view> matched_prefix,
    http::RequestHead& request) {
  return apply_request(filters, matched_prefix, request);
}

void apply_response_filters(const FilterList& filters, http::ResponseHead& response) {
  apply_response(filters, response);
}

void apply_response_filters(const std::vector<pb::Filter>& filters,
                            http::ResponseHead& response) {
  apply_response(filters, response);
}

std::vector<const pb::RequestMirror*> select_mirrors(const FilterList& filters,
                                                     balance::FastRandom& random) {
  std::vector<const pb::RequestMirror*> out;
  for (const auto& f : filters) {
    if (!f.has_request_mirror()) continue;
    const auto& m = f.request_mirror();
    const uint32_t den = m.denominator() == 0 ? 100 : m.denominator();
    if (m.numerator() >= den || random.below(den) < m.numerator()) out.push_back(&m);
  }
  return out;
}

}  // namespace trellis::proxy::route
