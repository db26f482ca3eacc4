#include "loadgen/report.h"

#include <fmt/format.h>

#include <chrono>

namespace trellis::bench::loadgen {
namespace {

constexpr Outcome kErrorOutcomes[] = {Outcome::kStatus, Outcome::kGrpcStatus, Outcome::kProtocol,
                                      Outcome::kReset,  Outcome::kTimeout,    Outcome::kIo};

double micros(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

double seconds(base::Duration d) { return std::chrono::duration<double>(d).count(); }

nlohmann::json histogram_json(const Histogram& h) {
  nlohmann::json j = {
      {"count", h.count()},      {"min", micros(h.min())},  {"mean", h.mean() / 1000.0},
      {"max", micros(h.max())},  {"saturated", h.saturated()},
  };
  for (const auto& p : kReportedPercentiles) j[p.key] = micros(h.value_at_percentile(p.percentile));
  return j;
}

std::string histogram_line(const Histogram& h) {
  std::string line = fmt::format("    count {}  mean {:.1f}  min {:.1f}  max {:.1f}\n    ",
                                 h.count(), h.mean() / 1000.0, micros(h.min()), micros(h.max()));
  for (const auto& p : kReportedPercentiles) {
    line += fmt::format("{} {:.1f}  ", p.key, micros(h.value_at_percentile(p.percentile)));
  }
  line.resize(line.size() - 2);
  if (h.saturated() > 0) line += fmt::format("  ({} above 100 s)", h.saturated());
  return line + "\n";
}

}  // namespace

std::string format_summary(const Report& report) {
  const Options& o = report.options;
  const Recorder& t = report.totals;
  std::string out;
  out += fmt::format("trellis-loadgen {} {} -> {}\n", to_string(o.protocol), o.url,
                     report.endpoint);
  out += fmt::format(
      "  {}, {} connections, {} threads{}, duration {}, warmup {}, timeout {}{}\n",
      o.closed_loop() ? std::string("closed loop") : fmt::format("open loop {} req/s", o.rate),
      o.connections, o.threads,
      o.protocol == Protocol::kHttp1 ? "" : fmt::format(", {} in flight/conn", o.concurrency),
      base::format_go_duration(o.duration), base::format_go_duration(o.warmup),
      base::format_go_duration(o.timeout),
      o.jitter > 0 ? fmt::format(", jitter {}", o.jitter) : "");
  out += fmt::format("Requests  planned {}  sent {}  unsent {}  completed {}  (warmup {})\n",
                     report.planned(), t.sent(), t.unsent(), t.completed(), t.warmup_requests());
  if (o.closed_loop()) {
    out += fmt::format("Rate      achieved {:.1f} req/s over {:.3f} s\n", report.achieved_rps(),
                       report.elapsed_seconds());
  } else {
    out += fmt::format("Rate      target {:.1f} req/s  achieved {:.1f} req/s over {:.3f} s\n",
                       o.rate, report.achieved_rps(), report.elapsed_seconds());
  }
  out += fmt::format("Outcomes  ok {}  errors {}:", t.count(Outcome::kOk), t.errors());
  for (Outcome e : kErrorOutcomes) out += fmt::format(" {} {}", to_string(e), t.count(e));
  out += "\n";
  if (!t.statuses().empty()) {
    out += "  non-2xx:";
    for (const auto& [status, n] : t.statuses()) out += fmt::format(" {}x{}", status, n);
    out += "\n";
  }
  out += fmt::format("Connect   opened {}  errors {}\n", t.connections_opened(),
                     t.connect_errors());
  out += fmt::format("Latency (us, from the planned send time{})\n",
                     o.include_errors ? "; errors included" : "; successful requests only");
  out += histogram_line(t.latency());
  out += "Send delay (us, planned -> actual send)\n";
  out += histogram_line(t.send_delay());
  if (t.unsent() > 0) {
    out += fmt::format("WARNING: {} requests were never sent: the target could not keep up with "
                       "the rate (or was unreachable)\n", t.unsent());
  }
  for (const auto& failure : report.failures) {
    out += fmt::format("INTERNAL ERROR in a connection: {}\n", failure);
  }
  return out;
}

nlohmann::json to_json(const Report& report) {
  const Options& o = report.options;
  const Recorder& t = report.totals;
  nlohmann::json headers = nlohmann::json::array();
  for (const Header& h : o.headers) headers.push_back(h.name + ": " + h.value);

  nlohmann::json j;
  j["tool"] = "trellis-loadgen";
  j["format_version"] = 1;
  j["config"] = {
      {"url", o.url},
      {"endpoint", report.endpoint},
      {"protocol", to_string(o.protocol)},
      {"mode", o.closed_loop() ? "closed" : "open"},
      {"rate", o.rate},
      {"connections", o.connections},
      {"threads", o.threads},
      {"concurrency", o.concurrency},
      {"duration_s", seconds(o.duration)},
      {"warmup_s", seconds(o.warmup)},
      {"timeout_s", seconds(o.timeout)},
      {"jitter", o.jitter},
      {"seed", o.seed},
      {"method", o.method},
      {"authority", o.authority},
      {"headers", headers},
      {"body_bytes", o.protocol == Protocol::kGrpc ? o.grpc_message.size() : o.body.size()},
      {"include_errors", o.include_errors},
  };
  j["requests"] = {
      {"planned", report.planned()}, {"sent", t.sent()},     {"unsent", t.unsent()},
      {"completed", t.completed()},  {"ok", t.count(Outcome::kOk)}, {"errors", t.errors()},
      {"warmup", t.warmup_requests()},
  };
  nlohmann::json errors = {{"connect", t.connect_errors()}};
  for (Outcome e : kErrorOutcomes) errors[std::string(to_string(e))] = t.count(e);
  j["errors"] = errors;
  nlohmann::json statuses = nlohmann::json::object();
  for (const auto& [status, n] : t.statuses()) statuses[std::to_string(status)] = n;
  j["status_codes"] = statuses;
  j["connections"] = {{"opened", t.connections_opened()}, {"connect_errors", t.connect_errors()}};
  j["rate"] = {
      {"target_rps", o.closed_loop() ? nlohmann::json(nullptr) : nlohmann::json(o.rate)},
      {"achieved_rps", report.achieved_rps()},
      {"elapsed_s", report.elapsed_seconds()},
  };
  j["latency_us"] = histogram_json(t.latency());
  j["send_delay_us"] = histogram_json(t.send_delay());
  nlohmann::json buckets = nlohmann::json::array();
  for (const auto& b : t.latency().nonempty_buckets()) {
    buckets.push_back({b.lowest_ns, b.highest_ns, b.count});
  }
  // [lowest_ns, highest_ns, count] per non-empty bucket: runs can be pooled by adding counts.
  j["latency_histogram_ns"] = buckets;
  j["failures"] = report.failures;
  return j;
}

}  // namespace trellis::bench::loadgen
