#include "demoapp/service.h"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "demoapp/grpc_codec.h"
#include "demoapp/responses.h"
#include "http/h2/grpc.h"

// GCC 12 at -O2 flags Asio's awaitable frame operator delete as "mismatched" once it inlines
// the frame allocation (a known false positive with coroutines, as in http/h1conn).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace trellis::demoapp {
namespace {

using http::h2::GrpcStatus;
using Clock = std::chrono::steady_clock;

net::awaitable<void> sleep_for(net::asio::any_io_executor executor, Duration d) {
  if (d <= Duration::zero()) co_return;
  net::asio::steady_timer timer(executor);
  timer.expires_after(d);
  co_await timer.async_wait(net::use_nothrow);
}

// Server streaming: one framed JSON reply per next(), `interval` apart, then the trailers.
// Stops with DEADLINE_EXCEEDED when the next message would be sent after the deadline.
class StreamReplyBody final : public http::Body {
 public:
  StreamReplyBody(net::asio::any_io_executor executor, std::string version, std::string name,
                  GrpcRequest request, std::string client_id,
                  std::optional<Clock::time_point> deadline)
      : executor_(std::move(executor)),
        version_(std::move(version)),
        name_(std::move(name)),
        request_(std::move(request)),
        client_id_(std::move(client_id)),
        deadline_(deadline) {}

  net::awaitable<base::Result<http::BodyChunk, http::BodyError>> next() override {
    if (index_ < request_.count) {
      if (index_ > 0 && request_.interval > Duration::zero()) {
        if (deadline_ && Clock::now() + request_.interval > *deadline_) {
          co_await sleep_for(executor_, *deadline_ - Clock::now());
          co_return end(GrpcStatus::kDeadlineExceeded, "deadline exceeded");
        }
        co_await sleep_for(executor_, request_.interval);
      }
      http::BodyChunk chunk;
      chunk.data =
          grpc_frame(render_grpc_reply(version_, name_, request_.name, index_++, client_id_));
      co_return chunk;
    }
    co_return end(GrpcStatus::kOk, "");
  }

 private:
  static http::BodyChunk end(GrpcStatus status, std::string_view message) {
    http::BodyChunk chunk;
    chunk.end_of_stream = true;
    chunk.trailers.add("grpc-status", std::to_string(static_cast<int>(status)));
    if (!message.empty()) chunk.trailers.add("grpc-message", message);
    return chunk;
  }

  net::asio::any_io_executor executor_;
  std::string version_;
  std::string name_;
  GrpcRequest request_;
  std::string client_id_;
  std::optional<Clock::time_point> deadline_;
  uint64_t index_ = 0;
};

}  // namespace

std::string default_name(const ServeOptions& options) {
  if (!options.name.empty()) return options.name;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) == 0 && host[0] != '\0') return host;
  return "trellis-demo-app";
}

DemoService::DemoService(net::asio::any_io_executor executor, const ServeOptions& options,
                         std::string name, uint64_t seed, Upstreams* upstreams)
    : executor_(std::move(executor)),
      options_(options),
      name_(std::move(name)),
      faults_(options, seed),
      upstreams_(upstreams) {}

net::awaitable<http::Response> DemoService::call(http::Request request) {
  ++requests_;
  ++in_flight_;
  struct Guard {
    size_t& n;
    ~Guard() { --n; }
  } guard{in_flight_};
  TRELLIS_LOG_DEBUG("[C{}][S{}] {} {}", request.connection ? request.connection->id : 0,
                    request.stream_id, request.head.method, request.head.path);
  if (http::h2::is_grpc(request.head.headers)) co_return co_await serve_grpc(std::move(request));
  co_return co_await serve_http(std::move(request));
}

http::Response DemoService::finish_http(int status, std::string body) {
  http::Response r = http::make_response(status, std::move(body), "application/json");
  r.head.headers.set("x-demo-version", options_.version);
  r.head.headers.set("x-demo-name", name_);
  return r;
}

