#pragma once
// Golden metrics for one HTTP exchange: latency when the response head arrives, response_total
// when the response stream ends (gRPC status comes in the trailers), so a response cut off
// mid-stream is counted as a failure with an error label.

#include <chrono>
#include <string>

#include "http/service.h"
#include "proxy/http_metrics.h"

namespace trellis::proxy {

// Records the response head now and wraps the body to record the end of the stream. `error` is
// the proxy error label for generated responses ("" otherwise).
http::Response observe_response(HttpMetricsCache& cache, const HttpLabels& labels,
                                std::chrono::steady_clock::time_point start,
                                http::Response response, std::string_view error = {});

}  // namespace trellis::proxy
