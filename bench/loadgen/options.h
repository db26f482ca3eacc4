#pragma once
// The command line of trellis-loadgen, parsed and validated in one place (start-up boundary:
// CLI11 may throw inside, errors come out as values). Every later stage trusts an Options.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/duration.h"
#include "base/result.h"

namespace trellis::bench::loadgen {

enum class Protocol : uint8_t { kHttp1, kH2c, kGrpc };
std::string_view to_string(Protocol protocol);  // "http1", "h2c", "grpc"

// A plaintext http:// target. The generator connects to host:port and nowhere else.
struct Target {
  std::string host;       // a name or an IP literal (IPv6 without brackets)
  uint16_t port = 80;
  std::string authority;  // host[:port] as written in the URL: the Host / :authority value
  std::string path;       // origin-form: path and query ("/" when the URL has none)
};
base::Result<Target, std::string> parse_url(std::string_view url);

struct Header {
  std::string name;
  std::string value;
  friend bool operator==(const Header&, const Header&) = default;
};
// "name: value" as given to --header.
base::Result<Header, std::string> parse_header(std::string_view text);

struct Options {
  std::string url;
  Target target;
  Protocol protocol = Protocol::kHttp1;
  double rate = 0;  // requests per second over the run; 0 = closed loop
  base::Duration duration = std::chrono::seconds(10);
  base::Duration warmup{0};
  base::Duration timeout = std::chrono::seconds(5);
  uint32_t connections = 10;
  uint32_t threads = 1;
  uint32_t concurrency = 1;  // in flight per connection: 1 for HTTP/1, --concurrency for h2
  double jitter = 0;
  uint64_t seed = 1;
  std::string method;     // GET, or POST for gRPC
  std::string authority;  // target.authority or --host
  std::vector<Header> headers;
  std::string body;          // HTTP/1 and h2c request body
  std::string grpc_message;  // gRPC: the serialized message (decoded --grpc-body-hex)
  bool include_errors = false;
  std::string json_path;
  bool quiet = false;

  bool closed_loop() const { return rate == 0; }
};

// Why parsing stopped: a usage error (exit_code 2) or --help (exit_code 0, message = help).
struct ParseFailure {
  int exit_code = 2;
  std::string message;
};
base::Result<Options, ParseFailure> parse_options(int argc, const char* const* argv);
// The same, for tests and wrappers: `args` without the program name.
base::Result<Options, ParseFailure> parse_options(const std::vector<std::string>& args);

}  // namespace trellis::bench::loadgen
