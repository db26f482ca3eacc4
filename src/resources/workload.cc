#include "resources/workload.h"

#include <algorithm>
#include <limits>

#include "base/strings.h"
#include "resources/policy.h"

namespace trellis::resources {
namespace {

using base::quote;


// A mesh identity (no wildcards) under `key`; reports problems on the value.
std::optional<std::string> decode_identity_field(Node& parent, std::string_view key, Req req) {
  auto n = parent.get(key, req);
  if (!n) return std::nullopt;
  auto s = n->as_string();
  if (!s) return std::nullopt;
  if (std::string err = check_mesh_identity(*s, false); !err.empty()) {
    n->error("invalid identity " + quote(*s) + ": " + err);
  }
  return s;
}

// Link's integer fields are strings in its schema ("4143"); a bare integer is understood but
// would be rejected by Kubernetes, so it gets a warning.
std::optional<int64_t> string_integer(Node& n, int64_t min, int64_t max) {
  if (n.is_scalar() && n.scalar_type() == ScalarType::kInt) {
    auto v = n.as_integer(min, max);
    if (v) {
      n.warning("this field is a string in the Link schema; write " + quote(n.scalar()) +
                " (Kubernetes rejects a bare integer here)");
    }
    return v;
  }
  if (!n.is_scalar() || n.scalar_type() != ScalarType::kString) {
    n.error("expected an integer written as a string such as \"4143\", got " + n.describe());
    return std::nullopt;
  }
  const std::string& s = n.scalar();
  const bool digits = !s.empty() && s.size() <= 18 &&
                      std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits) {
    n.error("expected an integer written as a string such as \"4143\", got " + n.describe());
    return std::nullopt;
  }
  const int64_t v = std::stoll(s);
  if (v < min || v > max) {
    n.error("value " + std::to_string(v) + " is out of range [" + std::to_string(min) + ", " +
            std::to_string(max) + "]");
    return std::nullopt;
  }
  return v;
}

std::optional<base::Duration> positive_duration(Node& parent, std::string_view key) {
  auto n = parent.get(key);
  if (!n) return std::nullopt;
  auto d = n->as_duration();
  if (d && d->count() <= 0) {
    n->error("must be greater than 0");
    return std::nullopt;
  }
  return d;
}

LabelSelector selector_with(std::string key, std::string value) {
  LabelSelector s;
  s.match_labels.emplace(std::move(key), std::move(value));
  return s;
}

// A label selector under `key` that is only served from `since` on.
void decode_selector(Node& spec, std::string_view key, bool served, std::string_view since,
                     LabelSelector& out) {
  if (!served) {
    spec.suggest(key, std::string(key) + " requires apiVersion multicluster.linkerd.io/" +
                          std::string(since) + " or later");
    return;
  }
  spec.object(key, kOptional, [&](Node& sel) { out = decode_label_selector(sel); });
}

}  // namespace

// ---- ExternalWorkload ----

