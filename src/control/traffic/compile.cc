#include "control/traffic/compile.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "base/strings.h"
#include "control/traffic/internal.h"
#include "resources/reader.h"
#include "resources/route.h"

namespace trellis::control::traffic {
namespace internal {

std::string display(const resources::Resource& r) {
  return r.type.kind + "/" + r.effective_namespace() + "/" + r.meta.name;
}

namespace {

resources::ObjectRef object_ref(const resources::Resource& r) {
  return {r.type.api_version(), r.type.kind, r.effective_namespace(), r.meta.name};
}

}  // namespace

void Ctx::error(const resources::Resource& r, std::string field, std::string message) const {
  problems.error(r.location, object_ref(r), std::move(field), std::move(message));
}

void Ctx::warning(const resources::Resource& r, std::string field, std::string message) const {
  problems.warning(r.location, object_ref(r), std::move(field), std::move(message));
}

std::string Ctx::fqdn(const std::string& svc, const std::string& svc_ns) const {
  return svc + "." + svc_ns + ".svc." + options.cluster_domain;
}

const resources::Service* Ctx::find_service(const std::string& svc_ns,
                                            const std::string& svc) const {
  for (const resources::Resource* r : store) {
    const auto* s = r->as<resources::Service>();
    if (s && r->meta.name == svc && r->effective_namespace() == svc_ns) return s;
  }
  if (svc == name && svc_ns == ns) return &service;
  return nullptr;
}

pb::WeightedBackend Ctx::backend(const std::string& svc, const std::string& svc_ns,
                                 int32_t svc_port, uint64_t weight) const {
  pb::WeightedBackend b;
  b.set_authority(fqdn(svc, svc_ns) + ":" + std::to_string(svc_port));
  b.set_service(svc);
  b.set_namespace_(svc_ns);
  b.set_port(static_cast<uint32_t>(svc_port));
  b.set_weight(weight);
  return b;
}

uint64_t to_ms(const std::optional<base::Duration>& d) {
  if (!d || d->count() <= 0) return 0;
  // Round up so that a sub-millisecond timeout does not become "no timeout".
  return static_cast<uint64_t>((d->count() + 999'999) / 1'000'000);
}

pb::RetryPolicy retry_from_annotations(const resources::RetryPolicy& rp, bool grpc) {
  pb::RetryPolicy out;
  if (!rp.configured || rp.max_retries() == 0) return out;
  out.set_enabled(true);
  out.set_max_retries(rp.max_retries());
  if (rp.http_conditions) {
    for (const auto& range : *rp.http_conditions) {
      auto* s = out.add_http_statuses();
      s->set_min(static_cast<uint32_t>(range.min));
      s->set_max(static_cast<uint32_t>(range.max));
    }
  }
  if (rp.grpc_conditions) {
    for (auto c : *rp.grpc_conditions) {
      switch (c) {
        case resources::GrpcRetryCondition::kCancelled: out.add_grpc_codes(1); break;
        case resources::GrpcRetryCondition::kDeadlineExceeded: out.add_grpc_codes(4); break;
        case resources::GrpcRetryCondition::kResourceExhausted: out.add_grpc_codes(8); break;
        case resources::GrpcRetryCondition::kInternal: out.add_grpc_codes(13); break;
        case resources::GrpcRetryCondition::kUnavailable: out.add_grpc_codes(14); break;
      }
    }
  }
  // Retries configured without conditions: the proxy's defaults (5xx for HTTP; for gRPC the
  // transient codes cancelled, deadline-exceeded, resource-exhausted and unavailable).
  if (!rp.http_conditions && !rp.grpc_conditions) {
    if (grpc) {
      for (uint32_t code : {1u, 4u, 8u, 14u}) out.add_grpc_codes(code);
    } else {
      auto* s = out.add_http_statuses();
      s->set_min(500);
      s->set_max(599);
    }
  }
  out.set_per_try_timeout_ms(to_ms(rp.timeout));
  out.set_max_request_bytes(kMaxRequestBytes);
  out.set_backoff_min_ms(kBackoffMinMs);
  out.set_backoff_max_ms(kBackoffMaxMs);
  out.set_backoff_jitter(kBackoffJitter);
  return out;
}

}  // namespace internal

namespace {

using namespace internal;
using resources::Resource;

// Parses the Service's retry/timeout annotations; their problems are reported on the Service.
void service_annotations(Ctx& ctx) {
  resources::Diagnostics diags;
  resources::DecodeContext dctx(diags, ctx.service_res.location.file, 0);
  resources::Node root(dctx, YAML::Node(), "");
  const auto& annotations = ctx.service_res.meta.annotations;
  ctx.service_retry =
      resources::parse_retry_annotations(root, annotations, resources::RetryProtocol::kAny);
  ctx.service_timeouts = resources::parse_timeout_annotations(root, annotations);
  for (const auto& d : diags.items()) {
    if (d.severity == resources::Severity::kError) {
      ctx.error(ctx.service_res, d.field, d.message);
    } else {
      ctx.warning(ctx.service_res, d.field, d.message);
    }
  }
}

// Orders the store deterministically and keeps only the last definition of each object (as
// applying the manifests in order would).
std::vector<const Resource*> normalize_store(const std::vector<const Resource*>& in) {
  std::map<std::tuple<std::string, std::string, std::string, std::string>, const Resource*> last;
  for (const Resource* r : in) {
    if (!r) continue;
    last[{r->type.group, r->type.kind, r->effective_namespace(), r->meta.name}] = r;
  }
  std::vector<const Resource*> out;
  out.reserve(last.size());
  for (const auto& [key, r] : last) out.push_back(r);
  return out;
}

// Older first; objects without a timestamp (local manifests) after those with one.
bool older(const Resource* a, const Resource* b) {
  const auto& ta = a->meta.creation_timestamp;
  const auto& tb = b->meta.creation_timestamp;
  if (ta.empty() != tb.empty()) return !ta.empty();
  if (ta != tb) return ta < tb;
  return std::make_pair(a->effective_namespace(), a->meta.name) <
         std::make_pair(b->effective_namespace(), b->meta.name);
}

const Resource* find_profile(const Ctx& ctx) {
  const Resource* own = nullptr;
  const Resource* client = nullptr;
  for (const Resource* r : ctx.store) {
    const auto* sp = r->as<resources::ServiceProfile>();
    if (!sp || sp->service != ctx.name || sp->service_namespace != ctx.ns) continue;
    if (sp->cluster_domain != ctx.options.cluster_domain) continue;
    if (!sp->client_override && r->effective_namespace() == ctx.ns) own = r;
    if (sp->client_override && !ctx.options.client_namespace.empty() &&
        r->effective_namespace() == ctx.options.client_namespace) {
      client = r;
    }
  }
  return client ? client : own;
}

const Resource* find_split(const Ctx& ctx) {
  std::vector<const Resource*> splits;
  for (const Resource* r : ctx.store) {
    const auto* ts = r->as<resources::TrafficSplit>();
    if (ts && ts->service == ctx.name && r->effective_namespace() == ctx.ns) splits.push_back(r);
  }
  if (splits.empty()) return nullptr;
  std::sort(splits.begin(), splits.end(), older);
  for (size_t i = 1; i < splits.size(); ++i) {
    ctx.warning(*splits[i], "spec.service",
                "another TrafficSplit (" + display(*splits[0]) + ", the oldest) already splits " +
                    "Service \"" + ctx.name + "\"; this one is ignored");
  }
  return splits[0];
}

bool all_zero(const google::protobuf::RepeatedPtrField<pb::WeightedBackend>& backends) {
  return std::all_of(backends.begin(), backends.end(),
                     [](const pb::WeightedBackend& b) { return b.weight() == 0; });
}

// TrafficSplit backends: Services in the split's namespace, on the apex port.
void split_backends(const Ctx& ctx, const Resource& r,
                    google::protobuf::RepeatedPtrField<pb::WeightedBackend>& out) {
  const auto& ts = *r.as<resources::TrafficSplit>();
  if (!ts.matches.empty()) {
    ctx.warning(r, "spec.matches",
                "HTTPRouteGroup matches are not supported; the split applies to every request "
                "to the apex service (use an HTTPRoute with weighted backendRefs for "
                "header-based routing)");
  }
  for (size_t i = 0; i < ts.backends.size(); ++i) {
    const auto& b = ts.backends[i];
    const std::string field = "spec.backends[" + std::to_string(i) + "].service";
    const resources::Service* s = ctx.find_service(ctx.ns, b.service);
    if (!s) {
      if (ctx.options.report_missing_services) {
        ctx.warning(r, field,
                    "Service \"" + b.service + "\" does not exist in namespace " + ctx.ns +
                        "; requests sent to it fail");
      }
    } else if (std::none_of(s->ports.begin(), s->ports.end(),
                            [&](const auto& p) { return p.port == ctx.port; })) {
      ctx.warning(r, field,
                  "Service \"" + b.service + "\" has no port " + std::to_string(ctx.port) +
                      " (the apex service's port)");
    }
    *out.Add() = ctx.backend(b.service, ctx.ns, ctx.port,
                             static_cast<uint64_t>(std::max<int64_t>(0, b.weight_milli)));
  }
}

// "web-v2.ns.svc.cluster.local:80" -> service "web-v2", namespace "ns" (empty when the host is
// not a cluster service name).
void dst_override_backends(const Ctx& ctx, const Resource& r,
                           google::protobuf::RepeatedPtrField<pb::WeightedBackend>& out) {
  const auto& sp = *r.as<resources::ServiceProfile>();
  const std::string suffix = ".svc." + ctx.options.cluster_domain;
  for (size_t i = 0; i < sp.dst_overrides.size(); ++i) {
    const auto& d = sp.dst_overrides[i];
    pb::WeightedBackend b;
    b.set_authority(d.authority);
    b.set_port(d.port);
    b.set_weight(static_cast<uint64_t>(std::max<int64_t>(0, d.weight_milli)));
    if (base::ends_with(d.host, suffix)) {
      const std::string rest = d.host.substr(0, d.host.size() - suffix.size());
      const auto dot = rest.find('.');
      if (dot != std::string::npos && rest.find('.', dot + 1) == std::string::npos) {
        b.set_service(rest.substr(0, dot));
        b.set_namespace_(rest.substr(dot + 1));
        if (ctx.options.report_missing_services &&
            !ctx.find_service(b.namespace_(), b.service())) {
          ctx.warning(r, "spec.dstOverrides[" + std::to_string(i) + "].authority",
                      "Service \"" + b.service() + "\" does not exist in namespace " +
                          b.namespace_() + "; requests sent to it fail");
        }
      }
    }
    *out.Add() = std::move(b);
  }
}

pb::RequestMatch profile_match(const resources::ProfileRequestMatch& m) {
  using K = resources::ProfileRequestMatch::Kind;
  pb::RequestMatch out;
  switch (m.kind) {
    case K::kAll:
      for (const auto& c : m.children) *out.mutable_all()->add_matches() = profile_match(c);
      out.mutable_all();
      break;
    case K::kAny:
      for (const auto& c : m.children) *out.mutable_any()->add_matches() = profile_match(c);
      out.mutable_any();
      break;
    case K::kNot:
      if (!m.children.empty()) {
        *out.mutable_not_() = profile_match(m.children[0]);
      } else {
        out.mutable_not_()->mutable_any();  // not(false): everything
      }
      break;
    case K::kPathRegex:
      // The proxy matches regexes against the whole path, which is Linkerd's ^(?:re)$.
      out.mutable_path()->set_regex(m.path_regex);
      break;
    case K::kMethod:
      out.set_method(m.method);
      break;
  }
  return out;
}

pb::ResponseMatch response_match(const resources::ProfileResponseMatch& m) {
  using K = resources::ProfileResponseMatch::Kind;
  pb::ResponseMatch out;
  switch (m.kind) {
    case K::kAll:
      out.mutable_all();
      for (const auto& c : m.children) *out.mutable_all()->add_matches() = response_match(c);
      break;
    case K::kAny:
      out.mutable_any();
      for (const auto& c : m.children) *out.mutable_any()->add_matches() = response_match(c);
      break;
    case K::kNot:
      if (!m.children.empty()) {
        *out.mutable_not_() = response_match(m.children[0]);
      } else {
        out.mutable_not_()->mutable_any();
      }
      break;
    case K::kStatus:
      out.mutable_status()->set_min(static_cast<uint32_t>(m.status.min));
      out.mutable_status()->set_max(static_cast<uint32_t>(m.status.max));
      break;
  }
  return out;
}

void set_default_route(const Ctx& ctx, const pb::TrafficPolicy& policy, bool with_annotations,
                       pb::HttpRoute& route) {
  route.set_name("default");
  route.set_is_default(true);
  *route.mutable_backends() = policy.tcp().backends();
  if (with_annotations) {
    *route.mutable_retry() = retry_from_annotations(ctx.service_retry, false);
    auto* t = route.mutable_timeouts();
    t->set_request_ms(to_ms(ctx.service_timeouts.request));
    t->set_response_ms(to_ms(ctx.service_timeouts.response));
    t->set_idle_ms(to_ms(ctx.service_timeouts.idle));
  }
}

void compile_profile(const Ctx& ctx, const Resource* profile, pb::TrafficPolicy& out) {
  out.set_source(pb::TrafficPolicy::SOURCE_SERVICE_PROFILE);
  auto* budget = out.mutable_retry_budget();
  if (profile) {
    const auto& sp = *profile->as<resources::ServiceProfile>();
    budget->set_retry_ratio(sp.retry_budget.retry_ratio);
    budget->set_min_retries_per_second(sp.retry_budget.min_retries_per_second);
    budget->set_ttl_ms(to_ms(sp.retry_budget.ttl));
    for (const auto& r : sp.routes) {
      pb::HttpRoute* route = out.add_http_routes();
      route->set_name(r.name);
      route->set_origin(display(*profile));
      *route->add_matches() = profile_match(r.condition);
      *route->mutable_backends() = out.tcp().backends();
      for (const auto& rc : r.response_classes) {
        auto* c = route->add_response_classes();
        *c->mutable_condition() = response_match(rc.condition);
        c->set_is_failure(rc.is_failure);
      }
      if (r.is_retryable) {
        auto* retry = route->mutable_retry();
        retry->set_enabled(true);
        retry->set_on_classified_failure(true);
        retry->set_max_request_bytes(kMaxRequestBytes);
      }
      route->mutable_timeouts()->set_request_ms(to_ms(r.timeout));
    }
  }
  // A ServiceProfile overrides the Service's annotations (Linkerd's precedence), so the default
  // route takes them only when the profile exists because of a TrafficSplit alone.
  set_default_route(ctx, out, profile == nullptr, *out.mutable_default_route());
}

}  // namespace

Compiled compile(const resources::Resource& service, int32_t port,
                 const std::vector<const resources::Resource*>& store, const Options& options) {
  Compiled result;
  static const resources::Service kEmpty;
  const auto* svc = service.as<resources::Service>();
  Ctx ctx{service,
          svc ? *svc : kEmpty,
          service.meta.name,
          service.effective_namespace(),
          port,
          options,
          normalize_store(store),
          result.problems,
          {},
          {}};
  pb::TrafficPolicy& out = result.policy;
  out.set_authority(ctx.fqdn(ctx.name, ctx.ns) + ":" + std::to_string(port));
  if (!svc) {
    ctx.error(service, "kind", "traffic policies are compiled for Services, not " +
                                   service.type.kind);
    return result;
  }
  if (std::none_of(svc->ports.begin(), svc->ports.end(),
                   [&](const auto& p) { return p.port == port; })) {
    ctx.warning(service, "spec.ports", "the Service has no port " + std::to_string(port));
  }
  service_annotations(ctx);

  // Linkerd's defaults, whatever configures the routes.
  auto* budget = out.mutable_retry_budget();
  budget->set_retry_ratio(0.2);
  budget->set_min_retries_per_second(10);
  budget->set_ttl_ms(10'000);

  const Resource* profile = find_profile(ctx);
  const Resource* split = find_split(ctx);
  if (profile) out.add_resources(display(*profile));
  if (split) out.add_resources(display(*split));

  // Backends for requests no route redirects elsewhere, and for opaque connections:
  // the TrafficSplit (which Linkerd's SMI adaptor writes into the profile's dstOverrides,
  // replacing what was there), else the profile's dstOverrides, else the Service itself.
  auto& backends = *out.mutable_tcp()->mutable_backends();
  if (split) {
    split_backends(ctx, *split, backends);
    if (profile && !profile->as<resources::ServiceProfile>()->dst_overrides.empty()) {
      ctx.warning(*profile, "spec.dstOverrides",
                  "ignored: " + display(*split) + " splits this service and replaces them");
    }
    if (!backends.empty() && all_zero(backends)) {
      ctx.error(*split, "spec.backends",
                "every backend weight is zero: nothing can receive traffic; requests go to the "
                "apex service \"" + ctx.name + "\" instead");
      backends.Clear();
    }
  } else if (profile) {
    dst_override_backends(ctx, *profile, backends);
    if (!backends.empty() && all_zero(backends)) {
      ctx.error(*profile, "spec.dstOverrides",
                "every weight is zero: nothing can receive traffic; requests go to the service "
                "itself instead");
      backends.Clear();
    }
  }
  if (backends.empty()) *backends.Add() = ctx.self_backend();

  if (profile || split) {
    // A ServiceProfile (or the one Linkerd's SMI adaptor creates for a TrafficSplit) wins
    // over HTTPRoutes and GRPCRoutes.
    for (const Resource* r : attached_routes(ctx)) {
      ctx.warning(*r, "spec.parentRefs",
                  "ignored for Service \"" + ctx.name + "\" port " + std::to_string(port) +
                      ": " + display(profile ? *profile : *split) +
                      " takes precedence over routes");
    }
    compile_profile(ctx, profile, out);
  } else if (compile_gateway_routes(ctx, out)) {
    out.set_source(pb::TrafficPolicy::SOURCE_ROUTES);
  } else {
    out.set_source(pb::TrafficPolicy::SOURCE_DEFAULT);
    set_default_route(ctx, out, true, *out.mutable_default_route());
  }
  result.problems.sort();
  return result;
}

Compiled compile(const resources::Resource& service, int32_t port,
                 const std::vector<resources::Resource>& store, const Options& options) {
  std::vector<const resources::Resource*> pointers;
  pointers.reserve(store.size());
  for (const auto& r : store) pointers.push_back(&r);
  return compile(service, port, pointers, options);
}

}  // namespace trellis::control::traffic
