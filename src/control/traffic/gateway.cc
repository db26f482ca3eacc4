// HTTPRoute (policy.linkerd.io and gateway.networking.k8s.io) and GRPCRoute attached to a
// Service port -> ordered routes of the TrafficPolicy.
//
// Gateway API precedence is between *matches*, not rules: every (route, rule, match) becomes
// one compiled route, and they are sorted once here so the proxy can take the first that
// holds. HTTP: exact path (longer first), then path prefix (longer first), then regex (longer
// pattern first); then a method match; then more header matches; then more query matches;
// ties between routes go to the oldest creationTimestamp, then namespace/name; within a route,
// rule order, then match order.

#include <algorithm>
#include <tuple>

#include "base/strings.h"
#include "control/traffic/internal.h"

namespace trellis::control::traffic::internal {
namespace {

using resources::Resource;

std::string idx(std::string_view base, size_t i) {
  return std::string(base) + "[" + std::to_string(i) + "]";
}

bool attaches(const Ctx& ctx, const Resource& r, const std::vector<resources::ParentRef>& parents) {
  for (const auto& p : parents) {
    if (p.parent_kind != resources::ParentKind::kService || p.name != ctx.name) continue;
    const std::string parent_ns = p.ns.empty() ? r.effective_namespace() : p.ns;
    if (parent_ns != ctx.ns) continue;
    if (p.port && *p.port != ctx.port) continue;
    return true;
  }
  return false;
}

bool older(const Resource* a, const Resource* b) {
  const auto& ta = a->meta.creation_timestamp;
  const auto& tb = b->meta.creation_timestamp;
  if (ta.empty() != tb.empty()) return !ta.empty();
  if (ta != tb) return ta < tb;
  return std::make_pair(a->effective_namespace(), a->meta.name) <
         std::make_pair(b->effective_namespace(), b->meta.name);
}

void fill_value_match(const resources::ValueMatch& v, bool lower_name, pb::ValueMatch& out) {
  out.set_name(lower_name ? base::to_lower(v.name) : v.name);
  if (v.type == resources::ValueMatchType::kExact) {
    out.set_exact(v.value);
  } else {
    out.set_regex(v.value);
  }
}

void fill_header_modifier(const resources::HeaderModifier& m, pb::HeaderModifier& out) {
  for (const auto& h : m.set) {
    auto* x = out.add_set();
    x->set_name(base::to_lower(h.name));
    x->set_value(h.value);
  }
  for (const auto& h : m.add) {
    auto* x = out.add_add();
    x->set_name(base::to_lower(h.name));
    x->set_value(h.value);
  }
  for (const auto& n : m.remove) out.add_remove(base::to_lower(n));
}

void fill_path_modifier(const resources::PathModifier& m, pb::PathModifier& out) {
  if (m.type == resources::PathModifierType::kReplaceFullPath) {
    out.set_replace_full_path(m.value);
  } else {
    out.set_replace_prefix_match(m.value);
  }
}

// A Service reference of a route as a backend; nullopt (with a warning) for other kinds.
std::optional<pb::WeightedBackend> service_backend(const Ctx& ctx, const Resource& r,
                                                   const std::string& field,
                                                   const resources::BackendObjectRef& ref,
                                                   uint64_t weight) {
  if (!ref.is_service()) {
    ctx.warning(r, field,
                "backend kind " + (ref.group.empty() ? ref.kind : ref.group + "/" + ref.kind) +
                    " is not supported for Service routes (only Services); ignored");
    return std::nullopt;
  }
  const std::string ns = ref.ns.empty() ? r.effective_namespace() : ref.ns;
  const int32_t port = ref.port.value_or(ctx.port);
  const resources::Service* s = ctx.find_service(ns, ref.name);
  if (!s) {
    if (ctx.options.report_missing_services) {
      ctx.warning(r, field,
                  "Service \"" + ref.name + "\" does not exist in namespace " + ns +
                      "; requests sent to it fail");
    }
  } else if (std::none_of(s->ports.begin(), s->ports.end(),
                          [&](const auto& p) { return p.port == port; })) {
    ctx.warning(r, field,
                "Service \"" + ref.name + "\" has no port " + std::to_string(port));
  }
  return ctx.backend(ref.name, ns, port, weight);
}

void fill_filters(const Ctx& ctx, const Resource& r, const std::string& field,
                  const std::vector<resources::RouteFilter>& filters,
                  google::protobuf::RepeatedPtrField<pb::Filter>& out) {
  using T = resources::FilterType;
  for (size_t i = 0; i < filters.size(); ++i) {
    const auto& f = filters[i];
    pb::Filter pf;
    switch (f.type) {
      case T::kRequestHeaderModifier:
        fill_header_modifier(f.header_modifier, *pf.mutable_request_header_modifier());
        break;
      case T::kResponseHeaderModifier:
        fill_header_modifier(f.header_modifier, *pf.mutable_response_header_modifier());
        break;
      case T::kRequestRedirect: {
        auto* x = pf.mutable_request_redirect();
        x->set_scheme(f.redirect.scheme);
        x->set_hostname(f.redirect.hostname);
        if (f.redirect.path) fill_path_modifier(*f.redirect.path, *x->mutable_path());
        x->set_port(static_cast<uint32_t>(f.redirect.port.value_or(0)));
        x->set_status_code(static_cast<uint32_t>(f.redirect.status_code));
        break;
      }
      case T::kUrlRewrite: {
        auto* x = pf.mutable_url_rewrite();
        x->set_hostname(f.rewrite.hostname);
        if (f.rewrite.path) fill_path_modifier(*f.rewrite.path, *x->mutable_path());
        break;
      }
      case T::kRequestMirror: {
        auto b = service_backend(ctx, r, idx(field, i) + ".requestMirror.backendRef",
                                 f.mirror.backend, 1);
        if (!b) continue;
        auto* x = pf.mutable_request_mirror();
        *x->mutable_backend() = std::move(*b);
        x->set_numerator(static_cast<uint32_t>(std::max<int64_t>(0, f.mirror.numerator)));
        x->set_denominator(static_cast<uint32_t>(std::max<int64_t>(1, f.mirror.denominator)));
        break;
      }
    }
    *out.Add() = std::move(pf);
  }
}

// One rule's settings, shared by the compiled routes of each of its matches.
template <typename RouteT, typename RuleT>
pb::HttpRoute rule_route(const Ctx& ctx, const Resource& r, const RouteT& route, const RuleT& rule,
                         size_t rule_index, bool grpc,
                         const std::optional<base::Duration>& rule_request_timeout,
                         const std::optional<base::Duration>& rule_backend_timeout) {
  const std::string field = idx("spec.rules", rule_index);
  pb::HttpRoute out;
  out.set_name(r.meta.name);
  out.set_origin(display(r));
  out.set_rule_index(static_cast<uint32_t>(rule_index));
  for (const auto& h : route.hostnames) out.add_hostnames(h);
  fill_filters(ctx, r, field + ".filters", rule.filters, *out.mutable_filters());
  for (size_t i = 0; i < rule.backend_refs.size(); ++i) {
    const auto& b = rule.backend_refs[i];
    const std::string bfield = idx(field + ".backendRefs", i);
    auto wb = service_backend(ctx, r, bfield, b.ref, static_cast<uint64_t>(std::max<int64_t>(
                                                          0, b.weight)));
    if (!wb) continue;
    fill_filters(ctx, r, bfield + ".filters", b.filters, *wb->mutable_filters());
    *out.add_backends() = std::move(*wb);
  }
  if (rule.backend_refs.empty()) {
    *out.add_backends() = ctx.self_backend();
  } else if (std::all_of(out.backends().begin(), out.backends().end(),
                         [](const auto& b) { return b.weight() == 0; })) {
    ctx.warning(r, field + ".backendRefs",
                "no backend can receive traffic (every weight is zero or every backend is "
                "unsupported): requests matching this rule fail with 500");
  }

  // Route annotations replace the Service's; timeout.linkerd.io/request wins over the rule's
  // timeouts.request.
  const resources::RetryPolicy& retry = route.retry.configured ? route.retry : ctx.service_retry;
  *out.mutable_retry() = retry_from_annotations(retry, grpc);
  const resources::TimeoutPolicy& t =
      route.timeouts.configured() ? route.timeouts : ctx.service_timeouts;
  auto* timeouts = out.mutable_timeouts();
  if (route.timeouts.request) {
    timeouts->set_request_ms(to_ms(route.timeouts.request));
  } else if (rule_request_timeout) {
    timeouts->set_request_ms(to_ms(rule_request_timeout));
  } else {
    timeouts->set_request_ms(to_ms(t.request));
  }
  timeouts->set_backend_request_ms(to_ms(rule_backend_timeout));
  timeouts->set_response_ms(to_ms(t.response));
  timeouts->set_idle_ms(to_ms(t.idle));
  return out;
}

struct Entry {
  const Resource* res = nullptr;
  size_t rule = 0;
  size_t match = 0;
  // Specificity, most specific first when compared ascending.
  std::tuple<int, int64_t, int, int64_t, int64_t> key;
  pb::HttpRoute route;
};

void sort_entries(std::vector<Entry>& entries) {
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    if (a.key != b.key) return a.key < b.key;
    if (a.res != b.res) return older(a.res, b.res);
    return std::make_pair(a.rule, a.match) < std::make_pair(b.rule, b.match);
  });
}

