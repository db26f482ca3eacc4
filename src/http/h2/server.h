#pragma once
// HTTP/2 server side: each request stream becomes a Request (validated head + streamed body)
// handed to the Service in its own coroutine; the Response is written back as HEADERS, DATA as
// the body produces it, and trailers.

#include <memory>
#include <string>

#include "http/h2/session.h"
#include "http/h2/settings.h"
#include "http/h2/transport.h"
#include "http/service.h"

namespace trellis::http::h2 {

class ServerSession final : public detail::SessionCore {
 public:
  // `initial_bytes`: bytes already read from the transport (the proxy peeks the connection
  // preface during protocol detection); they are processed before anything else is read.
  // `transport`, `service` and `counters` must outlive the session.
  ServerSession(Transport& transport, Service& service, const H2Settings& settings,
                H2Counters& counters, std::shared_ptr<const ConnectionInfo> connection = nullptr,
                std::string initial_bytes = {});
  ~ServerSession() override = default;

 private:
  int on_begin_headers(const nghttp2_frame& frame) override;
  int on_headers_complete(detail::Stream& stream, const nghttp2_frame& frame) override;

  net::awaitable<void> handle(std::shared_ptr<detail::Stream> stream);
  net::awaitable<void> respond(std::shared_ptr<detail::Stream> stream, Response response);
  // A response the adapter generates itself (431), without calling the service.
  void respond_locally(detail::Stream& stream, int status);

  Service& service_;
  std::shared_ptr<const ConnectionInfo> connection_;
};

// Runs an HTTP/2 server on an accepted connection until it ends and every stream's handler has
// finished. For graceful shutdown keep a ServerSession yourself and call shutdown().
net::awaitable<void> serve_h2(Transport& transport, Service& service, const H2Settings& settings,
                              H2Counters& counters,
                              std::shared_ptr<const ConnectionInfo> connection = nullptr,
                              std::string initial_bytes = {});

}  // namespace trellis::http::h2
