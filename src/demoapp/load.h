#pragma once
// `trellis-demo-app load`: requests at a fixed rate over keep-alive connections (an HTTP/1 pool,
// or one h2c session for gRPC Hello calls), at most --concurrency in flight (a tick that finds
// the limit reached is skipped and counted), every request bounded by --timeout. Prints a
// summary line every --report-interval and at exit.

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "demoapp/options.h"
#include "demoapp/upstream.h"
#include "http/h1conn/pool.h"
#include "net/asio.h"

namespace trellis::demoapp {

class LoadStats {
 public:
  void record_success(double latency_ms);
  // `reason`: the HTTP status ("500"), "grpc_14", or a transport error ("timeout", "connect").
  void record_failure(const std::string& reason, double latency_ms);
  void record_skipped() { ++skipped_; }

  uint64_t requests() const { return successes_ + failures_; }
  uint64_t successes() const { return successes_; }
  uint64_t failures() const { return failures_; }
  uint64_t skipped() const { return skipped_; }
  const std::map<std::string, uint64_t>& failures_by_reason() const { return by_reason_; }
  // Latency percentile in milliseconds over the recorded samples (0 without samples).
  double percentile(double p) const;
  // "requests=N success=S failures=F (500=3 timeout=1) skipped=K p50=1.20ms p99=4.80ms"
  std::string summary() const;

 private:
  void add_sample(double ms);

  uint64_t successes_ = 0;
  uint64_t failures_ = 0;
  uint64_t skipped_ = 0;
  std::map<std::string, uint64_t> by_reason_;
  // A bounded reservoir: at most kMaxSamples latencies, uniformly sampled beyond that.
  static constexpr size_t kMaxSamples = 200000;
  std::vector<double> samples_;
  uint64_t seen_ = 0;
  std::mt19937_64 rng_{42};
};

class LoadGenerator {
 public:
  LoadGenerator(net::asio::any_io_executor executor, const LoadOptions& options);
  ~LoadGenerator();

  // Sends until --duration elapses, stop() is called, or --max-failures is exceeded; waits for
  // the requests in flight; returns the exit code (1 when max-failures was exceeded).
  net::awaitable<int> run();
  void stop();
  const LoadStats& stats() const { return stats_; }

 private:
  net::awaitable<void> one_request();
  net::awaitable<void> reporter();
  void print(const char* label);

  net::asio::any_io_executor executor_;
  const LoadOptions& options_;
  std::unique_ptr<http::h1::Pool> pool_;
  std::unique_ptr<GrpcChannel> channel_;
  std::optional<net::SocketAddress> address_;
  LoadStats stats_;
  size_t in_flight_ = 0;
  bool stopped_ = false;
  bool exceeded_ = false;
  std::chrono::steady_clock::time_point started_;
  net::asio::steady_timer wake_;          // cut short by stop()
  net::asio::steady_timer report_timer_;  // cut short by stop()
};

// Runs load mode until done or SIGTERM/SIGINT; returns the process exit code.
int run_load(const LoadOptions& options);

}  // namespace trellis::demoapp
