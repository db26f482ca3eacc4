#include "cli/diagnostics.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <ostream>
#include <tuple>

#include "cli/command.h"
#include "cli/http_get.h"

namespace trellis::cli {
namespace {

// Protobuf's JSON mapping uses lowerCamelCase names; a parser also accepts the proto names.
const nlohmann::json* field(const nlohmann::json& object, const char* camel,
                            const char* snake = nullptr) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(camel);
  if (it == object.end() && snake != nullptr) it = object.find(snake);
  return it == object.end() ? nullptr : &*it;
}

std::string string_field(const nlohmann::json& object, const char* camel,
                         const char* snake = nullptr) {
  const nlohmann::json* f = field(object, camel, snake);
  if (f == nullptr) return {};
  if (f->is_string()) return f->get<std::string>();
  if (f->is_number_unsigned() || f->is_number_integer()) return std::to_string(f->get<long>());
  return {};
}

std::string label(const nlohmann::json& endpoint, const char* key) {
  const nlohmann::json* labels = field(endpoint, "labels");
  return labels == nullptr ? std::string() : string_field(*labels, key);
}

void print_table(std::ostream& out, const std::vector<EndpointRow>& rows) {
  const std::vector<std::string> headers = {"NAMESPACE", "IP",      "PORT",
                                            "POD",       "SERVICE", "IDENTITY"};
  std::vector<size_t> widths;
  for (const auto& h : headers) widths.push_back(h.size());
  auto cells = [](const EndpointRow& r) {
    return std::vector<std::string>{r.ns, r.ip, r.port, r.pod, r.service, r.identity};
  };
  for (const auto& row : rows) {
    auto c = cells(row);
    for (size_t i = 0; i < c.size(); ++i) widths[i] = std::max(widths[i], c[i].size());
  }
  auto print_line = [&](const std::vector<std::string>& c) {
    std::string line;
    for (size_t i = 0; i < c.size(); ++i) {
      line += c[i];
      if (i + 1 < c.size()) line += std::string(widths[i] - c[i].size() + 3, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  };
  print_line(headers);
  for (const auto& row : rows) print_line(cells(row));
}

// ---- profile --------------------------------------------------------------------------

// Protobuf JSON writes 64-bit integers as strings.
uint64_t number_field(const nlohmann::json& object, const char* camel) {
  const nlohmann::json* f = field(object, camel);
  if (f == nullptr) return 0;
  if (f->is_number_unsigned() || f->is_number_integer()) return f->get<uint64_t>();
  if (f->is_string()) {
    try {
      return std::stoull(f->get<std::string>());
    } catch (...) {
      return 0;
    }
  }
  return 0;
}

std::string duration_text(uint64_t ms) {
  if (ms == 0) return "-";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string value_match_text(const nlohmann::json& v, const char* sep) {
  std::string out = string_field(v, "name");
  if (const auto* e = field(v, "exact")) {
    return out + sep + (e->is_string() ? e->get<std::string>() : "");
  }
  if (const auto* r = field(v, "regex")) {
    return out + " ~ " + (r->is_string() ? r->get<std::string>() : "");
  }
  return out;
}

std::string match_text(const nlohmann::json& m) {
  if (const auto* all = field(m, "all")) {
    std::vector<std::string> parts;
    if (const auto* ms = field(*all, "matches"); ms != nullptr && ms->is_array()) {
      for (const auto& c : *ms) parts.push_back(match_text(c));
    }
    if (parts.empty()) return "*";
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
    return out;
  }
  if (const auto* any = field(m, "any")) {
    std::vector<std::string> parts;
    if (const auto* ms = field(*any, "matches"); ms != nullptr && ms->is_array()) {
      for (const auto& c : *ms) parts.push_back(match_text(c));
    }
    if (parts.empty()) return "nothing";
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) out += (i ? " | " : "") + parts[i];
    return "(" + out + ")";
  }
  if (const auto* n = field(m, "not")) return "not(" + match_text(*n) + ")";
  if (const auto* p = field(m, "path")) {
    if (auto v = string_field(*p, "exact"); field(*p, "exact")) return "path = " + v;
    if (auto v = string_field(*p, "prefix"); field(*p, "prefix")) return "path " + v + "*";
    return "path ~ " + string_field(*p, "regex");
  }
  if (field(m, "method")) return "method " + string_field(m, "method");
  if (const auto* h = field(m, "header")) return "header " + value_match_text(*h, ": ");
  if (const auto* q = field(m, "queryParam", "query_param")) {
    return "query " + value_match_text(*q, "=");
  }
  if (const auto* g = field(m, "grpc")) {
    std::string svc = string_field(*g, "serviceExact");
    if (svc.empty()) svc = string_field(*g, "serviceRegex");
    std::string method = string_field(*g, "methodExact");
    if (method.empty()) method = string_field(*g, "methodRegex");
    return "grpc " + (svc.empty() ? "*" : svc) + "/" + (method.empty() ? "*" : method);
  }
  return "*";
}

std::string backends_text(const nlohmann::json& backends) {
  if (!backends.is_array() || backends.empty()) return "-";
  std::string out;
  for (const auto& b : backends) {
    std::string name = string_field(b, "authority");
    if (!out.empty()) out += ", ";
    out += name;
    if (backends.size() > 1) out += " (" + std::to_string(number_field(b, "weight")) + ")";
  }
  return out;
}

std::string retry_text(const nlohmann::json* retry) {
  if (retry == nullptr || !field(*retry, "enabled") || !field(*retry, "enabled")->is_boolean() ||
      !field(*retry, "enabled")->get<bool>()) {
    return "-";
  }
  std::string out;
  const auto* classified = field(*retry, "onClassifiedFailure");
  if (classified != nullptr && classified->is_boolean() && classified->get<bool>()) {
    out = "failures";
  } else {
    std::vector<std::string> on;
    if (const auto* st = field(*retry, "httpStatuses"); st != nullptr && st->is_array()) {
      for (const auto& r : *st) {
        on.push_back(std::to_string(number_field(r, "min")) + "-" +
                     std::to_string(number_field(r, "max")));
      }
    }
    if (const auto* codes = field(*retry, "grpcCodes"); codes != nullptr && codes->is_array()) {
      for (const auto& c : *codes) on.push_back("grpc " + c.dump());
    }
    for (size_t i = 0; i < on.size(); ++i) out += (i ? "," : "") + on[i];
  }
  const uint64_t max = number_field(*retry, "maxRetries");
  out += max == 0 ? " (budget)" : " (max " + std::to_string(max) + ")";
  return out;
}

struct RouteRow {
  std::string name, match, backends, retry, timeout;
};

RouteRow route_row(const nlohmann::json& route) {
  RouteRow row;
  row.name = string_field(route, "name");
  const auto* matches = field(route, "matches");
  const auto* is_default = field(route, "isDefault");
  if (is_default != nullptr && is_default->is_boolean() && is_default->get<bool>()) {
    row.match = "(no other route)";
  } else if (matches == nullptr || !matches->is_array() || matches->empty()) {
    row.match = "*";
  } else {
    for (size_t i = 0; i < matches->size(); ++i) {
      row.match += (i ? " | " : "") + match_text((*matches)[i]);
    }
  }
  row.backends = backends_text(route.value("backends", nlohmann::json::array()));
  row.retry = retry_text(field(route, "retry"));
  const auto* t = field(route, "timeouts");
  row.timeout = duration_text(t ? number_field(*t, "requestMs") : 0);
  return row;
}

}  // namespace

std::string profile_text(const nlohmann::json& profile) {
  const std::string fqn = string_field(profile, "fullyQualifiedName", "fully_qualified_name");
  if (fqn.empty()) return {};
  const nlohmann::json* policy = field(profile, "policy");
  const nlohmann::json empty = nlohmann::json::object();
  if (policy == nullptr) policy = &empty;
  std::string out;
  std::string source = string_field(*policy, "source");
  if (source == "SOURCE_SERVICE_PROFILE") {
    source = "ServiceProfile/TrafficSplit";
  } else if (source == "SOURCE_ROUTES") {
    source = "HTTPRoute/GRPCRoute";
  } else {
    source = "default (no ServiceProfile, TrafficSplit or route)";
  }
  out += "authority: " + string_field(*policy, "authority") + "\n";
  out += "source:    " + source + "\n";
  if (const auto* res = field(*policy, "resources"); res != nullptr && res->is_array()) {
    for (const auto& r : *res) {
      out += "           " + (r.is_string() ? r.get<std::string>() : "") + "\n";
    }
  }
  if (const auto* b = field(*policy, "retryBudget")) {
    const auto* ratio = field(*b, "retryRatio");
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", ratio && ratio->is_number() ? ratio->get<double>() : 0.0);
    out += std::string("retry budget: ratio ") + buf + ", min " +
           std::to_string(number_field(*b, "minRetriesPerSecond")) + "/s, ttl " +
           duration_text(number_field(*b, "ttlMs")) + "\n";
  }
  std::vector<RouteRow> rows;
  if (const auto* routes = field(*policy, "httpRoutes"); routes != nullptr && routes->is_array()) {
    for (const auto& r : *routes) rows.push_back(route_row(r));
  }
  if (const auto* d = field(*policy, "defaultRoute"); d != nullptr && d->is_object()) {
    RouteRow row = route_row(*d);
    row.match = "(no other route)";
    rows.push_back(row);
  } else {
    rows.push_back({"-", "(no other route)", "404", "-", "-"});
  }
  const std::vector<std::string> headers = {"ROUTE", "MATCH", "BACKENDS", "RETRY", "TIMEOUT"};
  std::vector<size_t> widths;
  for (const auto& h : headers) widths.push_back(h.size());
  auto cells = [](const RouteRow& r) {
    return std::vector<std::string>{r.name, r.match, r.backends, r.retry, r.timeout};
  };
  for (const auto& row : rows) {
    auto c = cells(row);
    for (size_t i = 0; i < c.size(); ++i) widths[i] = std::max(widths[i], c[i].size());
  }
  auto line = [&](const std::vector<std::string>& c) {
    std::string l;
    for (size_t i = 0; i < c.size(); ++i) {
      l += c[i];
      if (i + 1 < c.size()) l += std::string(widths[i] - c[i].size() + 3, ' ');
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l + "\n";
  };
  line(headers);
  for (const auto& row : rows) line(cells(row));
  return out;
}

int run_diagnostics_profile(const DiagnosticsProfileOptions& options, std::ostream& out,
                            std::ostream& err) {
  const char* kPrefix = "trellis diagnostics profile: ";
  if (options.output != "text" && options.output != "json") {
    err << kPrefix << "unsupported output format \"" << options.output
        << "\" (use text or json)\n";
    return 2;
  }
  auto response = http_get(options.control_admin, "/api/v1/profile?path=" +
                                                      url_encode(options.authority) +
                                                      "&ns=" + url_encode(options.ns));
  if (!response) {
    err << kPrefix << control_unreachable_message(options.control_admin, response.error())
        << "\n";
    return 1;
  }
  if (response->status != 200) {
    std::string body = response->body;
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
    err << kPrefix << "trellis-control at " << options.control_admin << " answered HTTP "
        << response->status << " for " << options.authority << (body.empty() ? "" : ": " + body)
        << (response->status == 404 ? " (an older control plane without /api/v1/profile?)" : "")
        << "\n";
    return 1;
  }
  auto profile = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (profile.is_discarded() || !profile.is_object()) {
    err << kPrefix << "trellis-control at " << options.control_admin
        << " answered with invalid JSON for " << options.authority << "\n";
    return 1;
  }
  if (options.output == "json") {
    out << profile.dump(2) << "\n";
    return string_field(profile, "fullyQualifiedName").empty() ? 1 : 0;
  }
  const std::string text = profile_text(profile);
  if (text.empty()) {
    out << options.authority << " is not a known service (namespace " << options.ns
        << "); the proxy sends its traffic to the authority as it is, with no routes\n";
    return 1;
  }
  out << text;
  return 0;
}

bool update_exists(const nlohmann::json& update) {
  const nlohmann::json* exists = field(update, "exists");
  return exists != nullptr && exists->is_boolean() && exists->get<bool>();
}

std::vector<EndpointRow> endpoint_rows(const nlohmann::json& update) {
  std::vector<EndpointRow> rows;
  const nlohmann::json* service = field(update, "service");
  std::string service_name, service_ns;
  if (service != nullptr) {
    service_name = string_field(*service, "name");
    service_ns = string_field(*service, "namespace");
  }
  const nlohmann::json* endpoints = field(update, "endpoints");
  if (endpoints == nullptr || !endpoints->is_array()) return rows;
  for (const auto& endpoint : *endpoints) {
    EndpointRow row;
    std::string address = string_field(endpoint, "address");
    // "198.18.0.7:8080" or "[fd00::7]:8080"
    size_t colon = address.rfind(':');
    if (!address.empty() && address.front() == '[') {
      size_t close = address.find(']');
      row.ip = address.substr(1, close == std::string::npos ? std::string::npos : close - 1);
      row.port = close == std::string::npos || close + 2 > address.size()
                     ? std::string()
                     : address.substr(close + 2);
    } else if (colon != std::string::npos) {
      row.ip = address.substr(0, colon);
      row.port = address.substr(colon + 1);
    } else {
      row.ip = address;
    }
    row.ns = label(endpoint, "namespace");
    if (row.ns.empty()) row.ns = service_ns;
    row.pod = label(endpoint, "pod");
    row.service = service_ns.empty() ? service_name : service_name + "." + service_ns;
    row.identity = string_field(endpoint, "identity");
    rows.push_back(std::move(row));
  }
  std::sort(rows.begin(), rows.end(), [](const EndpointRow& a, const EndpointRow& b) {
    return std::tie(a.ns, a.pod, a.ip, a.port) < std::tie(b.ns, b.pod, b.ip, b.port);
  });
  return rows;
}

std::string url_encode(const std::string& value) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

std::string control_unreachable_message(const std::string& address, const std::string& reason) {
  return "cannot reach trellis-control admin at " + address + ": " + reason +
         " (is it running? start it with `trellis-control --store-dir DIR --ca-dir DIR "
         "--admin-listen " +
         address + "`, or pass --control-admin ADDR)";
}

int run_diagnostics_endpoints(const DiagnosticsEndpointsOptions& options, std::ostream& out,
                              std::ostream& err) {
  const char* kPrefix = "trellis diagnostics endpoints: ";
  if (options.output != "text" && options.output != "json") {
    err << kPrefix << "unsupported output format \"" << options.output
        << "\" (use text or json)\n";
    return 2;
  }
  int exit_code = 0;
  nlohmann::json all = nlohmann::json::object();
  bool first = true;
  for (const std::string& authority : options.authorities) {
    auto response = http_get(options.control_admin, "/api/v1/endpoints?path=" +
                                                        url_encode(authority) +
                                                        "&ns=" + url_encode(options.ns));
    if (!response) {
      err << kPrefix << control_unreachable_message(options.control_admin, response.error())
          << "\n";
      return 1;
    }
    nlohmann::json update;
    if (response->status == 200) {
      update = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
      if (update.is_discarded() || !update.is_object()) {
        err << kPrefix << "trellis-control at " << options.control_admin
            << " answered with invalid JSON for " << authority << "\n";
        exit_code = 1;
        continue;
      }
    } else if (response->status == 404) {
      update = nlohmann::json::object();  // an older control plane: 404 = not known
    } else {
      std::string body = response->body;
      while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
      err << kPrefix << "trellis-control at " << options.control_admin << " answered HTTP "
          << response->status << " for " << authority << (body.empty() ? "" : ": " + body)
          << "\n";
      exit_code = 1;
      continue;
    }

    const bool exists = update_exists(update);
    if (!exists) exit_code = 1;
    if (options.output == "json") {
      all[authority] = update;
      continue;
    }
    if (!first) out << "\n";
    first = false;
    if (!exists) {
      out << authority << " is not a known service (namespace " << options.ns
          << "); the proxy forwards its traffic to the original destination\n";
      continue;
    }
    auto rows = endpoint_rows(update);
    if (rows.empty()) {
      out << "No ready endpoints for " << authority << " (the service exists)\n";
      continue;
    }
    if (options.authorities.size() > 1) out << authority << ":\n";
    print_table(out, rows);
  }
  if (options.output == "json") out << all.dump(2) << "\n";
  return exit_code;
}

Command add_diagnostics_command(CLI::App& app) {
  auto options = std::make_shared<DiagnosticsEndpointsOptions>();
  auto* cmd = app.add_subcommand("diagnostics", "Inspect what the control plane knows");
  cmd->require_subcommand(1);
  auto* endpoints = cmd->add_subcommand(
      "endpoints", "Show the endpoints the control plane resolves for authorities");
  endpoints
      ->add_option("authority", options->authorities,
                   "Authority, e.g. web.emojivoto.svc.cluster.local:80, web:80 or an IP:port")
      ->required();
  endpoints->add_option("--control-admin", options->control_admin,
                        "trellis-control admin address")
      ->capture_default_str();
  endpoints->add_option("-n,--namespace", options->ns, "Namespace that short names resolve in")
      ->capture_default_str();
  endpoints->add_option("-o,--output", options->output, "Output format: text or json")
      ->capture_default_str();
  auto profile_options = std::make_shared<DiagnosticsProfileOptions>();
  auto* profile = cmd->add_subcommand(
      "profile", "Show the traffic policy (routes, splits, retries, timeouts) of an authority");
  profile
      ->add_option("authority", profile_options->authority,
                   "Authority, e.g. web.emojivoto.svc.cluster.local:80, web:80 or an IP:port")
      ->required();
  profile->add_option("--control-admin", profile_options->control_admin,
                      "trellis-control admin address")
      ->capture_default_str();
  profile
      ->add_option("-n,--namespace", profile_options->ns,
                   "Namespace of the client: short names resolve in it, and its consumer "
                   "routes and ServiceProfile overrides apply")
      ->capture_default_str();
  profile->add_option("-o,--output", profile_options->output, "Output format: text or json")
      ->capture_default_str();
  return {cmd, [options, profile_options, profile] {
            if (profile->parsed()) {
              return run_diagnostics_profile(*profile_options, std::cout, std::cerr);
            }
            return run_diagnostics_endpoints(*options, std::cout, std::cerr);
          }};
}

}  // namespace trellis::cli
