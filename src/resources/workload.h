#pragma once
// workload.linkerd.io ExternalWorkload and multicluster.linkerd.io Link.
//
// Each kind has one internal form whatever version it was written in, and a decoder
// that fills it from a document root and reports every problem on the Node.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "base/address.h"
#include "base/duration.h"
#include "resources/meta.h"
#include "resources/reader.h"
#include "resources/type_meta.h"

namespace trellis::resources {

// A meshed workload outside Kubernetes (a VM, a bare-metal host). Services select it by label
// like a pod; the destination controller turns it into endpoints.
struct ExternalWorkload {
  std::string identity;     // its mTLS identity: a DNS-like name or a spiffe:// URI
  std::string server_name;  // the SNI clients send to reach it
  struct Port {
    std::string name;  // optional; what Services' targetPort may name
    int32_t port = 0;
    std::string protocol = "TCP";  // TCP, UDP or SCTP
  };
  std::vector<Port> ports;
  // At most one address per family (one in v1alpha1; one IPv4 and one IPv6 in v1beta1).
  std::vector<base::IpAddress> workload_ips;
};

// How the service mirror checks that the remote gateway is alive.
struct LinkProbe {
  std::string path = "/ready";
  int32_t port = 4191;
  base::Duration period = std::chrono::seconds(3);
  base::Duration timeout = std::chrono::seconds(30);
  int32_t failure_threshold = 3;  // consecutive failures before the gateway counts as down
};

// A link to a remote cluster, read by that link's service mirror.
struct Link {
  std::string target_cluster_name;  // suffix of mirrored Services: <svc>-<targetClusterName>
  std::string target_cluster_domain = "cluster.local";
  std::string target_cluster_linkerd_namespace = "linkerd";
  // Secret with the remote cluster's kubeconfig; default cluster-credentials-<target name>.
  std::string cluster_credentials_secret;
  // Gateway addresses (IPs or DNS names, written comma-separated). Empty: no gateway, which is
  // the set-up for remote-discovery (flat network) and federated Services only.
  std::vector<std::string> gateway_addresses;
  int32_t gateway_port = 4143;
  std::string gateway_identity;  // the gateway proxy's mTLS identity
  LinkProbe probe;
  // Remote Services to mirror through the gateway; default mirror.linkerd.io/exported=true.
  LabelSelector selector;
  // Remote Services to mirror without endpoints, reached pod-to-pod; default
  // mirror.linkerd.io/exported=remote-discovery.
  LabelSelector remote_discovery_selector;
  // Remote Services that join <svc>-federated; default mirror.linkerd.io/federated=member.
  LabelSelector federated_service_selector;
  // Keys not copied from remote Services onto their mirrors (v1alpha3).
  std::vector<std::string> excluded_annotations;
  std::vector<std::string> excluded_labels;
};

void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, ExternalWorkload& out);
void decode(Node& root, const TypeMeta& type, const ObjectMeta& meta, Link& out);

}  // namespace trellis::resources