void http_entries(const Ctx& ctx, const Resource& r, std::vector<Entry>& out) {
  const auto& route = *r.as<resources::HttpRoute>();
  for (size_t ri = 0; ri < route.rules.size(); ++ri) {
    const auto& rule = route.rules[ri];
    const pb::HttpRoute base = rule_route(ctx, r, route, rule, ri, false, rule.timeouts.request,
                                          rule.timeouts.backend_request);
    for (size_t mi = 0; mi < rule.matches.size(); ++mi) {
      const auto& m = rule.matches[mi];
      Entry e{&r, ri, mi, {}, base};
      auto* all = e.route.add_matches()->mutable_all();
      auto* path = all->add_matches()->mutable_path();
      int rank = 0;
      switch (m.path.type) {
        case resources::PathMatchType::kExact: path->set_exact(m.path.value); rank = 0; break;
        case resources::PathMatchType::kPathPrefix: path->set_prefix(m.path.value); rank = 1; break;
        case resources::PathMatchType::kRegularExpression:
          path->set_regex(m.path.value);
          rank = 2;
          break;
      }
      if (!m.method.empty()) all->add_matches()->set_method(m.method);
      for (const auto& h : m.headers) {
        fill_value_match(h, true, *all->add_matches()->mutable_header());
      }
      for (const auto& q : m.query_params) {
        fill_value_match(q, false, *all->add_matches()->mutable_query_param());
      }
      e.key = {rank, -static_cast<int64_t>(m.path.value.size()), m.method.empty() ? 1 : 0,
               -static_cast<int64_t>(m.headers.size()),
               -static_cast<int64_t>(m.query_params.size())};
      out.push_back(std::move(e));
    }
  }
}

