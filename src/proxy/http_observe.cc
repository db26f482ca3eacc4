#include "proxy/http_observe.h"

namespace trellis::proxy {
namespace {

// Holds the label set's resolved series rather than a copy of the labels: recording the end of
// the stream is a short scan of the series' response handles, with no label strings copied.
class ObservedBody final : public http::Body {
 public:
  ObservedBody(http::BodyPtr inner, HttpMetricsCache& cache, std::shared_ptr<HttpSeries> series,
               int status, std::string head_grpc_status, std::string_view error)
      : inner_(std::move(inner)), cache_(cache), series_(std::move(series)), status_(status),
        head_grpc_status_(std::move(head_grpc_status)), error_(error) {}

  ~ObservedBody() override {
    // The client went away (or the response was dropped) before the end of the stream.
    if (!recorded_) record(head_grpc_status_, "failure", error_.empty() ? "cancelled" : error_);
  }

  net::awaitable<base::Result<http::BodyChunk, http::BodyError>> next() override {
    auto chunk = co_await inner_->next();
    if (!chunk) {
      record(head_grpc_status_, "failure", http::to_string(chunk.error()));
    } else if (chunk->end_of_stream) {
      std::string grpc(head_grpc_status_);
      if (auto t = chunk->trailers.get("grpc-status")) grpc = std::string(*t);
      record(grpc, classify(status_, grpc), error_);
    }
    co_return chunk;
  }
  std::optional<uint64_t> size_hint() const override { return inner_->size_hint(); }
  bool is_empty() const override { return inner_->is_empty(); }

 private:
  void record(std::string_view grpc, std::string_view classification, std::string_view error) {
    if (recorded_) return;
    recorded_ = true;
    cache_.responses(*series_, status_, classification, grpc, error)->inc();
  }

  http::BodyPtr inner_;
  HttpMetricsCache& cache_;
  std::shared_ptr<HttpSeries> series_;
  int status_;
  std::string head_grpc_status_;
  std::string error_;
  bool recorded_ = false;
};

}  // namespace

http::Response observe_response(HttpMetricsCache& cache, const HttpLabels& labels,
                                std::chrono::steady_clock::time_point start,
                                http::Response response, std::string_view error) {
  const auto elapsed = std::chrono::steady_clock::now() - start;
  const double ms = std::chrono::duration<double, std::milli>(elapsed).count();
  const std::shared_ptr<HttpSeries>& series = cache.series(labels);
  cache.latency(*series, response.head.status)->observe(ms);
  std::string grpc;
  if (auto g = response.head.headers.get("grpc-status")) grpc = std::string(*g);
  if (response.body->is_empty()) {
    // Nothing will stream (e.g. a gRPC trailers-only response): the exchange ends with the head.
    cache.responses(*series, response.head.status, classify(response.head.status, grpc), grpc,
                    error)
        ->inc();
    return response;
  }
  response.body = std::make_unique<ObservedBody>(std::move(response.body), cache, series,
                                                 response.head.status, std::move(grpc), error);
  return response;
}

}  // namespace trellis::proxy
