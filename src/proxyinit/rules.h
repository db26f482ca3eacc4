#pragma once
// The iptables rules of `trellis-proxy init`, with Linkerd proxy-init semantics (linkerd.md
// §2.2). Everything lives in the nat table:
//
//   PREROUTING -> PROXY_INIT_REDIRECT   inbound:  RETURN ignored ports, RETURN ignored source
//                                                 subnets, REDIRECT tcp -> incoming proxy port
//   OUTPUT     -> PROXY_INIT_OUTPUT     outbound: RETURN proxy uid (and gid), RETURN -o lo,
//                                                 RETURN ignored ports, RETURN ignored
//                                                 destination subnets, REDIRECT tcp -> outgoing
//
// This file only builds argument vectors; firewall.h runs them.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/address.h"
#include "base/result.h"

namespace trellis::proxyinit {

inline constexpr const char* kRedirectChain = "PROXY_INIT_REDIRECT";
inline constexpr const char* kOutputChain = "PROXY_INIT_OUTPUT";

struct PortRange {
  uint16_t first = 0;
  uint16_t last = 0;
  std::string to_string() const;  // "4190" or "8000:8100" (iptables multiport syntax)
  friend bool operator==(const PortRange&, const PortRange&) = default;
};

// "4190,4191,8000-8100" (Linkerd's syntax; ':' is accepted for ranges too).
base::Result<std::vector<PortRange>, std::string> parse_ports(std::string_view text);
// "10.0.0.0/8,192.168.0.0/16"
base::Result<std::vector<base::Cidr>, std::string> parse_subnets(std::string_view text);

struct Options {
  uint16_t incoming_proxy_port = 4143;
  uint16_t outgoing_proxy_port = 4140;
  int64_t proxy_uid = 2102;
  std::optional<int64_t> proxy_gid;
  std::vector<PortRange> inbound_ports_to_ignore;
  std::vector<PortRange> outbound_ports_to_ignore;
  std::vector<base::Cidr> subnets_to_ignore;
  std::vector<PortRange> ports_to_redirect;  // empty: redirect every inbound TCP port
};

// What already exists in the nat table (from iptables-save), so a re-run replaces the chains
// instead of creating them twice.
struct NatState {
  bool redirect_chain = false;
  bool output_chain = false;
  bool prerouting_jump = false;
  bool output_jump = false;
};
NatState parse_nat_state(std::string_view iptables_save_output);

// The iptables argument vectors (without the binary) that install the rules, in order.
std::vector<std::vector<std::string>> build_commands(const Options& options, const NatState& state);

}  // namespace trellis::proxyinit