void decode(Node& root, const TypeMeta& type, const ObjectMeta&, ExternalWorkload& out) {
  const bool alpha = type.version == "v1alpha1";
  // v1alpha1 spells the field meshTls, v1beta1 meshTLS; each version accepts the other's
  // spelling with a warning, since the meaning is the same.
  const std::string canonical = alpha ? "meshTls" : "meshTLS";
  const std::string variant = alpha ? "meshTLS" : "meshTls";
  const size_t max_ips = alpha ? 1 : 2;
  root.object("spec", kRequired, [&](Node& spec) {
    std::optional<Node> tls = spec.get(canonical);
    auto alt = spec.accept_variant(
        variant, canonical,
        variant + " is the workload.linkerd.io/" + (alpha ? "v1beta1" : "v1alpha1") +
            " spelling; in " + type.api_version() + " the field is " + canonical);
    if (!tls) tls = alt;
    if (!tls && !spec.has(variant)) spec.error_at(canonical, "missing required field");
    if (tls) {
      if (!tls->is_map()) {
        tls->error("expected a map, got " + tls->describe());
      } else {
        if (auto id = decode_identity_field(*tls, "identity", kRequired)) out.identity = *id;
        if (auto n = tls->get("serverName", kRequired)) {
          if (auto s = n->as_string()) {
            out.server_name = *s;
            if (std::string err = check_dns1123_subdomain(*s); !err.empty()) {
              n->error("invalid server name " + quote(*s) + ": " + err +
                       " (it is sent as TLS SNI, so it must be a DNS name)");
            }
          }
        }
        tls->finish();
      }
    }

    spec.each_object("ports", kOptional, [&](Node& p) {
      ExternalWorkload::Port port;
      if (auto n = p.get("name")) {
        if (auto s = n->as_string()) {
          port.name = *s;
          if (std::string err = check_port_name(*s); !err.empty()) {
            n->error("invalid port name " + quote(*s) + ": " + err);
          } else if (std::any_of(out.ports.begin(), out.ports.end(),
                                 [&](const auto& o) { return o.name == *s; })) {
            n->error("duplicate port name " + quote(*s));
          }
        }
      }
      if (auto n = p.get("port", kRequired)) {
        if (auto v = decode_port(*n, false)) port.port = v->number();
      }
      if (auto proto = p.one_of("protocol", {"TCP", "UDP", "SCTP"})) port.protocol = *proto;
      if (port.port != 0 &&
          std::any_of(out.ports.begin(), out.ports.end(), [&](const auto& o) {
            return o.port == port.port && o.protocol == port.protocol;
          })) {
        p.error_at("port", "duplicate port " + std::to_string(port.port) + "/" + port.protocol);
      }
      if (port.protocol != "TCP") {
        p.warning_at("protocol", "Trellis proxies carry only TCP; this port is not meshed");
      }
      out.ports.push_back(std::move(port));
    });

    size_t index = 0;
    spec.each_object("workloadIPs", kOptional, [&](Node& item) {
      const size_t i = index++;
      auto n = item.get("ip", kRequired);
      if (!n) return;
      auto s = n->as_string();
      if (!s) return;
      auto ip = base::IpAddress::parse(*s);
      if (!ip) {
        n->error(ip.error());
        return;
      }
      if (i >= max_ips) {
        item.error(alpha ? "workload.linkerd.io/v1alpha1 allows only one workload IP (use "
                           "v1beta1 for dual-stack: one IPv4 and one IPv6 address)"
                         : "at most two workload IPs are allowed (one IPv4 and one IPv6)");
        return;
      }
      if (!out.workload_ips.empty() && out.workload_ips.front().family() == ip->family()) {
        n->error("a second workload IP must be of the other address family (one IPv4 and one "
                 "IPv6 address)");
        return;
      }
      out.workload_ips.push_back(*ip);
    });
  });
}

// ---- Link ----

