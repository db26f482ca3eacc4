#include "runtime/network.h"

#include <filesystem>

#include <fmt/format.h>

#include "runtime/system.h"

namespace trellis::runtime {

namespace fs = std::filesystem;

std::string short_hash(const std::string& text, size_t hex_chars) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a 64
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return fmt::format("{:016x}", h).substr(0, hex_chars);
}

ClusterNetwork::ClusterNetwork(std::string cluster, Ledger& ledger)
    : cluster_(std::move(cluster)),
      ledger_(ledger),
      netns_("trellis-" + cluster_),
      host_link_("trellis" + short_hash(cluster_)) {}

namespace {

using Cmd = std::vector<std::string>;

base::Result<base::Ok, std::string> run_all(const std::vector<Cmd>& cmds) {
  for (const auto& c : cmds) {
    auto r = run_checked(c);
    if (!r) return r;
  }
  return base::Ok{};
}

}  // namespace

base::Result<base::Ok, std::string> ClusterNetwork::create() {
  // Checked first so that a clash leaves nothing half-made on the host.
  auto routes = run_command({"ip", "-4", "route", "show", "to", "match", "198.18.0.2"});
  if (routes && routes->output.find("198.18.0.0/16") != std::string::npos) {
    return base::unexpected(std::string(
        "198.18.0.0/16 is already routed on this host (another Trellis cluster is up?); "
        "run `trellis down` for it first"));
  }
  if (fs::exists("/run/netns/" + netns_)) {
    return base::unexpected(fmt::format(
        "network namespace {} already exists: a cluster with this name is up (or was not taken "
        "down; `trellis down` removes it)", netns_));
  }
  const std::string& n = netns_;
  ledger_.add_netns(n);
  ledger_.add_link(host_link_);
  auto made = run_all({
      {"ip", "netns", "add", n},
      {"ip", "-n", n, "link", "set", "lo", "up"},
      {"ip", "netns", "exec", n, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1",
       "net.ipv4.conf.all.send_redirects=0", "net.ipv4.conf.default.send_redirects=0"},
      // A fixed MAC: a bridge without one takes the lowest MAC of its ports and changes it when
      // that port goes, leaving every pod's ARP entry for the gateway stale — connections
      // from pods then time out for a second or so whenever a pod is removed (seen as 502s
      // during rolling updates).
      {"ip", "-n", n, "link", "add", "br0", "address", kBridgeMac, "type", "bridge"},
      {"ip", "-n", n, "addr", "add", std::string(kGatewayIp) + "/16", "dev", "br0"},
      {"ip", "-n", n, "link", "set", "br0", "up"},
      {"ip", "link", "add", host_link_, "type", "veth", "peer", "name", "host0", "netns", n},
      {"ip", "-n", n, "link", "set", "host0", "up"},
      {"ip", "-n", n, "route", "add", std::string(kHostIp) + "/32", "dev", "host0"},
      {"ip", "addr", "add", std::string(kHostIp) + "/32", "dev", host_link_},
      {"ip", "link", "set", host_link_, "up"},
      {"ip", "route", "add", std::string(kGatewayIp) + "/32", "dev", host_link_},
      {"ip", "route", "add", kPodCidr, "via", kGatewayIp, "dev", host_link_},
      {"ip", "route", "add", kServiceCidr, "via", kGatewayIp, "dev", host_link_},
  });
  if (!made) return made;
  return sync_services({});
}

