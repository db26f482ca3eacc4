#include "demoapp/options.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>

#include <cctype>

namespace trellis::demoapp {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

template <typename T>
std::optional<T> parse_uint(std::string_view text) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::optional<double> parse_double(std::string_view text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  if (!std::isfinite(value)) return std::nullopt;
  return value;
}

base::Result<Duration, std::string> parse_duration_flag(std::string_view text) {
  auto d = base::parse_go_duration(text);
  if (!d) return base::unexpected(d.error());
  if (*d < Duration::zero()) {
    return base::unexpected("negative duration \"" + std::string(text) + "\"");
  }
  return *d;
}

// Runs CLI11 over `args` (program name and subcommand already removed). CLI11 2.x parses a
// vector given in reverse order.
std::optional<CliError> run_cli(CLI::App& app, const std::vector<std::string>& args) {
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    return CliError{0, app.help()};
  } catch (const CLI::ParseError& e) {
    return CliError{2, std::string(e.what()) + "\nRun with --help for more information."};
  }
  return std::nullopt;
}

CliError join_errors(const std::vector<std::string>& errors) {
  std::string message;
  for (const auto& e : errors) {
    if (!message.empty()) message += "\n";
    message += e;
  }
  return CliError{2, message};
}

}  // namespace

std::string Target::authority() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

base::Result<double, std::string> parse_fraction(std::string_view text) {
  auto v = parse_double(trim(text));
  if (!v || *v < 0 || *v > 1) {
    return base::unexpected("\"" + std::string(text) + "\" is not a fraction between 0 and 1");
  }
  return *v;
}

base::Result<RouteOverride, std::string> parse_route(std::string_view text) {
  // The prefix is a path, so it never contains ':' before the settings; split at the first ':'.
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return base::unexpected("route \"" + std::string(text) +
                            "\" must be PREFIX:key=value[,key=value...]");
  }
  RouteOverride route;
  route.prefix = std::string(trim(text.substr(0, colon)));
  if (route.prefix.empty() || route.prefix.front() != '/') {
    return base::unexpected("route prefix \"" + route.prefix + "\" must start with '/'");
  }
  std::string_view rest = text.substr(colon + 1);
  if (trim(rest).empty()) {
    return base::unexpected("route \"" + std::string(text) + "\" sets nothing");
  }
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view item = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return base::unexpected("route setting \"" + std::string(item) + "\" must be key=value");
    }
    const std::string_view key = trim(item.substr(0, eq));
    const std::string_view value = trim(item.substr(eq + 1));
    if (key == "latency") {
      auto d = parse_duration_flag(value);
      if (!d) return base::unexpected("route latency: " + d.error());
      route.latency = *d;
    } else if (key == "error-rate") {
      auto f = parse_fraction(value);
      if (!f) return base::unexpected("route error-rate: " + f.error());
      route.error_rate = *f;
    } else if (key == "status") {
      auto s = parse_uint<int>(value);
      if (!s || *s < 200 || *s > 599) {
        return base::unexpected("route status \"" + std::string(value) +
                                "\" must be between 200 and 599");
      }
      route.status = *s;
    } else if (key == "response-size") {
      auto n = parse_uint<size_t>(value);
      if (!n) return base::unexpected("route response-size \"" + std::string(value) +
                                      "\" is not a byte count");
      route.response_size = *n;
    } else {
      return base::unexpected("unknown route setting \"" + std::string(key) +
                              "\" (expected latency, error-rate, status, response-size)");
    }
  }
  return route;
}

base::Result<Target, std::string> parse_target(std::string_view url) {
  Target t;
  t.url = std::string(url);
  std::string_view rest = url;
  uint16_t default_port = 80;
  if (rest.starts_with("http://")) {
    t.kind = Target::Kind::kHttp;
    rest.remove_prefix(7);
  } else if (rest.starts_with("grpc://")) {
    t.kind = Target::Kind::kGrpc;
    rest.remove_prefix(7);
    default_port = 9090;
  } else {
    return base::unexpected("\"" + std::string(url) + "\": the scheme must be http:// or grpc://");
  }
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  t.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (authority.empty()) return base::unexpected("\"" + std::string(url) + "\" has no host");
  std::string_view port_text;
  if (authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return base::unexpected("\"" + std::string(url) + "\": unterminated IPv6 literal");
    }
    t.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return base::unexpected("\"" + std::string(url) + "\": bad authority");
      }
      port_text = after.substr(1);
    }
  } else {
    const size_t colon = authority.rfind(':');
    t.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (t.host.empty()) return base::unexpected("\"" + std::string(url) + "\" has no host");
  if (port_text.empty()) {
    t.port = default_port;
  } else {
    auto p = parse_uint<uint16_t>(port_text);
    if (!p || *p == 0) return base::unexpected("\"" + std::string(url) + "\": bad port");
    t.port = *p;
  }
  if (t.kind == Target::Kind::kGrpc && t.path != "/") {
    return base::unexpected("\"" + std::string(url) + "\": a grpc:// URL has no path");
  }
  return t;
}

