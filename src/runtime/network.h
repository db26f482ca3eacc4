#pragma once
// The cluster network (see README.md for the picture):
//   - namespace `trellis-<cluster>` holds bridge br0 (198.18.0.1/16, every pod's gateway), does
//     the routing, and the ClusterIP → pod DNAT in its PREROUTING/OUTPUT (so a meshed pod's own
//     REDIRECT in its OUTPUT chain still sees the ClusterIP as the original destination);
//   - one namespace per pod with eth0 = 198.18.x.y/32 (routes only via the gateway, so replies
//     to DNATed connections always pass back through the cluster namespace's conntrack);
//   - one veth the runtime owns in the host namespace (198.18.255.254/32) with routes for
//     198.18.0.0/16 and 198.19.0.0/16 into the cluster, so the CLI and tests reach pods and
//     ClusterIPs; nothing else on the host changes.

#include <string>
#include <vector>

#include "base/address.h"
#include "base/result.h"
#include "runtime/ledger.h"

namespace trellis::runtime {

inline constexpr const char* kGatewayIp = "198.18.0.1";
// The gateway bridge's MAC address (locally administered), fixed for the cluster's life.
inline constexpr const char* kBridgeMac = "02:74:72:00:00:01";
inline constexpr const char* kHostIp = "198.18.255.254";
inline constexpr const char* kPodCidr = "198.18.0.0/16";
inline constexpr const char* kServiceCidr = "198.19.0.0/16";

// A short, stable hex hash for interface and namespace names (Linux caps links at 15 chars).
std::string short_hash(const std::string& text, size_t hex_chars = 8);

struct PodNetwork {
  std::string netns;      // under /run/netns
  std::string veth;       // the bridge-side end, in the cluster namespace
  std::string etc_dir;    // /etc/netns/<netns>
  std::string hosts_file; // <etc_dir>/hosts
  base::IpAddress ip;
};

// One ClusterIP port and the ready endpoints it balances over.
struct ServiceRule {
  std::string id;  // ns/name:port, for the chain name
  base::IpAddress cluster_ip;
  int port = 0;
  std::string protocol = "tcp";
  std::vector<std::pair<base::IpAddress, int>> endpoints;
};

class ClusterNetwork {
 public:
  ClusterNetwork(std::string cluster, Ledger& ledger);

  // Creates the cluster namespace, the bridge and the host link. Fails (cleanly: the ledger
  // has what was made) when, e.g., another cluster already routes 198.18.0.0/16 on the host.
  base::Result<base::Ok, std::string> create();

  base::Result<PodNetwork, std::string> add_pod(const std::string& ns, const std::string& name,
                                                base::IpAddress ip);
  void remove_pod(const PodNetwork& pod);

  // Replaces the cluster namespace's nat table with these rules (only when they changed).
  base::Result<base::Ok, std::string> sync_services(const std::vector<ServiceRule>& rules);

  const std::string& netns() const { return netns_; }
  const std::string& host_link() const { return host_link_; }

 private:
  std::string cluster_;
  Ledger& ledger_;
  std::string netns_;
  std::string host_link_;
  std::string last_nat_;
};

// The iptables-restore input for the cluster namespace's nat table (exposed for tests).
std::string render_nat_table(const std::vector<ServiceRule>& rules);

}  // namespace trellis::runtime