net::awaitable<http::Response> DemoService::serve_http(http::Request request) {
  const std::string_view path = path_only(request.head.path);
  if (path == "/ready" || path == "/live") {
    http::Response r = http::make_response(200, "ok\n");
    r.head.headers.set("x-demo-version", options_.version);
    co_return r;
  }

  InfoDocument doc;
  doc.version = options_.version;
  doc.name = name_;
  doc.method = request.head.method;
  doc.path = request.head.path;
  if (auto id = request.head.headers.get("l5d-client-id")) doc.client_id = std::string(*id);

  auto body = co_await http::read_all(*request.body, kMaxRequestBody);
  if (!body) {
    const int status = body.error() == http::BodyError::kTooLarge ? 413 : 400;
    doc.status = status;
    doc.error = std::string("request body: ") + http::to_string(body.error());
    co_return finish_http(status, render_info(doc));
  }
  doc.request_bytes = body->data.size();

  FaultPlan plan = faults_.plan(path);
  Duration wait = plan.latency;
  if (auto d = delay_from_path(path)) wait += *d;
  co_await sleep_for(executor_, wait);

  int status = status_from_path(path).value_or(200);
  if (plan.fail) {
    status = plan.error_status;
    doc.error = "injected";
  } else if (upstreams_ && !upstreams_->empty() && calls_upstreams(path)) {
    doc.upstreams = co_await upstreams_->call_all();
    bool all_ok = true;
    for (const auto& u : doc.upstreams) all_ok = all_ok && u.ok;
    if (!all_ok && !options_.tolerate_upstream_errors) {
      status = 502;
      doc.error = "upstream";
    }
  }
  doc.status = status;
  co_return finish_http(status, render_info(doc, plan.response_size));
}

net::awaitable<http::Response> DemoService::serve_grpc(http::Request request) {
  auto reply_error = [&](GrpcStatus s, std::string_view message) {
    http::Response r = http::h2::make_grpc_trailers_only(s, message);
    r.head.headers.set("x-demo-version", options_.version);
    return r;
  };
  const std::string_view path = path_only(request.head.path);
  const bool hello = path == kHelloPath;
  const bool stream = path == kStreamPath;
  if (request.head.method != "POST") {
    co_return reply_error(GrpcStatus::kUnimplemented, "gRPC requires POST");
  }
  if (!hello && !stream) {
    co_return reply_error(GrpcStatus::kUnimplemented,
                          "unknown method " + std::string(path) + " (trellis.demo.Demo has "
                          "Hello and Stream)");
  }

  std::optional<Clock::time_point> deadline;
  std::optional<Duration> timeout;
  if (auto t = request.head.headers.get("grpc-timeout")) {
    timeout = http::h2::parse_grpc_timeout(*t);
    if (!timeout) co_return reply_error(GrpcStatus::kInvalidArgument, "malformed grpc-timeout");
    deadline = Clock::now() + *timeout;
  }

  auto body = co_await http::read_all(*request.body, kMaxGrpcMessage + 5);
  if (!body) {
    co_return reply_error(body.error() == http::BodyError::kTooLarge
                              ? GrpcStatus::kResourceExhausted
                              : GrpcStatus::kCancelled,
                          std::string("request body: ") + http::to_string(body.error()));
  }
  auto messages = grpc_unframe(body->data);
  if (!messages) co_return reply_error(GrpcStatus::kInvalidArgument, messages.error());
  if (messages->size() != 1) {
    co_return reply_error(GrpcStatus::kInvalidArgument, "expected exactly one request message");
  }
  auto parsed = parse_grpc_request(messages->front());
  if (!parsed) co_return reply_error(GrpcStatus::kInvalidArgument, parsed.error());

  FaultPlan plan = faults_.plan(path);
  if (deadline && Clock::now() + plan.latency > *deadline) {
    // The client will have given up by then: answer at the deadline, not after the latency.
    co_await sleep_for(executor_, *deadline - Clock::now());
    co_return reply_error(GrpcStatus::kDeadlineExceeded, "injected latency exceeds the deadline");
  }
  co_await sleep_for(executor_, plan.latency);
  if (plan.fail) co_return reply_error(GrpcStatus::kUnavailable, "injected error");

  std::string client_id;
  if (auto id = request.head.headers.get("l5d-client-id")) client_id = std::string(*id);

  http::Response r;
  r.head.status = 200;
  r.head.version = http::Version::kHttp2;
  r.head.headers.add("content-type", "application/grpc");
  r.head.headers.add("x-demo-version", options_.version);
  if (hello) {
    http::Headers trailers;
    trailers.add("grpc-status", "0");
    r.body = http::make_buffered_body(
        grpc_frame(render_grpc_reply(options_.version, name_, parsed->name, 0, client_id)),
        std::move(trailers));
  } else {
    r.body = std::make_unique<StreamReplyBody>(executor_, options_.version, name_,
                                               std::move(*parsed), std::move(client_id), deadline);
  }
  co_return r;
}

}  // namespace trellis::demoapp