base::Result<PodNetwork, std::string> ClusterNetwork::add_pod(const std::string& ns,
                                                              const std::string& name,
                                                              base::IpAddress ip) {
  PodNetwork p;
  std::string netns = fmt::format("trellis-{}-{}", cluster_, name);
  if (ns != "default") netns += "." + ns;
  if (netns.size() > 60) netns = fmt::format("trellis-{}-{}", cluster_, short_hash(ns + "/" + name, 12));
  p.netns = netns;
  p.veth = "v" + short_hash(netns, 12);
  p.etc_dir = "/etc/netns/" + netns;
  p.hosts_file = p.etc_dir + "/hosts";
  p.ip = ip;
  const std::string addr = ip.to_string();
  ledger_.add_netns(netns);
  ledger_.add_dir(p.etc_dir);
  std::error_code ec;
  fs::create_directories(p.etc_dir, ec);
  if (ec) return base::unexpected(fmt::format("{}: {}", p.etc_dir, ec.message()));
  auto made = run_all({
      {"ip", "netns", "add", netns},
      {"ip", "link", "add", p.veth, "netns", netns_, "type", "veth", "peer", "name", "eth0",
       "netns", netns},
      {"ip", "-n", netns_, "link", "set", p.veth, "master", "br0", "up"},
      // With bridge netfilter on (br_netfilter loaded on the host), a pod reaching itself
      // through a ClusterIP is DNATed while bridged and must go back out the port it came in.
      {"ip", "-n", netns_, "link", "set", p.veth, "type", "bridge_slave", "hairpin", "on"},
      {"ip", "-n", netns, "link", "set", "lo", "up"},
      {"ip", "-n", netns, "addr", "add", addr + "/32", "dev", "eth0"},
      {"ip", "-n", netns, "link", "set", "eth0", "up"},
      {"ip", "-n", netns, "route", "add", kGatewayIp, "dev", "eth0", "scope", "link"},
      {"ip", "-n", netns, "route", "add", "default", "via", kGatewayIp, "dev", "eth0"},
  });
  if (!made) {
    remove_pod(p);
    return base::unexpected(made.error());
  }
  return p;
}

void ClusterNetwork::remove_pod(const PodNetwork& pod) {
  // Deleting the namespace deletes eth0 and with it the bridge-side peer.
  if (fs::exists("/run/netns/" + pod.netns)) {
    (void)run_command({"ip", "netns", "delete", pod.netns});
  }
  ledger_.remove_netns(pod.netns);
  std::error_code ec;
  fs::remove_all(pod.etc_dir, ec);
  ledger_.remove_dir(pod.etc_dir);
}

std::string render_nat_table(const std::vector<ServiceRule>& rules) {
  std::string chains;
  std::string body;
  chains += ":PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n";
  chains += ":POSTROUTING ACCEPT [0:0]\n:TRELLIS-SERVICES - [0:0]\n";
  body += "-A PREROUTING -j TRELLIS-SERVICES\n-A OUTPUT -j TRELLIS-SERVICES\n";
  // A pod reaching itself through its own ClusterIP: masquerade, or its reply would skip the
  // gateway's conntrack (source and destination are the same pod).
  body += "-A POSTROUTING -m mark --mark 0x4000/0x4000 -j MASQUERADE\n";
  for (const auto& rule : rules) {
    if (rule.endpoints.empty()) continue;
    const std::string svc_chain = "TRELLIS-SVC-" + short_hash(rule.id, 12);
    chains += ":" + svc_chain + " - [0:0]\n";
    body += fmt::format("-A TRELLIS-SERVICES -d {}/32 -p {} -m {} --dport {} -j {}\n",
                        rule.cluster_ip.to_string(), rule.protocol, rule.protocol, rule.port,
                        svc_chain);
    const size_t n = rule.endpoints.size();
    for (size_t i = 0; i < n; ++i) {
      const auto& [ip, port] = rule.endpoints[i];
      const std::string ep_chain =
          "TRELLIS-SEP-" + short_hash(rule.id + ip.to_string() + std::to_string(port), 12);
      chains += ":" + ep_chain + " - [0:0]\n";
      // Uniform choice: endpoint i takes 1/(n-i) of what the earlier ones left.
      if (i + 1 < n) {
        body += fmt::format("-A {} -m statistic --mode random --probability {:.8f} -j {}\n",
                            svc_chain, 1.0 / static_cast<double>(n - i), ep_chain);
      } else {
        body += fmt::format("-A {} -j {}\n", svc_chain, ep_chain);
      }
      body += fmt::format("-A {} -s {}/32 -j MARK --set-xmark 0x4000/0x4000\n", ep_chain,
                          ip.to_string());
      body += fmt::format("-A {} -p {} -j DNAT --to-destination {}:{}\n", ep_chain,
                          rule.protocol, ip.to_string(), port);
    }
  }
  return "*nat\n" + chains + body + "COMMIT\n";
}

base::Result<base::Ok, std::string> ClusterNetwork::sync_services(
    const std::vector<ServiceRule>& rules) {
  std::string table = render_nat_table(rules);
  if (table == last_nat_) return base::Ok{};
  auto r = run_checked({"ip", "netns", "exec", netns_, "iptables-restore"}, table);
  if (!r) return r;
  last_nat_ = std::move(table);
  return base::Ok{};
}

}  // namespace trellis::runtime
