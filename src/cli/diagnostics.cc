#include "cli/diagnostics.h"

#include <algorithm>
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

}  // namespace

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
  return {cmd, [options] { return run_diagnostics_endpoints(*options, std::cout, std::cerr); }};
}

}  // namespace trellis::cli
