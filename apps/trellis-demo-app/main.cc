// trellis-demo-app: the demo/test workload. `serve` answers HTTP/1, h2c, gRPC and TCP echo with
// configurable version, latency, errors and sizes; `load` sends requests at a fixed rate.
// See src/demoapp/README.md.

#include <iostream>
#include <string>
#include <vector>

#include "base/log.h"
#include "demoapp/load.h"
#include "demoapp/options.h"
#include "demoapp/server.h"

namespace {

constexpr const char* kUsage =
    "usage: trellis-demo-app serve [flags]   HTTP/1 + h2c + gRPC + TCP echo demo server\n"
    "       trellis-demo-app load --target URL [flags]   send requests at a fixed rate\n"
    "Run `trellis-demo-app <command> --help` for the flags.\n";

template <typename T>
bool report(const trellis::base::Result<T, trellis::demoapp::CliError>& parsed, int& code) {
  if (parsed) return true;
  (parsed.error().exit_code == 0 ? std::cout : std::cerr) << parsed.error().message << "\n";
  code = parsed.error().exit_code;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace trellis;
  if (argc < 2) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  int code = 0;
  if (command == "serve") {
    auto parsed = demoapp::parse_serve_args(args);
    if (!report(parsed, code)) return code;
    base::log::init("demo-app", parsed->log_level);
    return demoapp::run_serve(*parsed);
  }
  if (command == "load") {
    auto parsed = demoapp::parse_load_args(args);
    if (!report(parsed, code)) return code;
    base::log::init("demo-load", parsed->log_level);
    return demoapp::run_load(*parsed);
  }
  if (command == "-h" || command == "--help" || command == "help") {
    std::cout << kUsage;
    return 0;
  }
  std::cerr << "trellis-demo-app: unknown command \"" << command << "\"\n" << kUsage;
  return 2;
}
