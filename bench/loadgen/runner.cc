#include "loadgen/runner.h"

#include <fmt/format.h>
#include <sys/prctl.h>

#include <algorithm>
#include <latch>
#include <memory>
#include <thread>

#include "loadgen/http1_connection.h"
#include "loadgen/http2_connection.h"
#include "loadgen/request.h"

namespace trellis::bench::loadgen {
namespace {

namespace asio = net::asio;
using base::unexpected;

// Lets the runner's post reach every thread before the first request is due.
constexpr Duration kStartLead = std::chrono::milliseconds(2);

base::Result<net::tcp::endpoint, std::string> resolve(const Target& target) {
  net::error_code ec;
  const auto address = asio::ip::make_address(target.host, ec);
  if (!ec) return net::tcp::endpoint(address, target.port);
  asio::io_context io;
  net::tcp::resolver resolver(io);
  const auto results = resolver.resolve(target.host, std::to_string(target.port), ec);
  if (ec || results.empty()) {
    return unexpected(fmt::format("cannot resolve {}: {}", target.host,
                                  ec ? ec.message() : "no address"));
  }
  return results.begin()->endpoint();  // one endpoint for the whole run
}

struct Worker {
  Worker(bool include_errors, std::latch& ready)
      : io(1), recorder(include_errors), gate(io.get_executor(), ready) {}

  asio::io_context io;
  Recorder recorder;
  StartGate gate;
  std::vector<std::unique_ptr<Connection>> connections;
};

}  // namespace

double Report::elapsed_seconds() const {
  Duration elapsed = options.duration;
  if (totals.last_done() > measure_start) {
    elapsed = std::max(elapsed, Duration(totals.last_done() - measure_start));
  }
  return std::chrono::duration<double>(elapsed).count();
}

double Report::achieved_rps() const {
  const double seconds = elapsed_seconds();
  return seconds > 0 ? static_cast<double>(totals.completed()) / seconds : 0.0;
}

uint64_t Report::planned() const {
  return options.closed_loop() ? totals.sent() : totals.planned();
}

base::Result<RunContext, std::string> make_run_context(const Options& options) {
  RunContext context;
  context.protocol = options.protocol;
  const RequestSpec spec = make_request_spec(options);
  if (options.protocol == Protocol::kHttp1) {
    auto bytes = serialize_http1_request(spec);
    if (!bytes) return unexpected("request: " + bytes.error());
    context.http1_request = std::move(*bytes);
    context.head_request = spec.method == "HEAD";
  } else {
    auto headers = http2_headers(spec);
    if (!headers) return unexpected("request: " + headers.error());
    context.http2_headers = std::move(*headers);
    context.body = spec.body;
  }
  auto endpoint = resolve(options.target);
  if (!endpoint) return unexpected(endpoint.error());
  context.endpoint = *endpoint;
  context.timeout = options.timeout;
  context.plan = Plan{
      .rate = options.rate,
      .connections = options.connections,
      .warmup = options.warmup,
      .duration = options.duration,
      // A backlog may still be sent for one timeout after the window: by then a request sent
      // late would already have timed out had it been sent on time.
      .grace = options.timeout,
      .max_in_flight = options.concurrency,
      .jitter = options.jitter,
      .seed = options.seed,
  };
  return context;
}

base::Result<Report, std::string> run(const Options& options) {
  // parse_options() guarantees these; a programmatic caller might not.
  if (options.connections == 0 || options.threads == 0 || options.threads > options.connections ||
      options.concurrency == 0 || options.duration.count() <= 0 || options.timeout.count() <= 0) {
    return unexpected(std::string("invalid options: connections, threads, concurrency, "
                                  "duration and timeout must be positive, threads <= connections"));
  }
  auto context = make_run_context(options);
  if (!context) return unexpected(context.error());

  std::latch ready(options.connections);
  std::vector<std::unique_ptr<Worker>> workers;
  for (uint32_t t = 0; t < options.threads; ++t) {
    workers.push_back(std::make_unique<Worker>(options.include_errors, ready));
  }
  for (uint32_t c = 0; c < options.connections; ++c) {
    Worker& worker = *workers[c % options.threads];
    std::unique_ptr<Connection> connection;
    if (options.protocol == Protocol::kHttp1) {
      connection = std::make_unique<Http1Connection>(*context, c, worker.recorder, worker.gate);
    } else {
      connection = std::make_unique<Http2Connection>(*context, c, worker.recorder, worker.gate);
    }
    asio::co_spawn(worker.io, connection->run(), asio::detached);
    worker.connections.push_back(std::move(connection));
  }

  std::vector<std::thread> threads;
  for (auto& worker : workers) {
    threads.emplace_back([&io = worker->io] {
      // Linux lets a timer fire up to 50 us late by default (timer slack), which would show up
      // as send delay in open loop; 1 ns asks for the precision the schedule needs.
      prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
      io.run();
    });
  }
  // Every connection has tried to connect (bounded by --timeout); start them together.
  ready.wait();
  const TimePoint start = Clock::now() + kStartLead;
  for (auto& worker : workers) {
    asio::post(worker->io, [&gate = worker->gate, start] { gate.open(start); });
  }
  for (auto& thread : threads) thread.join();

  Report report;
  report.options = options;
  const auto address = context->endpoint.address();
  const uint16_t port = context->endpoint.port();
  report.endpoint = address.is_v6() ? fmt::format("[{}]:{}", address.to_string(), port)
                                    : fmt::format("{}:{}", address.to_string(), port);
  report.totals = Recorder(options.include_errors);
  report.measure_start = start + options.warmup;
  for (const auto& worker : workers) {
    report.totals.merge(worker->recorder);
    for (const auto& connection : worker->connections) {
      if (!connection->failure().empty()) report.failures.push_back(connection->failure());
    }
  }
  return report;
}

}  // namespace trellis::bench::loadgen
