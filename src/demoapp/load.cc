#include "demoapp/load.h"

#include <algorithm>
#include <csignal>
#include <cstdio>

#include <fmt/format.h>

#include "base/log.h"

// GCC 12 at -O2 flags Asio's awaitable frame operator delete as "mismatched" once it inlines
// the frame allocation (a known false positive with coroutines, as in http/h1conn).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace trellis::demoapp {
namespace {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds to_ms(Duration d) {
  return std::max(std::chrono::milliseconds(1), std::chrono::ceil<std::chrono::milliseconds>(d));
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

// ---- LoadStats -----------------------------------------------------------------------------

void LoadStats::add_sample(double ms) {
  ++seen_;
  if (samples_.size() < kMaxSamples) {
    samples_.push_back(ms);
    return;
  }
  const uint64_t slot = rng_() % seen_;
  if (slot < kMaxSamples) samples_[slot] = ms;
}

void LoadStats::record_success(double latency_ms) {
  ++successes_;
  add_sample(latency_ms);
}

void LoadStats::record_failure(const std::string& reason, double latency_ms) {
  ++failures_;
  ++by_reason_[reason];
  add_sample(latency_ms);
}

double LoadStats::percentile(double p) const {
  if (samples_.empty()) return 0;
  std::vector<double> sorted = samples_;
  // Nearest rank: the smallest sample with at least p% of the samples at or below it.
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<ptrdiff_t>(rank - 1), sorted.end());
  return sorted[rank - 1];
}

std::string LoadStats::summary() const {
  std::string reasons;
  for (const auto& [reason, count] : by_reason_) {
    reasons += fmt::format("{}{}={}", reasons.empty() ? "" : " ", reason, count);
  }
  return fmt::format("requests={} success={} failures={} ({}) skipped={} p50={:.2f}ms p99={:.2f}ms",
                     requests(), successes_, failures_, reasons, skipped_, percentile(50),
                     percentile(99));
}

// ---- LoadGenerator -------------------------------------------------------------------------

LoadGenerator::LoadGenerator(net::asio::any_io_executor executor, const LoadOptions& options)
    : executor_(executor),
      options_(options),
      wake_(executor, net::asio::steady_timer::time_point::max()),
      report_timer_(executor) {
  if (options.grpc) {
    channel_ = std::make_unique<GrpcChannel>(executor, options.target, options.timeout);
  }
}

LoadGenerator::~LoadGenerator() = default;

void LoadGenerator::stop() {
  stopped_ = true;
  wake_.cancel();
  report_timer_.cancel();
}

void LoadGenerator::print(const char* label) {
  const double elapsed = std::chrono::duration<double>(Clock::now() - started_).count();
  std::printf("load %s: target=%s elapsed=%.1fs %s\n", label, options_.target.url.c_str(), elapsed,
              stats_.summary().c_str());
  std::fflush(stdout);
}

net::awaitable<void> LoadGenerator::one_request() {
  const auto start = Clock::now();
  if (options_.grpc) {
    http::Headers headers;
    for (const auto& [k, v] : options_.headers) headers.add(k, v);
    UpstreamResult r = co_await grpc_hello(*channel_, options_.target, options_.name,
                                           options_.timeout, headers);
    if (r.ok) {
      stats_.record_success(r.latency_ms);
    } else if (r.grpc_status > 0) {
      stats_.record_failure("grpc_" + std::to_string(r.grpc_status), r.latency_ms);
    } else {
      stats_.record_failure(r.error.starts_with("timeout") ? "timeout" : "error", r.latency_ms);
    }
  } else {
    if (!address_) {
      auto a = co_await resolve(executor_, options_.target.host, options_.target.port,
                                options_.timeout);
      if (!a) {
        TRELLIS_LOG_DEBUG("{}", a.error());
        stats_.record_failure("resolve", ms_since(start));
        co_return;
      }
      if (!address_) {
        address_ = *a;
        http::h1::PoolOptions po;
        po.connect_timeout = to_ms(options_.timeout);
        po.client.response_timeout = to_ms(options_.timeout);
        po.client.body_read_timeout = to_ms(options_.timeout);
        po.client.write_timeout = to_ms(options_.timeout);
        pool_ = std::make_unique<http::h1::Pool>(executor_, *address_, po);
      }
    }
    http::Request req;
    req.head.method = options_.method;
    req.head.scheme = "http";
    req.head.authority = options_.target.authority();
    req.head.path = options_.target.path;
    for (const auto& [k, v] : options_.headers) {
      if (k == "host") {
        req.head.authority = v;
      } else {
        req.head.headers.add(k, v);
      }
    }
    if (!req.head.headers.contains("user-agent")) {
      req.head.headers.add("user-agent", "trellis-demo-app-load");
    }
    req.body = http::make_empty_body();
    auto r = co_await pool_->send(std::move(req));
    if (!r) {
      stats_.record_failure(http::h1::to_string(r.error().kind), ms_since(start));
    } else {
      auto body = co_await http::read_all(*r->body, 16 * 1024 * 1024);
      const int status = r->head.status;
      if (!body) {
        stats_.record_failure(std::string("body_") + http::to_string(body.error()),
                              ms_since(start));
      } else if (status >= 200 && status < 400) {
        stats_.record_success(ms_since(start));
      } else {
        stats_.record_failure(std::to_string(status), ms_since(start));
      }
    }
  }
  if (options_.max_failures && stats_.failures() > *options_.max_failures && !exceeded_) {
    exceeded_ = true;
    std::printf("load: %llu failures exceed --max-failures=%llu\n",
                static_cast<unsigned long long>(stats_.failures()),
                static_cast<unsigned long long>(*options_.max_failures));
    std::fflush(stdout);
    stop();
  }
}

net::awaitable<void> LoadGenerator::reporter() {
  auto next = Clock::now() + options_.report_interval;
  while (!stopped_) {
    report_timer_.expires_at(next);
    co_await report_timer_.async_wait(net::use_nothrow);
    if (stopped_) break;
    print("report");
    next += options_.report_interval;
  }
}

net::awaitable<int> LoadGenerator::run() {
  using namespace net::asio::experimental::awaitable_operators;
  started_ = Clock::now();
  const auto interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(1.0 / options_.rate));
  const std::optional<Clock::time_point> end =
      options_.duration > Duration::zero()
          ? std::optional(started_ + std::chrono::duration_cast<Clock::duration>(options_.duration))
          : std::nullopt;

