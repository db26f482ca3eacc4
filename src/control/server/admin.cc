#include "control/server/admin.h"

#include <ctime>

#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>
#include <openssl/x509.h>

#include "control/traffic/check.h"
#include "metrics/text_format.h"
#include "tls/x509.h"

namespace trellis::control::server {
namespace {

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The subject's common name, or the whole subject (RFC 2253) when it has none.
std::string subject_of(const X509* cert) {
  const X509_NAME* name = X509_get_subject_name(cert);
  const int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (idx >= 0) {
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                       static_cast<size_t>(ASN1_STRING_length(data)));
  }
  BIO* bio = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
  char* ptr = nullptr;
  const long len = BIO_get_mem_data(bio, &ptr);
  std::string out(ptr, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

nlohmann::json cert_json(const X509* cert) {
  return {{"subject", subject_of(cert)}, {"notAfter", rfc3339(tls::not_after(cert))}};
}

}  // namespace

std::string rfc3339(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string url_path(const std::string& target) {
  return target.substr(0, target.find('?'));
}

std::string query_param(const std::string& target, const std::string& name) {
  const size_t q = target.find('?');
  if (q == std::string::npos) return {};
  std::string_view query(target);
  query.remove_prefix(q + 1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (percent_decode(pair.substr(0, eq)) == name) {
      return eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

std::string AdminService::status_json() const {
  nlohmann::json j;
  j["version"] = context_.version;
  j["controlNamespace"] = context_.domain.control_namespace;
  j["trustDomain"] = context_.domain.trust_domain;
  const auto snapshot = context_.store->snapshot();
  nlohmann::json errors = nlohmann::json::array();
  // Decode problems, then what the traffic policy compiler reports for the store's Services
  // (all-zero splits, shadowed route matches, ...), so `trellis check` shows both.
  std::vector<resources::Diagnostic> problems = snapshot->diagnostics;
  if (context_.resolver != nullptr) {
    control::traffic::CheckOptions traffic_options;
    traffic_options.cluster_domain = context_.resolver->options().cluster_domain;
    const auto traffic =
        control::traffic::check(destination::traffic_inputs(*snapshot), traffic_options);
    problems.insert(problems.end(), traffic.items().begin(), traffic.items().end());
  }
  for (const auto& d : problems) {
    errors.push_back({{"file", d.location.file},
                      {"line", d.location.line},
                      {"column", d.location.column},
                      {"severity", d.severity == resources::Severity::kError ? "error" : "warning"},
                      {"object", d.object.display()},
                      {"field", d.field},
                      {"message", d.field.empty() ? d.message : d.field + ": " + d.message}});
  }
  j["store"] = {{"dir", context_.store->description()},
                {"resources", snapshot->objects.size()},
                {"errors", errors}};
  nlohmann::json anchors = nlohmann::json::array();
  if (const auto ca = context_.ca ? context_.ca->current() : nullptr) {
    for (const auto& a : ca->anchors.certificates()) anchors.push_back(cert_json(a.get()));
    j["ca"] = {{"anchors", anchors}, {"issuer", cert_json(ca->issuer.ca.cert.get())}};
  }
  nlohmann::json proxies = nlohmann::json::array();
  if (context_.proxies) {
    for (const auto& p : context_.proxies->current(std::chrono::system_clock::now())) {
      proxies.push_back({{"identity", p.identity},
                         {"notAfter", rfc3339(p.not_after)},
                         {"version", p.version},
                         {"lastCertified", rfc3339(p.last_certified)}});
    }
  }
  j["proxies"] = proxies;
  return j.dump(2) + "\n";
}

std::string AdminService::endpoints_json(const std::string& path, const std::string& ns) const {
  const auto snapshot = context_.store->snapshot();
  const auto target =
      destination::parse_target(path, ns, context_.resolver->options().cluster_domain);
  const auto update = context_.resolver->resolve(*snapshot, target);
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.add_whitespace = true;
  (void)google::protobuf::util::MessageToJsonString(update, &out, options);
  return out;
}

std::string AdminService::profile_json(const std::string& path, const std::string& ns) const {
  const auto snapshot = context_.store->snapshot();
  const auto target =
      destination::parse_target(path, ns, context_.resolver->options().cluster_domain);
  const auto profile = context_.resolver->profile(*snapshot, target, ns);
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.add_whitespace = true;
  (void)google::protobuf::util::MessageToJsonString(profile, &out, options);
  return out;
}

net::awaitable<http::Response> AdminService::call(http::Request request) {
  const std::string path = url_path(request.head.path);
  if (request.head.method != "GET" && request.head.method != "HEAD") {
    co_return http::make_response(405, "method not allowed\n");
  }
  if (path == "/live") co_return http::make_response(200, "live\n");
  if (path == "/ready") {
    if (!ready()) co_return http::make_response(503, "not ready\n");
    co_return http::make_response(200, "ready\n");
  }
  if (path == "/metrics") {
    co_return http::make_response(200, context_.registry->render(),
                                  std::string(metrics::kTextContentType));
  }
  if (path == "/api/v1/status") {
    co_return http::make_response(200, status_json(), "application/json");
  }
  if (path == "/api/v1/endpoints") {
    const std::string target = query_param(request.head.path, "path");
    if (target.empty()) {
      co_return http::make_response(400, "{\"error\":\"the path parameter is required\"}\n",
                                    "application/json");
    }
    co_return http::make_response(
        200, endpoints_json(target, query_param(request.head.path, "ns")), "application/json");
  }
  if (path == "/api/v1/profile") {
    const std::string target = query_param(request.head.path, "path");
    if (target.empty()) {
      co_return http::make_response(400, "{\"error\":\"the path parameter is required\"}\n",
                                    "application/json");
    }
    co_return http::make_response(
        200, profile_json(target, query_param(request.head.path, "ns")), "application/json");
  }
  co_return http::make_response(404, "not found\n");
}

}  // namespace trellis::control::server