void decode(Node& root, const TypeMeta& type, const ObjectMeta&, Link& out) {
  const bool v2 = type.version == "v1alpha2" || type.version == "v1alpha3";
  const bool v3 = type.version == "v1alpha3";
  out.selector = selector_with("mirror.linkerd.io/exported", "true");
  out.remote_discovery_selector = selector_with("mirror.linkerd.io/exported", "remote-discovery");
  out.federated_service_selector = selector_with("mirror.linkerd.io/federated", "member");
  root.object("spec", kRequired, [&](Node& spec) {
    if (auto n = spec.get("targetClusterName", kRequired)) {
      if (auto s = n->as_string()) {
        out.target_cluster_name = *s;
        // Mirrors are named <svc>-<targetClusterName>, so it must fit in a Service name.
        if (std::string err = check_dns1123_label(*s); !err.empty()) {
          n->error("invalid cluster name " + quote(*s) + ": " + err);
        }
      }
    }
    if (auto n = spec.get("targetClusterDomain")) {
      if (auto s = n->as_string()) {
        out.target_cluster_domain = *s;
        if (std::string err = check_dns1123_subdomain(*s); !err.empty()) {
          n->error("invalid cluster domain " + quote(*s) + ": " + err);
        }
      }
    }
    if (auto n = spec.get("targetClusterLinkerdNamespace")) {
      if (auto s = n->as_string()) {
        out.target_cluster_linkerd_namespace = *s;
        if (std::string err = check_dns1123_label(*s); !err.empty()) {
          n->error("invalid namespace " + quote(*s) + ": " + err);
        }
      }
    }
    if (auto n = spec.get("clusterCredentialsSecret")) {
      if (auto s = n->as_string()) {
        out.cluster_credentials_secret = *s;
        if (std::string err = check_dns1123_subdomain(*s); !err.empty()) {
          n->error("invalid Secret name " + quote(*s) + ": " + err);
        }
      }
    }
    if (out.cluster_credentials_secret.empty() && !out.target_cluster_name.empty()) {
      out.cluster_credentials_secret = "cluster-credentials-" + out.target_cluster_name;
    }

    if (auto n = spec.get("gatewayAddress")) {
      if (auto s = n->as_string()) {
        for (auto part : base::split(*s, ',')) {
          const std::string addr(base::trim(part));
          if (addr.empty()) {
            if (!base::trim(*s).empty()) n->error("empty address in the comma-separated list");
            continue;
          }
          if (!base::IpAddress::parse(addr) &&
              !check_dns1123_subdomain(base::to_lower(addr)).empty()) {
            n->error("invalid gateway address " + quote(addr) +
                     ": expected an IP address or a DNS name");
            continue;
          }
          out.gateway_addresses.push_back(addr);
        }
      }
    }
    if (auto n = spec.get("gatewayPort")) {
      if (auto v = string_integer(*n, 1, 65535)) out.gateway_port = static_cast<int32_t>(*v);
    }
    if (auto id = decode_identity_field(spec, "gatewayIdentity", kOptional)) {
      out.gateway_identity = *id;
    }
    if (!out.gateway_addresses.empty() && !spec.has("gatewayIdentity")) {
      spec.error_at("gatewayIdentity",
                    "missing required field: a Link with a gatewayAddress needs the gateway's "
                    "identity to reach it over mTLS");
    }

    spec.object("probeSpec", kOptional, [&](Node& probe) {
      if (auto n = probe.get("path")) {
        if (auto s = n->as_string()) {
          out.probe.path = *s;
          if (!base::starts_with(*s, "/")) n->error("must be an absolute path starting with \"/\"");
        }
      }
      if (auto n = probe.get("port")) {
        if (auto v = string_integer(*n, 1, 65535)) out.probe.port = static_cast<int32_t>(*v);
      }
      if (auto d = positive_duration(probe, "period")) out.probe.period = *d;
      if (auto d = positive_duration(probe, "timeout")) out.probe.timeout = *d;
      if (auto n = probe.get("failureThreshold")) {
        if (auto v = string_integer(*n, 1, std::numeric_limits<int32_t>::max())) {
          out.probe.failure_threshold = static_cast<int32_t>(*v);
        }
      }
    });

    decode_selector(spec, "selector", true, "v1alpha1", out.selector);
    decode_selector(spec, "remoteDiscoverySelector", true, "v1alpha1",
                    out.remote_discovery_selector);
    decode_selector(spec, "federatedServiceSelector", v2, "v1alpha2",
                    out.federated_service_selector);

    for (auto [key, list] : {std::pair<std::string_view, std::vector<std::string>*>{
                                 "excludedAnnotations", &out.excluded_annotations},
                             {"excludedLabels", &out.excluded_labels}}) {
      if (!v3) {
        spec.suggest(key, std::string(key) +
                              " requires apiVersion multicluster.linkerd.io/v1alpha3");
        continue;
      }
      spec.each(key, kOptional, [&](Node& item) {
        auto s = item.as_string();
        if (!s) return;
        // "*" may stand for any run of characters; the rest must be a valid key.
        std::string probe = *s;
        std::replace(probe.begin(), probe.end(), '*', 'x');
        if (std::string err = check_label_key(probe); !err.empty()) {
          item.error("invalid key " + quote(*s) + ": " + err);
          return;
        }
        list->push_back(*s);
      });
    }
  });
}

}  // namespace trellis::resources