  // The reporter ends when stop() cancels its timer.
  net::asio::co_spawn(executor_, reporter(), net::asio::detached);
  auto next = started_;
  while (!stopped_) {
    const auto now = Clock::now();
    if (end && now >= *end) break;
    if (now >= next) {
      if (in_flight_ < options_.concurrency) {
        ++in_flight_;
        net::asio::co_spawn(executor_, one_request(), [this](std::exception_ptr) { --in_flight_; });
      } else {
        stats_.record_skipped();
      }
      next += interval;
      // Far behind (the process was stalled): don't burst to catch up.
      if (Clock::now() - next > std::chrono::seconds(1)) next = Clock::now();
      continue;
    }
    wake_.expires_at(end ? std::min(next, *end) : next);
    co_await wake_.async_wait(net::use_nothrow);
  }
  stop();
  // Requests in flight end within their timeouts; wait for them (with a margin).
  const auto wait_until = Clock::now() + options_.timeout + std::chrono::seconds(2);
  net::asio::steady_timer timer(executor_);
  while (in_flight_ > 0 && Clock::now() < wait_until) {
    timer.expires_after(std::chrono::milliseconds(10));
    co_await timer.async_wait(net::use_nothrow);
  }
  print("done");
  if (in_flight_ == 0) pool_.reset();  // closes idle connections
  if (channel_) channel_->close();
  co_return exceeded_ ? 1 : 0;
}

int run_load(const LoadOptions& options) {
  std::signal(SIGPIPE, SIG_IGN);
  net::asio::io_context io(1);
  LoadGenerator generator(io.get_executor(), options);
  net::asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const net::error_code& ec, int) {
    if (!ec) generator.stop();
  });
  int code = 0;
  bool finished = false;
  net::asio::co_spawn(io, generator.run(), [&](std::exception_ptr e, int rc) {
    finished = true;
    code = e ? 1 : rc;
    signals.cancel();
  });
  io.run();
  return finished ? code : 1;
}

}  // namespace trellis::demoapp
