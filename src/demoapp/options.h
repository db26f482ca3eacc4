#pragma once
// Command-line options of trellis-demo-app (`serve` and `load`), parsed with CLI11 into plain
// structs. Parsing is a pure function of the argument list so tests can drive it; errors are
// values carrying the exit code and the text to print.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/duration.h"
#include "base/result.h"

namespace trellis::demoapp {

using base::Duration;

// `--route 'PREFIX:latency=5ms,error-rate=0.3,status=503,response-size=100'`: per-path-prefix
// overrides of the global fault settings. Unset fields fall back to the global flags.
struct RouteOverride {
  std::string prefix;
  std::optional<Duration> latency;
  std::optional<double> error_rate;
  // The status injected errors use on this route (default 500). A route with a status but no
  // error-rate answers that status to every request (error-rate 1).
  std::optional<int> status;
  std::optional<size_t> response_size;
};

// http://host:port/path or grpc://host:port
struct Target {
  enum class Kind : uint8_t { kHttp, kGrpc };
  Kind kind = Kind::kHttp;
  std::string url;   // as given
  std::string host;  // name or IP literal (brackets stripped)
  uint16_t port = 0;
  std::string path;  // origin-form, "/" when absent; unused for grpc
  std::string authority() const;  // host:port as written in the URL
};

struct ServeOptions {
  std::string bind = "0.0.0.0";
  uint16_t http_port = 8080;
  std::optional<uint16_t> grpc_port;
  std::optional<uint16_t> tcp_port;
  std::string tcp_banner;
  std::string version = "v1";
  std::string name;  // defaults to the hostname
  Duration latency{0};
  double error_rate = 0;
  size_t response_size = 0;
  std::vector<RouteOverride> routes;
  std::vector<Target> upstreams;
  bool tolerate_upstream_errors = false;
  Duration upstream_timeout = std::chrono::seconds(5);
  std::optional<uint64_t> seed;
  unsigned threads = 1;
  std::string log_level = "info";
  Duration shutdown_timeout = std::chrono::seconds(15);
};

struct LoadOptions {
  Target target;
  double rate = 10;          // requests per second
  Duration duration{0};      // 0: until SIGTERM
  unsigned concurrency = 10; // in-flight bound
  std::string method = "GET";
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names
  bool grpc = false;         // gRPC unary Hello (implied by a grpc:// target)
  std::optional<uint64_t> max_failures;
  Duration timeout = std::chrono::seconds(5);
  Duration report_interval = std::chrono::seconds(10);
  std::string name = "load";  // the "name" field of gRPC requests
  std::string log_level = "info";
};

struct CliError {
  int exit_code = 2;    // 0 for --help
  std::string message;  // help text or the errors
};

// `args` excludes the program name and the subcommand.
base::Result<ServeOptions, CliError> parse_serve_args(const std::vector<std::string>& args);
base::Result<LoadOptions, CliError> parse_load_args(const std::vector<std::string>& args);

base::Result<RouteOverride, std::string> parse_route(std::string_view text);
base::Result<Target, std::string> parse_target(std::string_view url);
// A fraction in [0, 1].
base::Result<double, std::string> parse_fraction(std::string_view text);
// "k: v" → (lower-case k, trimmed v).
base::Result<std::pair<std::string, std::string>, std::string> parse_header(std::string_view text);

}  // namespace trellis::demoapp
