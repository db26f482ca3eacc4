#pragma once
// The demo's response documents, as pure functions: the JSON an HTTP request gets, the JSON
// payloads of gRPC messages, size padding, and the special paths (/status/N, /delay/D).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "demoapp/options.h"

namespace trellis::demoapp {

// The outcome of one upstream call, as reported in the "upstreams" array.
struct UpstreamResult {
  std::string url;
  bool ok = false;
  int status = 0;            // HTTP status (for gRPC: the HTTP status of the response)
  int grpc_status = -1;      // gRPC only
  std::string version;       // the upstream's "version", when its answer had one
  double latency_ms = 0;
  std::string error;         // why it failed, when it did
};

struct InfoDocument {
  std::string version;
  std::string name;
  std::string method;
  std::string path;
  std::string client_id;     // l5d-client-id; omitted when empty
  uint64_t request_bytes = 0;
  int status = 200;
  std::string error;         // "injected", "upstream" ...; omitted when empty
  std::vector<UpstreamResult> upstreams;
};

// {"version":..,"name":..,"method":..,"path":..,"status":..,"requestBytes":..,
//  "upstreams":[..],["clientId":..],["error":..]} padded to at least `min_size` bytes.
std::string render_info(const InfoDocument& doc, size_t min_size = 0);

// Adds a "padding" member of 'x's so the object is at least `min_size` bytes long (a newline
// follows it either way). `json` must be a serialized object.
std::string pad_json(std::string json, size_t min_size);

// "/status/503" → 503 (query ignored); nullopt when the path is not /status/<200..599>.
std::optional<int> status_from_path(std::string_view path);
// "/delay/250ms" or "/delay/2s" → the duration (Go syntax; a bare number is seconds).
std::optional<Duration> delay_from_path(std::string_view path);
// The path without its query.
std::string_view path_only(std::string_view target);
// Whether a request to `path` triggers the upstream calls: "/" and "/api/...".
bool calls_upstreams(std::string_view path);

// gRPC payloads.
struct GrpcRequest {
  std::string name = "world";
  uint64_t count = 1;        // Stream: how many responses
  Duration interval{0};      // Stream: pause between responses ("intervalMs")
};
inline constexpr uint64_t kMaxStreamCount = 100000;
base::Result<GrpcRequest, std::string> parse_grpc_request(std::string_view json);
std::string render_grpc_reply(std::string_view version, std::string_view name,
                              std::string_view request_name, uint64_t index,
                              std::string_view client_id);

}  // namespace trellis::demoapp
