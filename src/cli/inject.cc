#include "cli/inject.h"

#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/command.h"
#include "resources/load.h"

namespace trellis::cli {

namespace {

base::Result<std::string, std::string> read_input(const std::string& path, std::istream& in) {
  std::ostringstream buf;
  if (path == "-") {
    buf << in.rdbuf();
    return buf.str();
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) return base::unexpected(path + ": cannot open");
  buf << file.rdbuf();
  if (buf.str().size() > resources::kMaxManifestBytes) {
    return base::unexpected(path + ": larger than 16 MiB");
  }
  return buf.str();
}

const char* verb(inject::Action action) {
  return action == inject::Action::kUninject ? "uninject" : "inject";
}

}  // namespace

int run_inject(const InjectCommandOptions& options, std::istream& in, std::ostream& out,
               std::ostream& err) {
  const std::string name = std::string("trellis ") + verb(options.transform.action);
  if (options.paths.empty()) {
    err << name << ": no input; pass -f FILE, -f DIR or -f - for standard input\n";
    return 2;
  }
  std::vector<std::pair<std::string, std::string>> inputs;  // file, text
  for (const auto& path : options.paths) {
    auto files = resources::collect_manifest_files(path);
    if (!files) {
      err << name << ": " << files.error() << "\n";
      return 2;
    }
    for (const auto& file : *files) {
      auto text = read_input(file, in);
      if (!text) {
        err << name << ": " << text.error() << "\n";
        return 2;
      }
      inputs.emplace_back(file == "-" ? "<stdin>" : file, std::move(*text));
    }
  }
  // Namespaces from every input first, so a workload in one file sees the config.linkerd.io
  // annotations of its Namespace defined in another.
  inject::TransformOptions transform = options.transform;
  if (transform.action == inject::Action::kManual && transform.inject.control_addr.empty()) {
    transform.inject.control_addr = "trellis-control." + transform.inject.control_namespace +
                                    ".svc." + transform.inject.cluster_domain + ":8086";
  }
  for (const auto& [file, text] : inputs) inject::collect_namespaces(text, transform.namespaces);

  bool failed = false;
  bool first = true;
  for (const auto& [file, text] : inputs) {
    const inject::TransformResult result = inject::transform(text, file, transform);
    if (result.output.empty()) continue;
    if (!first) out << "---\n";
    first = false;
    out << result.output;
    for (const auto& line : result.report) err << line << "\n";
    for (const auto& e : result.errors) err << name << ": error: " << e << "\n";
    failed = failed || !result.errors.empty();
  }
  return failed ? 1 : 0;
}

namespace {

Command add_command(CLI::App& app, inject::Action action) {
  auto options = std::make_shared<InjectCommandOptions>();
  options->transform.action = action;
  const bool uninject = action == inject::Action::kUninject;
  auto* cmd = app.add_subcommand(
      uninject ? "uninject" : "inject",
      uninject ? "Remove the Trellis (or Linkerd) proxy from manifests: the linkerd.io/inject "
                 "annotation and any sidecar added by --manual"
               : "Add the Trellis proxy to manifests: linkerd.io/inject: enabled on every pod "
                 "template (Pod, Deployment, StatefulSet, DaemonSet, Job, CronJob, ...), or the "
                 "full sidecar with --manual");
  cmd->footer(
      "Documents are printed in their order; those that are not changed are printed exactly as "
      "written. Rewritten documents are re-emitted, so their comments are lost. A summary line "
      "per object goes to standard error.");
  cmd->add_option("-f,--filename", options->paths,
                  "File, directory (recursive *.yaml, *.yml, *.json) or - for stdin")
      ->required();
  if (!uninject) {
    auto& io = options->transform.inject;
    cmd->add_flag_callback(
        "--manual", [options] { options->transform.action = inject::Action::kManual; },
        "Add the full sidecar (init container, proxy container, volumes) instead of the "
        "annotation");
    cmd->add_flag("--ingress", options->transform.ingress,
                  "Inject in ingress mode (linkerd.io/inject: ingress)");
    cmd->add_option("--control-namespace", io.control_namespace,
                    "Namespace of the control plane (identity names)")
        ->capture_default_str();
    cmd->add_option("--trust-domain", io.trust_domain, "Trust domain of identities")
        ->capture_default_str();
    cmd->add_option("--control-addr", io.control_addr,
                    "--manual: the control plane's gRPC address given to the proxy (default "
                    "trellis-control.<control-namespace>.svc.cluster.local:8086)");
    cmd->add_option("--proxy-image", io.proxy_image, "--manual: the proxy image (without tag)")
        ->capture_default_str();
    cmd->add_option("--proxy-version", io.proxy_version, "--manual: the proxy image tag")
        ->capture_default_str();
  }
  return {cmd, [options] { return run_inject(*options, std::cin, std::cout, std::cerr); }};
}

}  // namespace

Command add_inject_command(CLI::App& app) { return add_command(app, inject::Action::kInject); }
Command add_uninject_command(CLI::App& app) { return add_command(app, inject::Action::kUninject); }

}  // namespace trellis::cli