base::Result<std::pair<std::string, std::string>, std::string> parse_header(std::string_view text) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return base::unexpected("header \"" + std::string(text) + "\" must be 'name: value'");
  }
  std::string name(trim(text.substr(0, colon)));
  if (name.empty()) return base::unexpected("header \"" + std::string(text) + "\" has no name");
  for (char& c : name) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const bool token = std::isalnum(static_cast<unsigned char>(c)) ||
                       std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!token) return base::unexpected("header name \"" + name + "\" is not a token");
  }
  return std::make_pair(name, std::string(trim(text.substr(colon + 1))));
}

base::Result<ServeOptions, CliError> parse_serve_args(const std::vector<std::string>& args) {
  ServeOptions o;
  CLI::App app{"trellis-demo-app serve: HTTP/1 + h2c + gRPC + TCP echo demo workload",
               "trellis-demo-app serve"};
  std::string latency = "0s", upstream_timeout = "5s", shutdown_timeout = "15s";
  std::string error_rate = "0";
  std::vector<std::string> routes, upstreams;
  uint64_t seed = 0;
  unsigned grpc_port = 0, tcp_port = 0, http_port = o.http_port;
  app.add_option("--bind", o.bind, "address to listen on")->capture_default_str();
  app.add_option("--http-port", http_port, "HTTP/1.1 + h2c port (0: any free port)")
      ->capture_default_str();
  app.add_option("--grpc-port", grpc_port, "gRPC (h2c) port");
  app.add_option("--tcp-port", tcp_port, "TCP echo port");
  app.add_option("--tcp-banner", o.tcp_banner, "text sent first on every TCP echo connection");
  app.add_option("--version", o.version, "version string reported in responses")
      ->capture_default_str();
  app.add_option("--name", o.name, "name reported in responses (default: the hostname)");
  app.add_option("--latency", latency, "latency added to every response (Go duration)")
      ->capture_default_str();
  app.add_option("--error-rate", error_rate, "fraction of responses that fail (500 / UNAVAILABLE)")
      ->capture_default_str();
  app.add_option("--response-size", o.response_size, "minimum response body size in bytes");
  app.add_option("--route", routes,
                 "per-route override PREFIX:latency=D,error-rate=F,status=N,response-size=N "
                 "(repeatable; the longest prefix wins)");
  app.add_option("--upstream", upstreams,
                 "http://host:port/path or grpc://host:port called for / and /api/... "
                 "(repeatable)");
  app.add_flag("--tolerate-upstream-errors", o.tolerate_upstream_errors,
               "answer 200 even when an upstream fails");
  app.add_option("--upstream-timeout", upstream_timeout, "deadline of one upstream call")
      ->capture_default_str();
  app.add_option("--seed", seed, "seed for fault-injection randomness (default: random)");
  app.add_option("--threads", o.threads, "worker threads, one io_context each")
      ->capture_default_str()
      ->check(CLI::Range(1u, 256u));
  app.add_option("--log-level", o.log_level, "trace, debug, info, warn, error, off")
      ->capture_default_str();
  app.add_option("--shutdown-timeout", shutdown_timeout,
                 "how long SIGTERM waits for in-flight requests")
      ->capture_default_str();
  if (auto e = run_cli(app, args)) return base::unexpected(*e);

  std::vector<std::string> errors;
  o.http_port = static_cast<uint16_t>(http_port);
  if (http_port > 65535) errors.push_back("--http-port: out of range");
  if (app.count("--grpc-port")) {
    if (grpc_port > 65535) errors.push_back("--grpc-port: out of range");
    o.grpc_port = static_cast<uint16_t>(grpc_port);
  }
  if (app.count("--tcp-port")) {
    if (tcp_port > 65535) errors.push_back("--tcp-port: out of range");
    o.tcp_port = static_cast<uint16_t>(tcp_port);
  }
  if (app.count("--seed")) o.seed = seed;
  auto set_duration = [&](const char* flag, const std::string& text, Duration& out) {
    auto d = parse_duration_flag(text);
    if (!d) {
      errors.push_back(std::string(flag) + ": " + d.error());
    } else {
      out = *d;
    }
  };
  set_duration("--latency", latency, o.latency);
  set_duration("--upstream-timeout", upstream_timeout, o.upstream_timeout);
  set_duration("--shutdown-timeout", shutdown_timeout, o.shutdown_timeout);
  if (auto f = parse_fraction(error_rate); f) {
    o.error_rate = *f;
  } else {
    errors.push_back("--error-rate: " + f.error());
  }
  for (const auto& r : routes) {
    auto parsed = parse_route(r);
    if (parsed) {
      o.routes.push_back(std::move(*parsed));
    } else {
      errors.push_back("--route: " + parsed.error());
    }
  }
  for (const auto& u : upstreams) {
    auto parsed = parse_target(u);
    if (parsed) {
      o.upstreams.push_back(std::move(*parsed));
    } else {
      errors.push_back("--upstream: " + parsed.error());
    }
  }
  if (!errors.empty()) return base::unexpected(join_errors(errors));
  return o;
}

