#pragma once
// Response classification (the `classification` metric label, and what a ServiceProfile retry
// treats as a failure). With no response classes the default applies: a 5xx status, or a gRPC
// status other than OK (in the trailers, or in the head of a trailers-only response), is a
// failure. With classes, the first whose condition holds decides and a response matching none
// is a success (Linkerd's ServiceProfile semantics).

#include <optional>
#include <vector>

#include "api/traffic.pb.h"
#include "http/message.h"

namespace trellis::proxy::route {

enum class Classification { kSuccess, kFailure };
const char* to_string(Classification c);  // "success" | "failure"

// The grpc-status of a response: from the trailers when given, else from the head
// (trailers-only responses). nullopt when absent or not a number.
std::optional<int> grpc_status(const http::ResponseHead& head, const http::Headers* trailers);

class ResponseClassifier {
 public:
  ResponseClassifier() = default;  // the default classifier
  explicit ResponseClassifier(
      const google::protobuf::RepeatedPtrField<api::traffic::v1::ResponseClass>& classes);

  // `trailers` may be null (not known yet / none); the status alone then decides for HTTP.
  Classification classify(const http::ResponseHead& head, const http::Headers* trailers) const;
  bool is_default() const { return classes_.empty(); }

 private:
  std::vector<api::traffic::v1::ResponseClass> classes_;
};

}  // namespace trellis::proxy::route
