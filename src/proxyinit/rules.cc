#include "proxyinit/rules.h"

#include <algorithm>

#include "base/strings.h"

namespace trellis::proxyinit {

namespace {

std::optional<uint16_t> port_number(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v == 0 || v > 65535) return std::nullopt;
  return static_cast<uint16_t>(v);
}

// The multiport match takes at most 15 ports, a range counting as two.
std::vector<std::vector<PortRange>> multiport_chunks(const std::vector<PortRange>& ports) {
  std::vector<std::vector<PortRange>> chunks;
  int used = 15;
  for (const auto& p : ports) {
    const int cost = p.first == p.last ? 1 : 2;
    if (used + cost > 15) {
      chunks.emplace_back();
      used = 0;
    }
    chunks.back().push_back(p);
    used += cost;
  }
  return chunks;
}

std::string join_ports(const std::vector<PortRange>& ports) {
  std::vector<std::string> parts;
  for (const auto& p : ports) parts.push_back(p.to_string());
  return base::join(parts, ",");
}

std::vector<std::string> with_comment(std::vector<std::string> rule, const std::string& comment) {
  rule.insert(rule.end(), {"-m", "comment", "--comment", "proxy-init/" + comment});
  return rule;
}

}  // namespace

std::string PortRange::to_string() const {
  return first == last ? std::to_string(first) : std::to_string(first) + ":" + std::to_string(last);
}

base::Result<std::vector<PortRange>, std::string> parse_ports(std::string_view text) {
  std::vector<PortRange> out;
  if (base::trim(text).empty()) return out;
  for (auto part : base::split(text, ',')) {
    const std::string_view item = base::trim(part);
    const size_t sep = item.find_first_of("-:");
    if (sep == std::string_view::npos) {
      auto p = port_number(item);
      if (!p) {
        return base::unexpected("invalid port " + base::quote(item) + " (expected 1-65535)");
      }
      out.push_back({*p, *p});
      continue;
    }
    auto first = port_number(item.substr(0, sep));
    auto last = port_number(item.substr(sep + 1));
    if (!first || !last || *first > *last) {
      return base::unexpected("invalid port range " + base::quote(item) +
                              " (expected FIRST-LAST with 1 <= FIRST <= LAST <= 65535)");
    }
    out.push_back({*first, *last});
  }
  return out;
}

base::Result<std::vector<base::Cidr>, std::string> parse_subnets(std::string_view text) {
  std::vector<base::Cidr> out;
  if (base::trim(text).empty()) return out;
  for (auto part : base::split(text, ',')) {
    const std::string_view item = base::trim(part);
    auto cidr = base::Cidr::parse(item);
    if (!cidr) return base::unexpected("invalid subnet " + base::quote(item) + ": " + cidr.error());
    out.push_back(*cidr);
  }
  return out;
}

NatState parse_nat_state(std::string_view save) {
  NatState state;
  const std::string redirect_decl = std::string(":") + kRedirectChain + " ";
  const std::string output_decl = std::string(":") + kOutputChain + " ";
  for (auto raw : base::split(save, '\n')) {
    const std::string line(base::trim(raw));
    if (base::starts_with(line, redirect_decl)) state.redirect_chain = true;
    if (base::starts_with(line, output_decl)) state.output_chain = true;
    if (base::starts_with(line, "-A PREROUTING ") &&
        line.find(std::string("-j ") + kRedirectChain) != std::string::npos) {
      state.prerouting_jump = true;
    }
    if (base::starts_with(line, "-A OUTPUT ") &&
        line.find(std::string("-j ") + kOutputChain) != std::string::npos) {
      state.output_jump = true;
    }
  }
  return state;
}

std::vector<std::vector<std::string>> build_commands(const Options& o, const NatState& state) {
  std::vector<std::vector<std::string>> cmds;
  const std::string redirect = kRedirectChain;
  const std::string output = kOutputChain;
  auto rule = [&](const std::string& chain, std::vector<std::string> match,
                  const std::string& comment) {
    std::vector<std::string> r = {"-t", "nat", "-A", chain};
    r.insert(r.end(), match.begin(), match.end());
    cmds.push_back(with_comment(std::move(r), comment));
  };

  // Existing chains are flushed rather than created, so a re-run replaces the rules.
  cmds.push_back({"-t", "nat", state.redirect_chain ? "-F" : "-N", redirect});
  cmds.push_back({"-t", "nat", state.output_chain ? "-F" : "-N", output});

  // ---- inbound ----
  for (const auto& chunk : multiport_chunks(o.inbound_ports_to_ignore)) {
    const std::string ports = join_ports(chunk);
    rule(redirect, {"-p", "tcp", "--match", "multiport", "--dports", ports, "-j", "RETURN"},
         "ignore-port-" + ports);
  }
  for (const auto& subnet : o.subnets_to_ignore) {
    if (!subnet.address().is_v4()) continue;  // the IPv4 table; IPv6 subnets need ip6tables
    rule(redirect, {"-s", subnet.to_string(), "-j", "RETURN"},
         "ignore-subnet-" + subnet.to_string());
  }
  const std::string incoming = std::to_string(o.incoming_proxy_port);
  if (o.ports_to_redirect.empty()) {
    rule(redirect, {"-p", "tcp", "-j", "REDIRECT", "--to-port", incoming},
         "redirect-all-incoming-to-proxy-port");
  } else {
    for (const auto& chunk : multiport_chunks(o.ports_to_redirect)) {
      const std::string ports = join_ports(chunk);
      rule(redirect,
           {"-p", "tcp", "--match", "multiport", "--dports", ports, "-j", "REDIRECT", "--to-port",
            incoming},
           "redirect-port-" + ports);
    }
  }

  // ---- outbound ----
  rule(output, {"-m", "owner", "--uid-owner", std::to_string(o.proxy_uid), "-j", "RETURN"},
       "ignore-proxy-user-id");
  if (o.proxy_gid) {
    rule(output, {"-m", "owner", "--gid-owner", std::to_string(*o.proxy_gid), "-j", "RETURN"},
         "ignore-proxy-group-id");
  }
  rule(output, {"-o", "lo", "-j", "RETURN"}, "ignore-loopback");
  for (const auto& chunk : multiport_chunks(o.outbound_ports_to_ignore)) {
    const std::string ports = join_ports(chunk);
    rule(output, {"-p", "tcp", "--match", "multiport", "--dports", ports, "-j", "RETURN"},
         "ignore-port-" + ports);
  }
  for (const auto& subnet : o.subnets_to_ignore) {
    if (!subnet.address().is_v4()) continue;
    rule(output, {"-d", subnet.to_string(), "-j", "RETURN"}, "ignore-subnet-" + subnet.to_string());
  }
  rule(output, {"-p", "tcp", "-j", "REDIRECT", "--to-port", std::to_string(o.outgoing_proxy_port)},
       "redirect-all-outgoing-to-proxy-port");

  // The jumps last, once the chains are complete; a re-run keeps the existing ones.
  if (!state.prerouting_jump) {
    rule("PREROUTING", {"-j", redirect}, "install-proxy-init-prerouting");
  }
  if (!state.output_jump) {
    rule("OUTPUT", {"-j", output}, "install-proxy-init-output");
  }
  return cmds;
}

}  // namespace trellis::proxyinit
