#include "demoapp/responses.h"

#include <charconv>

#include <nlohmann/json.hpp>

namespace trellis::demoapp {

using nlohmann::json;

std::string pad_json(std::string doc, size_t min_size) {
  if (doc.size() < min_size && doc.size() >= 2 && doc.back() == '}') {
    // `,"padding":""` (13 bytes; 12 in an empty object); the closing brace stays last.
    const bool empty = doc.size() == 2;
    const size_t overhead = empty ? 12 : 13;
    const size_t fill = min_size > doc.size() + overhead ? min_size - doc.size() - overhead : 0;
    doc.pop_back();
    doc += empty ? "\"padding\":\"" : ",\"padding\":\"";
    doc.append(fill, 'x');
    doc += "\"}";
  }
  doc += '\n';
  return doc;
}

std::string render_info(const InfoDocument& doc, size_t min_size) {
  json j = json::object();
  j["version"] = doc.version;
  j["name"] = doc.name;
  j["method"] = doc.method;
  j["path"] = doc.path;
  j["status"] = doc.status;
  j["requestBytes"] = doc.request_bytes;
  if (!doc.client_id.empty()) j["clientId"] = doc.client_id;
  if (!doc.error.empty()) j["error"] = doc.error;
  json ups = json::array();
  for (const auto& u : doc.upstreams) {
    json e = json::object();
    e["url"] = u.url;
    e["ok"] = u.ok;
    e["status"] = u.status;
    if (u.grpc_status >= 0) e["grpcStatus"] = u.grpc_status;
    e["version"] = u.version;
    e["latencyMs"] = static_cast<double>(static_cast<int64_t>(u.latency_ms * 1000)) / 1000;
    if (!u.error.empty()) e["error"] = u.error;
    ups.push_back(std::move(e));
  }
  j["upstreams"] = std::move(ups);
  // Replace invalid UTF-8 (e.g. a raw path byte) instead of throwing.
  return pad_json(j.dump(-1, ' ', false, json::error_handler_t::replace), min_size);
}

std::string_view path_only(std::string_view target) { return target.substr(0, target.find('?')); }

std::optional<int> status_from_path(std::string_view path) {
  path = path_only(path);
  constexpr std::string_view kPrefix = "/status/";
  if (!path.starts_with(kPrefix)) return std::nullopt;
  path.remove_prefix(kPrefix.size());
  int code = 0;
  const auto [end, ec] = std::from_chars(path.data(), path.data() + path.size(), code);
  if (ec != std::errc() || end != path.data() + path.size() || code < 200 || code > 599) {
    return std::nullopt;
  }
  return code;
}

std::optional<Duration> delay_from_path(std::string_view path) {
  path = path_only(path);
  constexpr std::string_view kPrefix = "/delay/";
  if (!path.starts_with(kPrefix)) return std::nullopt;
  std::string text(path.substr(kPrefix.size()));
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) text += "s";
  auto d = base::parse_go_duration(text);
  if (!d || *d < Duration::zero()) return std::nullopt;
  return *d;
}

bool calls_upstreams(std::string_view path) {
  path = path_only(path);
  return path == "/" || path.starts_with("/api/") || path == "/api";
}

base::Result<GrpcRequest, std::string> parse_grpc_request(std::string_view text) {
  GrpcRequest r;
  if (text.empty()) return r;  // the empty message: all defaults
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return base::unexpected(std::string("the request is not a JSON object"));
  }
  if (auto it = j.find("name"); it != j.end()) {
    if (!it->is_string()) return base::unexpected(std::string("\"name\" must be a string"));
    r.name = it->get<std::string>();
  }
  if (auto it = j.find("count"); it != j.end()) {
    if (!it->is_number_unsigned()) {
      return base::unexpected(std::string("\"count\" must be a non-negative integer"));
    }
    r.count = it->get<uint64_t>();
    if (r.count > kMaxStreamCount) {
      return base::unexpected("\"count\" must be at most " + std::to_string(kMaxStreamCount));
    }
  }
  if (auto it = j.find("intervalMs"); it != j.end()) {
    if (!it->is_number_unsigned() || it->get<uint64_t>() > 60000) {
      return base::unexpected(std::string("\"intervalMs\" must be an integer in [0, 60000]"));
    }
    r.interval = std::chrono::milliseconds(it->get<uint64_t>());
  }
  return r;
}

std::string render_grpc_reply(std::string_view version, std::string_view name,
                              std::string_view request_name, uint64_t index,
                              std::string_view client_id) {
  json j = json::object();
  j["version"] = version;
  j["name"] = name;
  j["message"] = "hello " + std::string(request_name);
  j["index"] = index;
  if (!client_id.empty()) j["clientId"] = client_id;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace trellis::demoapp
