// trellis: the command-line interface (DESIGN.md §1). Each subcommand is defined in its own file
// under src/cli/ (cli/command.h); this list is the whole CLI.

#include <CLI/CLI.hpp>

#include <vector>

#include "cli/command.h"

int main(int argc, char** argv) {
  CLI::App app{"trellis: a lightweight, security-first service mesh"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("trellis ") + TRELLIS_VERSION);

  namespace cli = trellis::cli;
  const std::vector<cli::Command> commands = {
      cli::add_validate_command(app),
      cli::add_install_ca_command(app),
      cli::add_check_command(app),
      cli::add_identity_command(app),
      cli::add_diagnostics_command(app),
      cli::add_inject_command(app),
      cli::add_uninject_command(app),
      cli::add_up_command(app),
      cli::add_down_command(app),
      cli::add_apply_command(app),
      cli::add_delete_command(app),
      cli::add_get_command(app),
      cli::add_logs_command(app),
      cli::add_exec_command(app),
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  for (const cli::Command& command : commands) {
    if (command.app->parsed()) return command.run();
  }
  return 2;
}