// Specificity of a gRPC service or method match: exact (longer first), regex, none.
std::pair<int, int64_t> grpc_rank(resources::ValueMatchType type, const std::string& value) {
  if (value.empty()) return {2, 0};
  return {type == resources::ValueMatchType::kExact ? 0 : 1, -static_cast<int64_t>(value.size())};
}

void grpc_entries(const Ctx& ctx, const Resource& r, std::vector<Entry>& out) {
  const auto& route = *r.as<resources::GrpcRoute>();
  for (size_t ri = 0; ri < route.rules.size(); ++ri) {
    const auto& rule = route.rules[ri];
    const pb::HttpRoute base =
        rule_route(ctx, r, route, rule, ri, true, std::nullopt, std::nullopt);
    for (size_t mi = 0; mi < rule.matches.size(); ++mi) {
      const auto& m = rule.matches[mi];
      Entry e{&r, ri, mi, {}, base};
      auto* all = e.route.add_matches()->mutable_all();
      std::pair<int, int64_t> service_rank{2, 0};
      std::pair<int, int64_t> method_rank{2, 0};
      if (m.method) {
        auto* g = all->add_matches()->mutable_grpc();
        const bool exact = m.method->type == resources::ValueMatchType::kExact;
        if (!m.method->service.empty()) {
          exact ? g->set_service_exact(m.method->service) : g->set_service_regex(m.method->service);
        }
        if (!m.method->method.empty()) {
          exact ? g->set_method_exact(m.method->method) : g->set_method_regex(m.method->method);
        }
        service_rank = grpc_rank(m.method->type, m.method->service);
        method_rank = grpc_rank(m.method->type, m.method->method);
      }
      for (const auto& h : m.headers) {
        fill_value_match(h, true, *all->add_matches()->mutable_header());
      }
      e.key = {service_rank.first, service_rank.second, method_rank.first, method_rank.second,
               -static_cast<int64_t>(m.headers.size())};
      out.push_back(std::move(e));
    }
  }
}

