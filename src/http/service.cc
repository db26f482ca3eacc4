#include "http/service.h"

namespace trellis::http {

Response make_response(int status, std::string body, std::string content_type) {
  Response r;
  r.head.status = status;
  if (!body.empty()) r.head.headers.add("content-type", content_type);
  r.body = body.empty() ? make_empty_body() : make_buffered_body(std::move(body));
  return r;
}

}  // namespace trellis::http
