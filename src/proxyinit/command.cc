#include "proxyinit/command.h"

#include <CLI/CLI.hpp>
#include <iostream>

#include "proxyinit/firewall.h"
#include "proxyinit/rules.h"

namespace trellis::proxyinit {

int init_main(int argc, char** argv) {
  CLI::App app{
      "trellis-proxy init: redirect the pod's TCP traffic to the proxy with iptables "
      "(Linkerd proxy-init semantics; nat chains PROXY_INIT_REDIRECT and "
      "PROXY_INIT_OUTPUT, replaced on every run)",
      "trellis-proxy init"};
  int incoming = 4143;
  int outgoing = 4140;
  int64_t uid = 2102;
  int64_t gid = -1;
  std::string inbound_ignore = "4190,4191";
  std::string outbound_ignore;
  std::string subnets;
  std::string redirect_ports;
  std::string mode = "auto";
  std::string bin;
  std::string save_bin;
  std::string netns;
  bool dry_run = false;
  app.add_option("-p,--incoming-proxy-port", incoming, "Port inbound traffic is redirected to")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  app.add_option("-o,--outgoing-proxy-port", outgoing, "Port outbound traffic is redirected to")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  app.add_option("-u,--proxy-uid", uid, "The proxy's user id: its own traffic is not redirected")
      ->check(CLI::Range(int64_t{0}, int64_t{4294967294}))
      ->capture_default_str();
  app.add_option("-g,--proxy-gid", gid, "The proxy's group id, also not redirected (optional)")
      ->check(CLI::Range(int64_t{0}, int64_t{4294967294}));
  app.add_option("--inbound-ports-to-ignore", inbound_ignore,
                 "Inbound destination ports not redirected (comma list, ranges 8000-8100)")
      ->capture_default_str();
  app.add_option("--outbound-ports-to-ignore", outbound_ignore,
                 "Outbound destination ports not redirected");
  app.add_option("--subnets-to-ignore", subnets,
                 "CIDRs not redirected: inbound from them and outbound to them");
  app.add_option("-r,--ports-to-redirect", redirect_ports,
                 "Only these inbound ports are redirected (default: all)");
  app.add_option("--iptables-mode", mode,
                 "auto (the backend `iptables` uses), legacy, nft or plain")
      ->capture_default_str();
  app.add_option("--firewall-bin-path", bin, "iptables binary to use");
  app.add_option("--firewall-save-bin-path", save_bin, "iptables-save binary to use");
  app.add_option("--netns", netns,
                 "Network namespace to configure (a path, e.g. /var/run/netns/x)");
  app.add_flag("--dry-run,--simulate", dry_run,
               "Print the iptables commands instead of running them");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  std::vector<std::string> errors;
  Options options;
  options.incoming_proxy_port = static_cast<uint16_t>(incoming);
  options.outgoing_proxy_port = static_cast<uint16_t>(outgoing);
  options.proxy_uid = uid;
  if (gid >= 0) options.proxy_gid = gid;
  auto ports = [&](const char* flag, const std::string& text, std::vector<PortRange>& into) {
    auto parsed = parse_ports(text);
    if (parsed)
      into = *parsed;
    else
      errors.push_back(std::string(flag) + ": " + parsed.error());
  };
  ports("--inbound-ports-to-ignore", inbound_ignore, options.inbound_ports_to_ignore);
  ports("--outbound-ports-to-ignore", outbound_ignore, options.outbound_ports_to_ignore);
  ports("--ports-to-redirect", redirect_ports, options.ports_to_redirect);
  if (auto parsed = parse_subnets(subnets)) {
    options.subnets_to_ignore = *parsed;
    for (const auto& s : *parsed) {
      if (!s.address().is_v4()) {
        std::cerr << "trellis-proxy init: warning: IPv6 subnet " << s.to_string()
                  << " ignored (only the IPv4 table is configured)\n";
      }
    }
  } else {
    errors.push_back("--subnets-to-ignore: " + parsed.error());
  }
  auto parsed_mode = parse_mode(mode);
  if (!parsed_mode) errors.push_back("--iptables-mode: " + parsed_mode.error());
  if (!errors.empty()) {
    for (const auto& e : errors) std::cerr << "trellis-proxy init: " << e << "\n";
    return 2;
  }

  if (dry_run) {
    // No system access at all: the commands for an empty nat table, with the binary the mode
    // names (auto shows plain `iptables`).
    Firewall fw;
    const Mode m = *parsed_mode;
    fw.iptables = !bin.empty()         ? bin
                  : m == Mode::kLegacy ? "iptables-legacy"
                  : m == Mode::kNft    ? "iptables-nft"
                                       : "iptables";
    if (!netns.empty()) std::cout << "# in network namespace " << netns << "\n";
    return install(options, fw, true, std::cout, std::cerr);
  }
  if (!netns.empty()) {
    auto entered = enter_netns(netns);
    if (!entered) {
      std::cerr << "trellis-proxy init: " << entered.error() << "\n";
      return 1;
    }
  }
  auto fw = select_firewall(*parsed_mode, bin, save_bin);
  if (!fw) {
    std::cerr << "trellis-proxy init: " << fw.error() << "\n";
    return 1;
  }
  std::cout << "trellis-proxy init: using " << fw->iptables << " (" << fw->backend << ")\n";
  const int rc = install(options, *fw, false, std::cout, std::cerr);
  if (rc == 0) std::cout << "trellis-proxy init: rules installed\n";
  return rc;
}

}  // namespace trellis::proxyinit
