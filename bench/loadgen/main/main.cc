// trellis-loadgen: flags -> Options -> run -> summary (stdout) and JSON (--json FILE).
// Exit status: 0 when the run happened (its errors are in the output), 1 when it could not
// start or a connection hit an internal error, 2 on a usage error.

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "loadgen/options.h"
#include "loadgen/report.h"
#include "loadgen/runner.h"

int main(int argc, char** argv) {
  using namespace trellis::bench::loadgen;
  auto options = parse_options(argc, argv);
  if (!options) {
    const ParseFailure& failure = options.error();
    if (failure.exit_code == 0) {
      std::fputs(failure.message.c_str(), stdout);  // --help
    } else {
      std::string message = failure.message;
      if (!message.empty() && message.back() != '\n') message += '\n';
      // CLI11's own errors already end with a pointer to --help.
      if (message.find("--help") == std::string::npos) {
        message += "Run with --help for the flags.\n";
      }
      fmt::print(stderr, "trellis-loadgen: {}", message);
    }
    return failure.exit_code;
  }
  auto report = run(*options);
  if (!report) {
    fmt::print(stderr, "trellis-loadgen: {}\n", report.error());
    return 1;
  }
  if (!options->quiet) fmt::print("{}", format_summary(*report));
  if (!options->json_path.empty()) {
    std::ofstream out(options->json_path);
    out << to_json(*report).dump(2) << '\n';
    if (!out) {
      fmt::print(stderr, "trellis-loadgen: cannot write {}\n", options->json_path);
      return 1;
    }
  }
  return report->failures.empty() ? 0 : 1;
}
