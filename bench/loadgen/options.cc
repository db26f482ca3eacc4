#include "loadgen/options.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <sstream>

#include "http/h1/chars.h"
#include "loadgen/request.h"

namespace trellis::bench::loadgen {
namespace {

using base::unexpected;
namespace h1 = http::h1;

constexpr uint32_t kDefaultH2Concurrency = 10;

bool is_origin_form_char(char c) { return c > 0x20 && c < 0x7f && c != '#'; }

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && h1::iequals(s.substr(0, prefix.size()), prefix);
}

// Fields the generator writes itself (framing, connection management, the authority): a user
// value would conflict with it or make a request the strict parsers on the far side reject.
bool is_reserved_header(std::string_view name) {
  return h1::is_hop_by_hop(name) || h1::iequals(name, "content-length") ||
         h1::iequals(name, "host");
}

base::Result<base::Duration, std::string> parse_duration_flag(std::string_view flag,
                                                              const std::string& text) {
  auto d = base::parse_go_duration(text);
  if (!d) return unexpected(fmt::format("{}: {}", flag, d.error()));
  if (d->count() < 0) return unexpected(fmt::format("{}: must not be negative", flag));
  return *d;
}

}  // namespace

std::string_view to_string(Protocol protocol) {
  switch (protocol) {
    case Protocol::kHttp1: return "http1";
    case Protocol::kH2c: return "h2c";
    case Protocol::kGrpc: return "grpc";
  }
  return "unknown";
}

base::Result<Target, std::string> parse_url(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (starts_with_ci(url, "https://")) {
    return unexpected(std::string("https is not supported: the generator speaks plaintext "
                                  "HTTP/1, h2c and gRPC over h2c"));
  }
  if (!starts_with_ci(url, kScheme)) {
    return unexpected(fmt::format("URL must start with http:// (got \"{}\")", url));
  }
  std::string_view rest = url.substr(kScheme.size());
  if (const size_t hash = rest.find('#'); hash != std::string_view::npos) {
    rest = rest.substr(0, hash);  // a fragment is never sent
  }
  const size_t path_start = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, path_start);
  std::string_view path =
      path_start == std::string_view::npos ? std::string_view() : rest.substr(path_start);

  if (authority.find('@') != std::string_view::npos) {
    return unexpected(std::string("URL must not contain userinfo"));
  }
  Target target;
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return unexpected(std::string("URL has an unterminated IPv6 literal"));
    }
    target.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return unexpected(std::string("URL has a malformed authority"));
      port_text = after.substr(1);
    }
  } else {
    const size_t colon = authority.find(':');
    target.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (target.host.empty()) return unexpected(std::string("URL has no host"));
  if (!port_text.empty() || authority.ends_with(':')) {
    unsigned port = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
      return unexpected(fmt::format("URL has an invalid port \"{}\"", port_text));
    }
    target.port = static_cast<uint16_t>(port);
  }
  if (!h1::is_valid_authority(authority, false)) {
    return unexpected(fmt::format("URL has an invalid authority \"{}\"", authority));
  }
  target.authority = std::string(authority);
  if (path.empty()) {
    target.path = "/";
  } else if (path.front() == '?') {
    target.path = "/" + std::string(path);
  } else {
    target.path = std::string(path);
  }
  for (char c : target.path) {
    if (!is_origin_form_char(c)) {
      return unexpected(std::string("URL path has a character that must be percent-encoded"));
    }
  }
  return target;
}

base::Result<Header, std::string> parse_header(std::string_view text) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return unexpected(fmt::format("--header \"{}\": expected \"name: value\"", text));
  }
  Header header{std::string(text.substr(0, colon)),
                std::string(h1::trim_ows(text.substr(colon + 1)))};
  if (!h1::is_valid_field_name(header.name)) {
    return unexpected(fmt::format("--header \"{}\": invalid field name", text));
  }
  if (!h1::is_valid_field_value(header.value)) {
    return unexpected(fmt::format("--header \"{}\": invalid field value", text));
  }
  if (is_reserved_header(header.name)) {
    return unexpected(fmt::format(
        "--header \"{}\": {} is written by the generator{}", text, header.name,
        h1::iequals(header.name, "host") ? " (use --host to change it)" : ""));
  }
  return header;
}

base::Result<Options, ParseFailure> parse_options(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  argv.push_back("trellis-loadgen");
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_options(static_cast<int>(argv.size()), argv.data());
}

