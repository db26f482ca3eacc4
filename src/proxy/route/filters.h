#pragma once
// Route and backend filters (HTTPRoute/GRPCRoute): header modifiers, URL rewrite, redirect and
// request mirroring, applied to request and response heads.

#include <optional>
#include <string_view>
#include <vector>

#include "api/traffic.pb.h"
#include "http/message.h"
#include "proxy/balance/p2c.h"

namespace trellis::proxy::route {

using FilterList = google::protobuf::RepeatedPtrField<api::traffic::v1::Filter>;

void apply_header_modifier(const api::traffic::v1::HeaderModifier& m, http::Headers& headers);

// Applies the request filters in order: header modifiers and URL rewrites change `request`;
// a RequestRedirect stops there and returns the redirect to send instead (3xx with Location,
// no body). `matched_prefix` is the PathPrefix the route matched (for ReplacePrefixMatch).
std::optional<http::ResponseHead> apply_request_filters(
    const FilterList& filters, std::optional<std::string_view> matched_prefix,
    http::RequestHead& request);
// Overload for backend filters (a vector of copies).
std::optional<http::ResponseHead> apply_request_filters(
    const std::vector<api::traffic::v1::Filter>& filters,
    std::optional<std::string_view> matched_prefix, http::RequestHead& request);

void apply_response_filters(const FilterList& filters, http::ResponseHead& response);
void apply_response_filters(const std::vector<api::traffic::v1::Filter>& filters,
                            http::ResponseHead& response);

// The mirrors this request is copied to: each RequestMirror filter selects
// numerator/denominator of the requests at random.
std::vector<const api::traffic::v1::RequestMirror*> select_mirrors(const FilterList& filters,
                                                                   balance::FastRandom& random);

// "/api" + "/v1/users" with prefix "/api" replaced by "/new" -> "/new/v1/users". Exposed for
// tests.
std::string replace_prefix(std::string_view path, std::string_view prefix,
                           std::string_view replacement);

}  // namespace trellis::proxy::route
