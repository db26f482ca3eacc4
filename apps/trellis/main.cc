// trellis: the command-line interface (DESIGN.md §1).

#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/validate.h"

int main(int argc, char** argv) {
  CLI::App app{"trellis: a lightweight, security-first service mesh"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("trellis ") + TRELLIS_VERSION);

  trellis::cli::ValidateOptions validate;
  auto* validate_cmd = app.add_subcommand(
      "validate", "Check manifests (Linkerd, SMI, Gateway API, Flagger, Kubernetes) for errors");
  validate_cmd->add_option("-f,--filename", validate.paths,
                           "File, directory (recursive *.yaml, *.yml, *.json) or - for stdin")
      ->required();
  validate_cmd->add_option("-o,--output", validate.output, "Output format: text or json");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (validate_cmd->parsed()) {
    return trellis::cli::run_validate(validate, std::cout, std::cerr);
  }
  return 2;
}