base::Result<LoadOptions, CliError> parse_load_args(const std::vector<std::string>& args) {
  LoadOptions o;
  CLI::App app{"trellis-demo-app load: send requests at a fixed rate", "trellis-demo-app load"};
  std::string target, duration = "0s", timeout = "5s", report_interval = "10s";
  std::vector<std::string> headers;
  uint64_t max_failures = 0;
  app.add_option("--target", target, "http://host:port/path or grpc://host:port")->required();
  app.add_option("--rate", o.rate, "requests per second")->capture_default_str()
      ->check(CLI::Range(0.001, 1e6));
  app.add_option("--duration", duration, "how long to run (0: until SIGTERM)")
      ->capture_default_str();
  app.add_option("--concurrency", o.concurrency, "requests in flight at most")
      ->capture_default_str()
      ->check(CLI::Range(1u, 10000u));
  app.add_option("--method", o.method, "HTTP method")->capture_default_str();
  app.add_option("--header", headers, "request header 'name: value' (repeatable)");
  app.add_flag("--grpc", o.grpc, "gRPC unary trellis.demo.Demo/Hello calls");
  app.add_option("--max-failures", max_failures, "exit 1 once more requests than this failed");
  app.add_option("--timeout", timeout, "deadline of one request")->capture_default_str();
  app.add_option("--report-interval", report_interval, "summary line period")
      ->capture_default_str();
  app.add_option("--name", o.name, "name sent in gRPC requests")->capture_default_str();
  app.add_option("--log-level", o.log_level, "trace, debug, info, warn, error, off")
      ->capture_default_str();
  if (auto e = run_cli(app, args)) return base::unexpected(*e);

  std::vector<std::string> errors;
  if (auto t = parse_target(target); t) {
    o.target = std::move(*t);
    if (o.target.kind == Target::Kind::kGrpc) o.grpc = true;
  } else {
    errors.push_back("--target: " + t.error());
  }
  auto set_duration = [&](const char* flag, const std::string& text, Duration& out) {
    auto d = parse_duration_flag(text);
    if (!d) {
      errors.push_back(std::string(flag) + ": " + d.error());
    } else {
      out = *d;
    }
  };
  set_duration("--duration", duration, o.duration);
  set_duration("--timeout", timeout, o.timeout);
  set_duration("--report-interval", report_interval, o.report_interval);
  if (o.timeout <= Duration::zero()) errors.push_back("--timeout: must be positive");
  if (o.report_interval <= Duration::zero()) {
    errors.push_back("--report-interval: must be positive");
  }
  for (const auto& h : headers) {
    auto parsed = parse_header(h);
    if (parsed) {
      o.headers.push_back(std::move(*parsed));
    } else {
      errors.push_back("--header: " + parsed.error());
    }
  }
  if (app.count("--max-failures")) o.max_failures = max_failures;
  if (!errors.empty()) return base::unexpected(join_errors(errors));
  return o;
}

}  // namespace trellis::demoapp
