// The serializer's allocation budget: a head written into an empty string costs one allocation
// (docs/performance.md, first performance pass). Counted with a replacement operator new that
// only counts while this thread has armed it, so the rest of the test binary is unaffected.

#include <gtest/gtest.h>

#include <cstdlib>
#include <new>
#include <string>

#include "http/h1/serializer.h"

namespace {
thread_local long* g_allocations = nullptr;
}  // namespace

void* operator new(std::size_t size) {
  if (g_allocations != nullptr) ++*g_allocations;
  if (void* p = std::malloc(size != 0 ? size : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace trellis::http::h1 {
namespace {

class CountAllocations {
 public:
  CountAllocations() { g_allocations = &count_; }
  ~CountAllocations() { g_allocations = nullptr; }
  long count() const { return count_; }

 private:
  long count_ = 0;
};

// What the proxy forwards for a typical browser or service request (10 fields, ~450 bytes).
RequestModel typical_request() {
  return RequestModel{
      "GET",
      "/api/v1/users/12345/orders?limit=20&offset=40",
      Version::kHttp11,
      {{"Host", "web.emojivoto.svc.cluster.local:80"},
       {"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"},
       {"Accept", "application/json, text/plain, */*"},
       {"Accept-Language", "en-US,en;q=0.9"},
       {"Accept-Encoding", "gzip, deflate, br"},
       {"Cookie", "session=0123456789abcdef0123456789abcdef; theme=dark"},
       {"X-Request-Id", "7f3c9a2e-8d41-4b6f-9e0a-1c2d3e4f5a6b"},
       {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
       {"l5d-client-id", "web.emojivoto.serviceaccount.identity.linkerd.cluster.local"},
       {"Te", "trailers"}}};
}

ResponseModel typical_response() {
  return ResponseModel{
      Version::kHttp11,
      200,
      "OK",
      {{"Content-Type", "application/json; charset=utf-8"},
       {"Date", "Sun, 22 Nov 2026 03:40:00 GMT"},
       {"Cache-Control", "no-store, max-age=0"},
       {"X-Request-Id", "7f3c9a2e-8d41-4b6f-9e0a-1c2d3e4f5a6b"},
       {"Vary", "Accept-Encoding"},
       {"Server", "envoy"}}};
}

OutboundFraming chunked_keep_alive() {
  OutboundFraming f;
  f.body = BodyFraming::chunked();
  f.codings.items[0] = Coding::kGzip;
  f.codings.size = 1;
  f.keep_alive = true;
  return f;
}

TEST(SerializerAllocations, RequestHeadIntoAnEmptyStringAllocatesOnce) {
  const RequestModel model = typical_request();
  OutboundFraming framing;
  framing.body = BodyFraming::content_length(12345);
  std::string out;
  CountAllocations allocations;
  ASSERT_TRUE(serialize_request(model, framing, out).ok());
  EXPECT_EQ(allocations.count(), 1);
  EXPECT_GT(out.size(), 450u);
  EXPECT_TRUE(out.ends_with("Content-Length: 12345\r\nTE: trailers\r\nConnection: te\r\n\r\n"))
      << out;
}

TEST(SerializerAllocations, ResponseHeadWithEveryFramingFieldAllocatesOnce) {
  const ResponseModel model = typical_response();
  std::string out;
  CountAllocations allocations;
  ASSERT_TRUE(serialize_response(model, chunked_keep_alive(), out).ok());
  EXPECT_EQ(allocations.count(), 1);
  EXPECT_TRUE(out.starts_with("HTTP/1.1 200 OK\r\nContent-Type: "));
  EXPECT_TRUE(out.ends_with("Transfer-Encoding: gzip, chunked\r\n\r\n")) << out;
}

TEST(SerializerAllocations, AppendingAfterExistingBytesKeepsThemAndAllocatesAtMostOnce) {
  std::string out = "previous response bytes|";
  const ResponseModel model = typical_response();
  CountAllocations allocations;
  auto written = serialize_response(model, chunked_keep_alive(), out);
  ASSERT_TRUE(written.ok());
  EXPECT_LE(allocations.count(), 1);
  EXPECT_TRUE(out.starts_with("previous response bytes|HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(*written, out.size() - std::string("previous response bytes|").size());
}

TEST(SerializerAllocations, ReservedSpaceIsAnUpperBoundForTheWorstCaseFraming) {
  // Four codings plus chunked, TE, and every Connection option: the longest framing section.
  RequestModel model{"POST", "/", Version::kHttp11, {{"TE", "trailers"}, {"Upgrade", "websocket"}}};
  OutboundFraming framing;
  framing.body = BodyFraming::chunked();
  framing.codings.items = {Coding::kCompress, Coding::kCompress, Coding::kCompress,
                           Coding::kCompress};
  framing.codings.size = 4;
  framing.keep_alive = false;
  framing.tunnel = true;
  std::string out;
  CountAllocations allocations;
  ASSERT_TRUE(serialize_request(model, framing, out).ok());
  EXPECT_EQ(allocations.count(), 1) << out;
}

}  // namespace
}  // namespace trellis::http::h1
