#pragma once
// Every `trellis` subcommand lives in its own file and registers itself: add_<name>_command(app)
// declares the CLI11 subcommand with its options and returns how to run it once parsed.
// apps/trellis/main.cc lists the commands, one line each.

#include <functional>

#include <CLI/CLI.hpp>

namespace trellis::cli {

struct Command {
  CLI::App* app = nullptr;   // the subcommand; run() is called when it was parsed
  std::function<int()> run;  // returns the process exit code
};

Command add_validate_command(CLI::App& app);
Command add_inject_command(CLI::App& app);
Command add_uninject_command(CLI::App& app);
Command add_install_ca_command(CLI::App& app);
Command add_check_command(CLI::App& app);
Command add_identity_command(CLI::App& app);
Command add_diagnostics_command(CLI::App& app);
Command add_up_command(CLI::App& app);
Command add_down_command(CLI::App& app);
Command add_apply_command(CLI::App& app);
Command add_delete_command(CLI::App& app);
Command add_get_command(CLI::App& app);
Command add_logs_command(CLI::App& app);
Command add_exec_command(CLI::App& app);

}  // namespace trellis::cli