// ---- shadowed matches ---------------------------------------------------------------------

const resources::HttpRouteMatch* http_match(const Entry& e) {
  const auto* route = e.res->as<resources::HttpRoute>();
  if (route == nullptr) return nullptr;
  return &route->rules[e.rule].matches[e.match];
}

// Gateway API PathPrefix semantics: whole segments.
bool within_prefix(const std::string& path, const std::string& prefix) {
  std::string p = prefix;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  if (p == "/") return true;
  return path == p || base::starts_with(path, p + "/");
}

std::string describe_conditions(const resources::HttpRouteMatch& m) {
  std::vector<std::string> parts;
  if (!m.method.empty()) parts.push_back("method " + m.method);
  for (const auto& h : m.headers) {
    const bool exact = h.type == resources::ValueMatchType::kExact;
    parts.push_back("header " + h.name + (exact ? ": " : " ~ ") + h.value);
  }
  for (const auto& q : m.query_params) {
    const bool exact = q.type == resources::ValueMatchType::kExact;
    parts.push_back("query " + q.name + (exact ? "=" : " ~ ") + q.value);
  }
  return base::join(parts, ", ");
}

std::string describe_backends(const pb::HttpRoute& route) {
  std::vector<std::string> names;
  for (const auto& b : route.backends()) {
    if (b.weight() > 0) names.push_back(b.service().empty() ? b.authority() : b.service());
  }
  if (names.empty()) return "no backend";
  return base::join(names, " + ");
}

bool same_backends(const pb::HttpRoute& a, const pb::HttpRoute& b) {
  if (a.backends_size() != b.backends_size()) return false;
  for (int i = 0; i < a.backends_size(); ++i) {
    if (a.backends(i).authority() != b.backends(i).authority() ||
        a.backends(i).weight() != b.backends(i).weight()) {
      return false;
    }
  }
  return true;
}

// Every request with path match `p` also matches k's path.
bool covers(const resources::HttpRouteMatch& k, const resources::PathMatch& p) {
  switch (k.path.type) {
    case resources::PathMatchType::kPathPrefix:
      return p.type != resources::PathMatchType::kRegularExpression &&
             within_prefix(p.value, k.path.value);
    case resources::PathMatchType::kExact:
      return p.type == resources::PathMatchType::kExact && p.value == k.path.value;
    case resources::PathMatchType::kRegularExpression:
      return false;
  }
  return false;
}

bool same_value_match(const resources::ValueMatch& a, const resources::ValueMatch& b) {
  return base::to_lower(a.name) == base::to_lower(b.name) && a.type == b.type &&
         a.value == b.value;
}

// k's method, header and query conditions are among m's: whatever m matches, k matches too
// (path aside).
bool conditions_within(const resources::HttpRouteMatch& k, const resources::HttpRouteMatch& m) {
  if (!k.method.empty() && k.method != m.method) return false;
  auto subset = [](const std::vector<resources::ValueMatch>& ks,
                   const std::vector<resources::ValueMatch>& ms) {
    return std::all_of(ks.begin(), ks.end(), [&](const resources::ValueMatch& x) {
      return std::any_of(ms.begin(), ms.end(),
                         [&](const resources::ValueMatch& y) { return same_value_match(x, y); });
    });
  };
  return subset(k.headers, m.headers) && subset(k.query_params, m.query_params);
}

