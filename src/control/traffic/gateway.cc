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
    ctx.warning(r, field,
                "Service \"" + ref.name + "\" does not exist in namespace " + ns +
                    "; requests sent to it fail");
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
  for (auto& e : entries) *out.add_http_routes() = std::move(e.route);
  return true;
}

}  // namespace trellis::control::traffic::internal
