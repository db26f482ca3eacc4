// trellis-proxy: the data plane. Configuration comes from TRELLIS_PROXY_* environment variables
// (what the injector sets) and the equivalent --flags (flags win); see docs/proxy-config.md.

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include "base/log.h"
#include "proxy/config.h"
#include "proxy/discovery/static_file.h"
#include "proxy/proxy.h"
#include "proxyinit/command.h"

extern char** environ;

namespace {

std::vector<std::string> environment_names() {
  std::vector<std::string> names;
  for (char** e = environ; e && *e; ++e) {
    std::string entry(*e);
    names.push_back(entry.substr(0, entry.find('=')));
  }
  return names;
}

}  // namespace

// The settings table as Markdown; docs/proxy-config.md is this output (a test keeps them equal).
void print_config_reference() {
  std::cout << "# trellis-proxy configuration\n\n"
               "Every setting is an environment variable (what the injector sets) and a flag "
               "(flags win).\nDurations use Go syntax (`300ms`, `10s`, `1m30s`). Unknown "
               "`TRELLIS_PROXY_*` variables are an error.\n\n"
               "| environment variable | flag | default | meaning |\n|---|---|---|---|\n";
  for (const auto& s : trellis::proxy::config_settings()) {
    std::cout << "| `" << trellis::proxy::env_name(s.name) << "` | `--" << s.name << "` | "
              << (s.default_value.empty() ? "" : "`" + s.default_value + "`") << " | "
              << s.description << " |\n";
  }
}

int main(int argc, char** argv) {
  // `trellis-proxy init ...`: the init container's iptables set-up (src/proxyinit).
  if (argc >= 2 && std::string(argv[1]) == "init") {
    return trellis::proxyinit::init_main(argc - 1, argv + 1);
  }
  using namespace trellis;
  if (argc == 2 && std::string(argv[1]) == "--config-reference") {
    print_config_reference();
    return 0;
  }
  proxy::ProxyConfig config;
  auto env = proxy::apply_environment(
      config,
      [](const std::string& name) -> std::optional<std::string> {
        const char* v = std::getenv(name.c_str());
        if (!v) return std::nullopt;
        return std::string(v);
      },
      environment_names());
  if (!env) {
    std::cerr << "trellis-proxy: invalid configuration:\n" << env.error() << "\n";
    return 2;
  }

  CLI::App app{"trellis-proxy: the Trellis data plane (inbound, outbound and admin listeners)"};
  std::map<std::string, std::string> flags;
  for (const auto& setting : proxy::config_settings()) {
    app.add_option("--" + setting.name, flags[setting.name],
                   setting.description + " [env " + proxy::env_name(setting.name) +
                       ", default " + (setting.default_value.empty() ? "none" : setting.default_value) + "]");
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  std::vector<std::string> errors;
  for (const auto& setting : proxy::config_settings()) {
    if (app.count("--" + setting.name) == 0) continue;
    auto applied = setting.apply(config, flags[setting.name]);
    if (!applied) errors.push_back("--" + setting.name + "=\"" + flags[setting.name] + "\" is not valid: " + applied.error());
  }
  if (!errors.empty()) {
    for (const auto& e : errors) std::cerr << "trellis-proxy: " << e << "\n";
    return 2;
  }

  base::log::init("proxy", config.log_level);
  std::unique_ptr<proxy::discovery::DiscoverySource> source;
  if (!config.control_addr.empty()) {
    // Discovery comes from the control plane (the proxy builds that source itself).
    if (!config.discovery_file.empty()) {
      TRELLIS_LOG_WARN("both control-addr and discovery-file are set: the discovery file is "
                       "ignored");
    }
  } else {
    if (config.discovery_file.empty()) {
      TRELLIS_LOG_WARN("no discovery file (--discovery-file / TRELLIS_PROXY_DISCOVERY_FILE) and "
                       "no control plane: every target is forwarded to its original destination");
    }
    auto file = std::make_unique<proxy::discovery::StaticFileSource>(config.discovery_file);
    if (!config.discovery_file.empty()) {
      if (auto loaded = file->reload(); !loaded) {
        std::cerr << "trellis-proxy: " << loaded.error() << "\n";
        return 2;
      }
    }
    source = std::move(file);
  }
  try {
    proxy::Proxy p(std::move(config), std::move(source));
    p.start();
    p.run_until_signal();
  } catch (const std::exception& e) {
    std::cerr << "trellis-proxy: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
