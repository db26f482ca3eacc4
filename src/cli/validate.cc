#include "cli/validate.h"

#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <ostream>
#include <set>
#include <utility>

#include "cli/command.h"
#include "control/traffic/check.h"
#include "resources/cross_check.h"
#include "resources/load.h"

namespace trellis::cli {

int run_validate(const ValidateOptions& options, std::ostream& out, std::ostream& err) {
  if (options.output != "text" && options.output != "json") {
    err << "trellis validate: unsupported output format \"" << options.output
        << "\" (use text or json)\n";
    return 2;
  }
  if (options.paths.empty()) {
    err << "trellis validate: no input; pass -f FILE, -f DIR or -f - for standard input\n";
    return 2;
  }
  std::vector<std::string> files;
  std::vector<std::string> io_errors;
  for (const auto& path : options.paths) {
    auto found = resources::collect_manifest_files(path);
    if (!found) {
      io_errors.push_back(found.error());
      continue;
    }
    files.insert(files.end(), found->begin(), found->end());
  }
  resources::Diagnostics diags;
  std::vector<resources::Resource> decoded;
  for (const auto& file : files) {
    auto loaded = resources::load_file(file, decoded, diags);
    if (!loaded) io_errors.push_back(loaded.error());
  }
  resources::cross_check(decoded, diags);
  // What the traffic policy compiler finds (all-zero splits, routes shadowed by precedence,
  // routes a ServiceProfile overrides, ...): the manifests are not the whole cluster.
  control::traffic::CheckOptions traffic_options;
  traffic_options.partial = true;
  // A finding on a field the decoder already reported as an error (e.g. an all-zero
  // TrafficSplit) would say the same thing twice.
  std::set<std::pair<std::string, std::string>> decode_errors;
  for (const auto& d : diags.items()) {
    if (d.severity == resources::Severity::kError) {
      decode_errors.insert({d.object.display(), d.field});
    }
  }
  const resources::Diagnostics traffic = control::traffic::check(decoded, traffic_options);
  for (const auto& d : traffic.items()) {
    if (!decode_errors.count({d.object.display(), d.field})) diags.add(d);
  }
  diags.sort();

  if (options.output == "json") {
    nlohmann::json j;
    j["files"] = files.size();
    j["resources"] = decoded.size();
    j["errors"] = diags.error_count();
    j["warnings"] = diags.warning_count();
    j["diagnostics"] = nlohmann::json::array();
    for (const auto& d : diags.items()) j["diagnostics"].push_back(resources::to_json(d));
    j["ioErrors"] = io_errors;
    out << j.dump(2) << "\n";
  } else {
    for (const auto& d : diags.items()) out << d.format() << "\n";
    for (const auto& e : io_errors) err << "trellis validate: " << e << "\n";
    out << files.size() << (files.size() == 1 ? " file, " : " files, ") << decoded.size()
        << (decoded.size() == 1 ? " resource: " : " resources: ") << diags.error_count()
        << (diags.error_count() == 1 ? " error, " : " errors, ") << diags.warning_count()
        << (diags.warning_count() == 1 ? " warning\n" : " warnings\n");
  }
  if (!io_errors.empty()) return 2;
  return diags.has_errors() ? 1 : 0;
}

Command add_validate_command(CLI::App& app) {
  auto options = std::make_shared<ValidateOptions>();
  auto* cmd = app.add_subcommand(
      "validate", "Check manifests (Linkerd, SMI, Gateway API, Flagger, Kubernetes) for errors");
  cmd->add_option("-f,--filename", options->paths,
                  "File, directory (recursive *.yaml, *.yml, *.json) or - for stdin")
      ->required();
  cmd->add_option("-o,--output", options->output, "Output format: text or json");
  return {cmd, [options] { return run_validate(*options, std::cout, std::cerr); }};
}

}  // namespace trellis::cli
