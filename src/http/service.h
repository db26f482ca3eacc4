#pragma once
// Service: one stage of an HTTP pipeline. A server connection (HTTP/1 or HTTP/2) turns each
// request into a Request, calls the first stage, and writes the Response it returns; each stage
// owns the next (runtime composition, DESIGN.md §7.5). The proxy's pipeline.cc lists them.

#include <cstdint>
#include <memory>
#include <string>

#include "http/body.h"
#include "http/message.h"
#include "net/asio.h"
#include "net/socket_address.h"

namespace trellis::http {

// What the server side knows about the connection a request arrived on.
struct ConnectionInfo {
  uint64_t id = 0;                 // for logs: [C<id>]
  net::SocketAddress peer;         // the client
  net::SocketAddress local;        // where we accepted it
  std::optional<net::SocketAddress> original_dst;  // SO_ORIGINAL_DST, when redirected
  std::string client_identity;     // verified mTLS identity; empty when not mTLS
  bool tls = false;
};

struct Request {
  RequestHead head;
  BodyPtr body;
  std::shared_ptr<const ConnectionInfo> connection;
  uint32_t stream_id = 0;          // HTTP/2 stream id, or the request's index on an h1 connection
};

struct Response {
  ResponseHead head;
  BodyPtr body;
};

class Service {
 public:
  virtual ~Service() = default;
  // Never throws for anything a peer can cause: failures become responses (DESIGN.md §7.6).
  virtual net::awaitable<Response> call(Request request) = 0;
};

using ServicePtr = std::unique_ptr<Service>;

// A response with a small in-memory body, e.g. for errors and the admin server.
Response make_response(int status, std::string body = {},
                       std::string content_type = "text/plain; charset=utf-8");

}  // namespace trellis::http