base::Result<Options, ParseFailure> parse_options(int argc, const char* const* argv) {
  Options o;
  std::string protocol = "http1";
  std::string duration = "10s", warmup = "0s", timeout = "5s";
  std::vector<std::string> headers;
  std::string host;
  std::string grpc_hex;
  bool closed = false;
  uint32_t concurrency = kDefaultH2Concurrency;

  CLI::App app{
      "trellis-loadgen: open-loop (coordinated-omission corrected) and closed-loop load for "
      "HTTP/1.1, h2c and unary gRPC. See bench/README.md.",
      "trellis-loadgen"};
  app.add_option("url", o.url, "target, e.g. http://127.0.0.1:8080/path")->required();
  app.add_option("--protocol", protocol, "http1 | h2c | grpc (default http1)");
  auto* rate = app.add_option("--rate,-R", o.rate,
                              "requests/s over the whole run, open loop; 0 = closed loop");
  app.add_flag("--closed", closed, "closed loop: send as soon as the previous response ends");
  app.add_option("--duration,-d", duration, "measured time, Go syntax (default 10s)");
  app.add_option("--warmup", warmup, "unmeasured time before it (default 0s)");
  app.add_option("--timeout", timeout, "per request, from its send (default 5s)");
  app.add_option("--connections,-c", o.connections, "connections (default 10)");
  app.add_option("--threads,-t", o.threads, "threads, one io_context each (default 1)");
  auto* concurrency_opt = app.add_option(
      "--concurrency,-m", concurrency, "h2c/grpc: requests in flight per connection (default 10)");
  app.add_option("--jitter", o.jitter,
                 "open loop: delay each send by up to this fraction of a connection's interval");
  app.add_option("--seed", o.seed, "jitter seed (default 1)");
  app.add_option("--header,-H", headers, "\"name: value\", repeatable");
  app.add_option("--host", host, "Host / :authority value (default: from the URL)");
  app.add_option("--method", o.method, "request method (default GET; gRPC: POST)");
  app.add_option("--body", o.body, "request body (http1, h2c)");
  app.add_option("--grpc-body-hex", grpc_hex, "gRPC request message as hex (default empty)");
  app.add_flag("--include-errors", o.include_errors, "record failed requests' latency too");
  app.add_option("--json", o.json_path, "write every figure as JSON to this file");
  app.add_flag("--quiet,-q", o.quiet, "no human summary");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::ostringstream out, err;
    // CLI11 has an exit code per error kind; callers only need help (0) vs usage error (2).
    const int code = app.exit(e, out, err) == 0 ? 0 : 2;
    return unexpected(ParseFailure{code, out.str() + err.str()});
  }

  auto fail = [](std::string message) { return unexpected(ParseFailure{2, std::move(message)}); };

  if (protocol == "http1") {
    o.protocol = Protocol::kHttp1;
  } else if (protocol == "h2c") {
    o.protocol = Protocol::kH2c;
  } else if (protocol == "grpc") {
    o.protocol = Protocol::kGrpc;
  } else {
    return fail(fmt::format("--protocol: unknown \"{}\" (http1, h2c or grpc)", protocol));
  }

  auto target = parse_url(o.url);
  if (!target) return fail(target.error());
  o.target = std::move(*target);

  if (rate->count() == 0 && !closed) {
    return fail("give a rate (--rate R, open loop) or --closed (closed loop)");
  }
  if (!std::isfinite(o.rate) || o.rate < 0) return fail("--rate must be >= 0");
  if (closed && o.rate > 0) return fail("--closed and --rate R > 0 contradict each other");

  for (auto [flag, text, out] : {std::tuple{"--duration", &duration, &o.duration},
                                 std::tuple{"--warmup", &warmup, &o.warmup},
                                 std::tuple{"--timeout", &timeout, &o.timeout}}) {
    auto d = parse_duration_flag(flag, *text);
    if (!d) return fail(d.error());
    *out = *d;
  }
  if (o.duration.count() == 0) return fail("--duration must be > 0");
  if (o.timeout.count() == 0) return fail("--timeout must be > 0");

  if (o.connections == 0) return fail("--connections must be >= 1");
  if (o.threads == 0) return fail("--threads must be >= 1");
  if (o.threads > o.connections) {
    return fail("--threads must not exceed --connections (a thread needs a connection)");
  }
  if (o.protocol == Protocol::kHttp1) {
    if (concurrency_opt->count() > 0 && concurrency != 1) {
      return fail("--concurrency: HTTP/1 has one request in flight per connection (no "
                  "pipelining); use more --connections");
    }
    o.concurrency = 1;
  } else {
    if (concurrency == 0) return fail("--concurrency must be >= 1");
    o.concurrency = concurrency;
  }
  if (!(o.jitter >= 0 && o.jitter <= 1)) return fail("--jitter must be in [0, 1]");
  if (o.jitter > 0 && o.closed_loop()) return fail("--jitter applies to open loop (--rate R)");

  for (const auto& text : headers) {
    auto header = parse_header(text);
    if (!header) return fail(header.error());
    o.headers.push_back(std::move(*header));
  }
  if (!host.empty()) {
    if (!h1::is_valid_authority(host, false)) return fail("--host: not a valid host[:port]");
    o.authority = host;
  } else {
    o.authority = o.target.authority;
  }

  if (o.protocol == Protocol::kGrpc) {
    if (o.method.empty()) o.method = "POST";
    if (o.method != "POST") return fail("--method: gRPC requests are POST");
    if (!o.body.empty()) return fail("--body: gRPC takes its message from --grpc-body-hex");
    auto message = decode_hex(grpc_hex);
    if (!message) return fail("--grpc-body-hex: " + message.error());
    o.grpc_message = std::move(*message);
  } else {
    if (!grpc_hex.empty()) return fail("--grpc-body-hex needs --protocol grpc");
    if (o.method.empty()) o.method = "GET";
    if (!h1::is_token(o.method)) return fail("--method: not a valid method token");
    if (o.method == "CONNECT") return fail("--method: CONNECT is not a request to load-test");
  }
  return o;
}

}  // namespace trellis::bench::loadgen