// A match with header/method/query conditions under a short path prefix (often the implied
// PathPrefix "/") loses, for every path under a longer path-only match of another rule, to that
// rule: Gateway API ranks the longest path first and looks at headers only between equal paths.
// Users write such rules expecting "this header goes to v2" everywhere (seed template 6), so say
// what will happen and how to get what they meant.
void warn_shadowed_matches(const Ctx& ctx, const std::vector<Entry>& entries) {
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& m = entries[i];
    const resources::HttpRouteMatch* mm = http_match(m);
    if (mm == nullptr || mm->path.type != resources::PathMatchType::kPathPrefix) continue;
    if (mm->method.empty() && mm->headers.empty() && mm->query_params.empty()) continue;
    std::vector<std::string> lost;  // the shadowing paths, reported once each
    for (size_t j = 0; j < i; ++j) {
      const Entry& n = entries[j];
      const resources::HttpRouteMatch* nm = http_match(n);
      if (nm == nullptr || nm->path.type == resources::PathMatchType::kRegularExpression) continue;
      if (!nm->method.empty() || !nm->headers.empty() || !nm->query_params.empty()) continue;
      // N comes first, so wherever both paths match (N's path lies within M's prefix), N wins
      // whatever M's conditions say.
      if (!within_prefix(nm->path.value, mm->path.value)) continue;
      if (same_backends(m.route, n.route)) continue;
      // An earlier match with M's backends, no more conditions than M and a path covering N's
      // catches those requests first (the fix this warning suggests).
      const bool caught = std::any_of(entries.begin(), entries.begin() + j, [&](const Entry& k) {
        const resources::HttpRouteMatch* km = http_match(k);
        return km != nullptr && same_backends(k.route, m.route) &&
               covers(*km, nm->path) && conditions_within(*km, *mm);
      });
      if (caught) continue;
      // Already covered by a shorter shadowing path reported for this match.
      if (std::any_of(lost.begin(), lost.end(),
                      [&](const std::string& p) { return within_prefix(nm->path.value, p); })) {
        continue;
      }
      lost.push_back(nm->path.value);
      const bool implied = mm->path.value == "/";
      const std::string type =
          nm->path.type == resources::PathMatchType::kExact ? "Exact" : "PathPrefix";
      const std::string other =
          "spec.rules[" + std::to_string(n.rule) + "]" +
          (n.res == m.res ? std::string() : " of " + display(*n.res));
      ctx.warning(
          *m.res, "spec.rules[" + std::to_string(m.rule) + "].matches[" + std::to_string(m.match) +
                      "]",
          "the match on " + describe_conditions(*mm) + " (" +
              (implied ? std::string("no path, so PathPrefix / is implied")
                       : "PathPrefix " + mm->path.value) +
              ") does not apply to requests " + (type == "Exact" ? "for " : "under ") +
              nm->path.value + ": " + other + " matches their path (" + type + " " +
              nm->path.value + ") more specifically and takes precedence under Gateway API " +
              "rules, whatever the headers, so they go to " + describe_backends(n.route) +
              ", not " + describe_backends(m.route) + ". To send them to " +
              describe_backends(m.route) + " too, add to this rule a match with `path: {type: " +
              type + ", value: " + nm->path.value + "}` and the same " +
              (mm->headers.empty() ? "conditions" : "headers"));
    }
  }
}

}  // namespace

std::vector<const resources::Resource*> attached_routes(const Ctx& ctx) {
  // Producer routes live in the Service's namespace and apply to every client; consumer routes
  // live in a client's namespace, apply only to that namespace's clients, and replace the
  // producer routes for them (Gateway API GEP-1426).
  std::vector<const Resource*> producer;
  std::vector<const Resource*> consumer;
  for (const Resource* r : ctx.store) {
    bool attached = false;
    if (const auto* h = r->as<resources::HttpRoute>()) attached = attaches(ctx, *r, h->parent_refs);
    if (const auto* g = r->as<resources::GrpcRoute>()) attached = attaches(ctx, *r, g->parent_refs);
    if (!attached) continue;
    if (r->effective_namespace() == ctx.ns) {
      producer.push_back(r);
    } else if (r->effective_namespace() == ctx.options.client_namespace) {
      consumer.push_back(r);
    }
  }
  return consumer.empty() ? producer : consumer;
}

bool compile_gateway_routes(const Ctx& ctx, pb::TrafficPolicy& out) {
  const auto routes = attached_routes(ctx);
  if (routes.empty()) return false;
  const bool any_grpc = std::any_of(routes.begin(), routes.end(), [](const Resource* r) {
    return r->as<resources::GrpcRoute>() != nullptr;
  });
  std::vector<Entry> entries;
  for (const Resource* r : routes) {
    if (r->as<resources::GrpcRoute>()) {
      grpc_entries(ctx, *r, entries);
    } else if (any_grpc) {
      ctx.warning(*r, "spec.parentRefs",
                  "ignored for Service \"" + ctx.name + "\" port " + std::to_string(ctx.port) +
                      ": GRPCRoutes attached to the same port take precedence over HTTPRoutes");
      continue;
    } else {
      http_entries(ctx, *r, entries);
    }
    out.add_resources(display(*r));
  }
  sort_entries(entries);
  warn_shadowed_matches(ctx, entries);
  for (auto& e : entries) *out.add_http_routes() = std::move(e.route);
  return true;
}

}  // namespace trellis::control::traffic::internal
