#pragma once
// A small blocking HTTP/1.1 GET client for the CLI: it talks to trellis-control's admin API
// (contracts C-5) and to proxies' admin ports (C-6). One request per connection
// ("Connection: close"), a deadline for the whole exchange, and a cap on the response size,
// so a wedged or hostile peer cannot hang or exhaust the CLI.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace trellis::cli {

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;
};

struct HttpGetOptions {
  std::chrono::milliseconds timeout = std::chrono::seconds(5);
  size_t max_body_bytes = 16 * 1024 * 1024;
};

// GET http://<address><target>. `address` is "host:port" or "[v6]:port". The error is a short
// human-readable reason ("connection refused", "timed out", "invalid address ..."), meant to be
// embedded in a message that names what was being contacted.
base::Result<HttpResponse, std::string> http_get(std::string_view address,
                                                 std::string_view target,
                                                 const HttpGetOptions& options = {});

// Splits "host:port" / "[v6]:port"; false when malformed or the port is not 1..65535.
bool split_host_port(std::string_view address, std::string& host, std::string& port);

}  // namespace trellis::cli
