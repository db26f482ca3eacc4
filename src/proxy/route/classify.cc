#include "proxy/route/classify.h"

#include <charconv>

namespace trellis::proxy::route {
namespace {

namespace pb = api::traffic::v1;

bool matches(const pb::ResponseMatch& m, int status) {
  switch (m.kind_case()) {
    case pb::ResponseMatch::kAll:
      for (const auto& c : m.all().matches()) {
        if (!matches(c, status)) return false;
      }
      return true;
    case pb::ResponseMatch::kAny:
      for (const auto& c : m.any().matches()) {
        if (matches(c, status)) return true;
      }
      return false;
    case pb::ResponseMatch::kNot:
      return !matches(m.not_(), status);
    case pb::ResponseMatch::kStatus:
      return status >= static_cast<int>(m.status().min()) &&
             status <= static_cast<int>(m.status().max());
    case pb::ResponseMatch::KIND_NOT_SET:
      return false;
  }
  return false;
}

std::optional<int> parse_status(std::string_view s) {
  int v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

const char* to_string(Classification c) {
  return c == Classification::kSuccess ? "success" : "failure";
}

std::optional<int> grpc_status(const http::ResponseHead& head, const http::Headers* trailers) {
  if (trailers) {
    if (auto v = trailers->get("grpc-status")) return parse_status(*v);
  }
  if (auto v = head.headers.get("grpc-status")) return parse_status(*v);
  return std::nullopt;
}

ResponseClassifier::ResponseClassifier(
    const google::protobuf::RepeatedPtrField<pb::ResponseClass>& classes)
    : classes_(classes.begin(), classes.end()) {}

Classification ResponseClassifier::classify(const http::ResponseHead& head,
                                            const http::Headers* trailers) const {
  if (!classes_.empty()) {
    for (const auto& c : classes_) {
      if (matches(c.condition(), head.status)) {
        return c.is_failure() ? Classification::kFailure : Classification::kSuccess;
      }
    }
    return Classification::kSuccess;
  }
  if (head.status >= 500) return Classification::kFailure;
  if (const auto g = grpc_status(head, trailers); g && *g != 0) return Classification::kFailure;
  return Classification::kSuccess;
}

}  // namespace trellis::proxy::route
