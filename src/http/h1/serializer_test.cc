// Serializer: exact bytes, hop-by-hop removal, framing re-derivation, validation of everything
// written, the chunked encoder, and parse -> model -> serialize -> parse round trips.

#include <gtest/gtest.h>

#include <random>

#include "http/h1/chunked.h"
#include "http/h1/parser.h"
#include "http/h1/parser_cases.h"
#include "http/h1/serializer.h"
#include "http/h1/test_support.h"

namespace trellis::http::h1 {
namespace {

std::string request_bytes(const RequestModel& model, const OutboundFraming& framing) {
  std::string out;
  auto r = serialize_request(model, framing, out);
  if (!r.ok()) return "error:" + std::string(to_string(r.error()));
  EXPECT_EQ(*r, out.size());
  return out;
}

std::string response_bytes(const ResponseModel& model, const OutboundFraming& framing) {
  std::string out;
  auto r = serialize_response(model, framing, out);
  if (!r.ok()) return "error:" + std::string(to_string(r.error()));
  EXPECT_EQ(*r, out.size());
  return out;
}

OutboundFraming framing(BodyFraming body, bool keep_alive = true) {
  OutboundFraming f;
  f.body = body;
  f.keep_alive = keep_alive;
  return f;
}

RequestModel get(std::vector<Field> fields, Version version = Version::kHttp11) {
  return RequestModel{"GET", "/x", version, std::move(fields)};
}

TEST(SerializeRequest, WritesStartLineFieldsAndEmptyLine) {
  EXPECT_EQ(request_bytes(get({{"Host", "a"}, {"Accept", "*/*"}}), framing(BodyFraming::none())),
            "GET /x HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n");
}

TEST(SerializeRequest, AppendsToExistingOutput) {
  std::string out = "previous";
  auto r = serialize_request(get({{"Host", "a"}}), framing(BodyFraming::none()), out);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, out.size() - 8);
  EXPECT_EQ(out, "previousGET /x HTTP/1.1\r\nHost: a\r\n\r\n");
}

TEST(SerializeRequest, DropsHopByHopAndReDerivesFraming) {
  const RequestModel model = get({
      {"Host", "a"},
      {"Connection", "keep-alive, X-Secret"},
      {"Keep-Alive", "timeout=5"},
      {"Proxy-Connection", "keep-alive"},
      {"Transfer-Encoding", "chunked"},
      {"Content-Length", "999"},
      {"Upgrade", "websocket"},
      {"HTTP2-Settings", "AAMAAABkAAQAAP__"},
      {"TE", "trailers, deflate"},
      {"X-Secret", "hop"},
      {"X-Kept", "yes"},
  });
  EXPECT_EQ(request_bytes(model, framing(BodyFraming::content_length(5))),
            "GET /x HTTP/1.1\r\nHost: a\r\nX-Kept: yes\r\nContent-Length: 5\r\nTE: trailers\r\n"
            "Connection: te\r\n\r\n");
}

TEST(SerializeRequest, ConnectionCannotStripHost) {
  EXPECT_EQ(request_bytes(get({{"Connection", "host"}, {"Host", "a"}}),
                          framing(BodyFraming::none())),
            "GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
}

TEST(SerializeRequest, NeverBothContentLengthAndTransferEncoding) {
  const RequestModel model = get({{"Host", "a"}, {"Content-Length", "5"},
                                  {"Transfer-Encoding", "chunked"}});
  EXPECT_EQ(request_bytes(model, framing(BodyFraming::chunked())),
            "GET /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(request_bytes(model, framing(BodyFraming::content_length(0))),
            "GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(request_bytes(model, framing(BodyFraming::none())),
            "GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
}

TEST(SerializeRequest, CodingsAreReEmittedBeforeChunked) {
  OutboundFraming f = framing(BodyFraming::chunked());
  f.codings.items[0] = Coding::kGzip;
  f.codings.items[1] = Coding::kDeflate;
  f.codings.size = 2;
  EXPECT_EQ(request_bytes(get({{"Host", "a"}}), f),
            "GET /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, deflate, chunked\r\n\r\n");
}

TEST(SerializeRequest, KeepAliveTokensFollowTheVersion) {
  EXPECT_EQ(request_bytes(get({{"Host", "a"}}), framing(BodyFraming::none(), false)),
            "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(request_bytes(get({}, Version::kHttp10), framing(BodyFraming::none(), true)),
            "GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(request_bytes(get({}, Version::kHttp10), framing(BodyFraming::none(), false)),
            "GET /x HTTP/1.0\r\n\r\n");
}

TEST(SerializeRequest, UpgradeRequestStillSaysClose) {
  // The upstream may refuse the upgrade; then the client's "close" must still hold.
  OutboundFraming f = framing(BodyFraming::none(), false);
  f.tunnel = true;
  EXPECT_EQ(request_bytes(get({{"Host", "a"}, {"Upgrade", "websocket"}}), f),
            "GET /x HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
            "Connection: close, upgrade\r\n\r\n");
}

TEST(SerializeRequest, TunnelKeepsUpgrade) {
  OutboundFraming f = framing(BodyFraming::none());
  f.tunnel = true;
  EXPECT_EQ(request_bytes(get({{"Host", "a"}, {"Connection", "Upgrade"}, {"Upgrade", "websocket"},
                               {"Sec-WebSocket-Version", "13"}}),
                          f),
            "GET /x HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
            "Connection: upgrade\r\n\r\n");
}

TEST(SerializeRequest, RejectsWhatAStrictParserWouldReject) {
  const OutboundFraming f = framing(BodyFraming::none());
  EXPECT_EQ(request_bytes({"G T", "/", Version::kHttp11, {}}, f), "error:invalid_method");
  EXPECT_EQ(request_bytes({"", "/", Version::kHttp11, {}}, f), "error:invalid_method");
  EXPECT_EQ(request_bytes({"GET", "/a b", Version::kHttp11, {}}, f), "error:invalid_target");
  EXPECT_EQ(request_bytes({"GET", "", Version::kHttp11, {}}, f), "error:invalid_target");
  EXPECT_EQ(request_bytes({"GET", "/a\r\nX: y", Version::kHttp11, {}}, f),
            "error:invalid_target");
  EXPECT_EQ(request_bytes({"GET", "/%zz", Version::kHttp11, {}}, f), "error:invalid_target");
  EXPECT_EQ(request_bytes(get({{"X", "a\r\nInjected: 1"}}), f), "error:invalid_field_value");
  EXPECT_EQ(request_bytes(get({{"X", "a\nb"}}), f), "error:invalid_field_value");
  EXPECT_EQ(request_bytes(get({{"X", std::string("a\0b", 3)}}), f), "error:invalid_field_value");
  EXPECT_EQ(request_bytes(get({{"X", " padded"}}), f), "error:invalid_field_value");
  EXPECT_EQ(request_bytes(get({{"Bad Name", "v"}}), f), "error:invalid_field_name");
  EXPECT_EQ(request_bytes(get({{"", "v"}}), f), "error:invalid_field_name");
  EXPECT_EQ(request_bytes(get({{"X:Y", "v"}}), f), "error:invalid_field_name");
}

TEST(SerializeRequest, ErrorLeavesOutputUnchanged) {
  std::string out = "keep";
  auto r = serialize_request(get({{"Host", "a"}, {"X", "bad\r\n"}}), framing(BodyFraming::none()),
                             out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(out, "keep");
}

TEST(SerializeRequest, RejectsImpossibleFraming) {
  EXPECT_EQ(request_bytes(get({}), framing(BodyFraming::close_delimited())),
            "error:invalid_framing");
  EXPECT_EQ(request_bytes(get({}, Version::kHttp10), framing(BodyFraming::chunked())),
            "error:invalid_framing");
  OutboundFraming f = framing(BodyFraming::content_length(3));
  f.codings.items[0] = Coding::kGzip;
  f.codings.size = 1;
  EXPECT_EQ(request_bytes(get({}), f), "error:invalid_framing");
}

ResponseModel response(int status, std::string reason, std::vector<Field> fields = {},
                       Version version = Version::kHttp11) {
  return ResponseModel{version, status, std::move(reason), std::move(fields)};
}

TEST(SerializeResponse, WritesStatusLine) {
  EXPECT_EQ(response_bytes(response(200, "OK", {{"Server", "t"}}),
                           framing(BodyFraming::content_length(2))),
            "HTTP/1.1 200 OK\r\nServer: t\r\nContent-Length: 2\r\n\r\n");
  EXPECT_EQ(response_bytes(response(404, ""), framing(BodyFraming::content_length(0))),
            "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n");
}

TEST(SerializeResponse, CloseDelimitedForcesConnectionClose) {
  EXPECT_EQ(response_bytes(response(200, "OK"), framing(BodyFraming::close_delimited(), true)),
            "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
  OutboundFraming f = framing(BodyFraming::close_delimited(), false);
  f.codings.items[0] = Coding::kGzip;
  f.codings.size = 1;
  EXPECT_EQ(response_bytes(response(200, "OK"), f),
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\n");
}

TEST(SerializeResponse, NoBodyStatusesAndDeclaredLength) {
  EXPECT_EQ(response_bytes(response(204, "No Content", {{"Content-Length", "0"}}),
                           framing(BodyFraming::none())),
            "HTTP/1.1 204 No Content\r\n\r\n");
  EXPECT_EQ(response_bytes(response(204, "No Content"), framing(BodyFraming::content_length(0))),
            "error:invalid_framing");
  EXPECT_EQ(response_bytes(response(100, "Continue"), framing(BodyFraming::chunked())),
            "error:invalid_framing");
  OutboundFraming declared = framing(BodyFraming::none());
  declared.declared_length = 100;
  EXPECT_EQ(response_bytes(response(304, "Not Modified"), declared),
            "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n");
  EXPECT_EQ(response_bytes(response(204, "No Content"), declared),
            "HTTP/1.1 204 No Content\r\n\r\n");
  EXPECT_EQ(response_bytes(response(103, "Early Hints"), declared),
            "HTTP/1.1 103 Early Hints\r\n\r\n");
  EXPECT_EQ(response_bytes(response(304, "Not Modified"), framing(BodyFraming::chunked())),
            "error:invalid_framing");
}

TEST(FramingOf, CodingsOnlyWithABody) {
  MessageInfo info;
  info.body = BodyFraming::none();
  info.codings.items[0] = Coding::kGzip;
  info.codings.size = 1;
  info.content_length = 7;
  OutboundFraming f = framing_of(info);
  EXPECT_TRUE(f.codings.empty());
  EXPECT_EQ(f.declared_length, 7u);
  info.body = BodyFraming::close_delimited();
  f = framing_of(info);
  EXPECT_EQ(f.codings.size, 1u);
  EXPECT_FALSE(f.declared_length.has_value());
  info.body = BodyFraming::content_length(7);
  info.upgrade = true;
  f = framing_of(info);
  EXPECT_EQ(f.body, BodyFraming::content_length(7));
  EXPECT_TRUE(f.tunnel);
}

TEST(SerializeResponse, SwitchingProtocolsTunnel) {
  OutboundFraming f = framing(BodyFraming::none(), false);
  f.tunnel = true;
  EXPECT_EQ(response_bytes(response(101, "Switching Protocols",
                                    {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}}),
                           f),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            "Connection: upgrade\r\n\r\n");
}

TEST(SerializeResponse, RejectsInvalidStatusReasonAndHttp10Chunked) {
  EXPECT_EQ(response_bytes(response(99, "x"), framing(BodyFraming::none())),
            "error:invalid_status");
  EXPECT_EQ(response_bytes(response(600, "x"), framing(BodyFraming::none())),
            "error:invalid_status");
  EXPECT_EQ(response_bytes(response(200, "O\r\nK"), framing(BodyFraming::none())),
            "error:invalid_reason");
  EXPECT_EQ(response_bytes(response(200, "OK", {}, Version::kHttp10),
                           framing(BodyFraming::chunked())),
            "error:invalid_framing");
}

TEST(ChunkedEncoder, ChunkHeaders) {
  char buf[kMaxChunkHeaderSize];
  EXPECT_EQ(std::string_view(buf, format_chunk_header(0x1a, buf)), "1a\r\n");
  EXPECT_EQ(std::string_view(buf, format_chunk_header(1, buf)), "1\r\n");
  EXPECT_EQ(std::string_view(buf, format_chunk_header(UINT64_MAX, buf)), "ffffffffffffffff\r\n");
}

TEST(ChunkedEncoder, ChunksAndLastChunk) {
  std::string out;
  append_chunk(out, "hello");
  append_chunk(out, "");
  append_chunk(out, std::string(26, 'z'));
  ASSERT_TRUE(append_last_chunk(out).ok());
  EXPECT_EQ(out, "5\r\nhello\r\n1a\r\n" + std::string(26, 'z') + "\r\n0\r\n\r\n");
}

TEST(ChunkedEncoder, TrailersAreValidated) {
  std::string out;
  auto r = append_last_chunk(out, {{"grpc-status", "0"}, {"grpc-message", "ok"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, out.size());
  EXPECT_EQ(out, "0\r\ngrpc-status: 0\r\ngrpc-message: ok\r\n\r\n");
  std::string untouched = "x";
  auto forbidden = append_last_chunk(untouched, {{"Content-Length", "5"}});
  ASSERT_FALSE(forbidden.ok());
  EXPECT_EQ(forbidden.error(), SerializeError::kForbiddenTrailerField);
  auto injected = append_last_chunk(untouched, {{"x", "1\r\n\r\nGET / HTTP/1.1"}});
  ASSERT_FALSE(injected.ok());
  EXPECT_EQ(injected.error(), SerializeError::kInvalidFieldValue);
  auto bad_name = append_last_chunk(untouched, {{"x y", "1"}});
  ASSERT_FALSE(bad_name.ok());
  EXPECT_EQ(bad_name.error(), SerializeError::kInvalidFieldName);
  EXPECT_EQ(untouched, "x");
}

TEST(ChunkedEncoder, EncodeDecodeRoundTripAtRandomSplits) {
  std::mt19937 rng(42);
  for (int round = 0; round < 50; ++round) {
    std::string body;
    std::string wire;
    const int chunks = static_cast<int>(rng() % 6);
    for (int i = 0; i < chunks; ++i) {
      std::string data(rng() % 300, '\0');
      for (char& c : data) c = static_cast<char>(rng() & 0xff);
      append_chunk(wire, data);
      body += data;
    }
    ASSERT_TRUE(append_last_chunk(wire, {{"x-sum", std::to_string(body.size())}}).ok());
    const size_t cut1 = rng() % (wire.size() + 1);
    const size_t cut2 = cut1 + rng() % (wire.size() - cut1 + 1);
    const std::string_view v(wire);
    ChunkedDecoder decoder;
    EXPECT_EQ(testing::decode_slices(
                  decoder, {v.substr(0, cut1), v.substr(cut1, cut2 - cut1), v.substr(cut2)}),
              "data=" + testing::escape(body) + " trailers={x-sum=" +
                  std::to_string(body.size()) + "}");
  }
}

TEST(ToModel, DropsConnectionNamedFieldsBeforeTheProxyAddsItsOwn) {
  const std::string wire =
      "GET / HTTP/1.1\r\nHost: a\r\nConnection: l5d-client-id, X-Forwarded-For\r\n"
      "X-Forwarded-For: spoofed\r\nl5d-client-id: spoofed\r\nAccept: */*\r\n\r\n";
  RequestHead head;
  ASSERT_TRUE(parse_request_head(wire, head).is_complete());
  RequestModel model = to_model(head);
  ASSERT_EQ(model.fields.size(), 2u);
  EXPECT_EQ(model.fields[0], (Field{"Host", "a"}));
  EXPECT_EQ(model.fields[1], (Field{"Accept", "*/*"}));
  model.fields.push_back({"l5d-client-id", "web.default.serviceaccount.identity.linkerd.local"});
  EXPECT_EQ(request_bytes(model, framing_of(head.info)),
            "GET / HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n"
            "l5d-client-id: web.default.serviceaccount.identity.linkerd.local\r\n\r\n");
}

// What must survive a parse -> model -> serialize -> parse round trip unchanged.
std::string essence(const MessageInfo& info, const std::vector<Field>& fields) {
  std::string out = testing::describe_body(info.body);
  out += info.keep_alive ? " ka" : " close";
  if (info.upgrade) out += " upgrade=" + std::string(info.upgrade_protocol);
  if (info.connect) out += " connect";
  if (info.expect_continue) out += " expect";
  if (info.interim) out += " interim";
  for (size_t i = 0; i < info.codings.size; ++i) {
    out += " " + std::string(to_string(info.codings.items[i]));
  }
  if (info.body.kind == BodyKind::kNone && info.content_length && !info.connect) {
    out += " declared=" + std::to_string(*info.content_length);
  }
  for (const Field& f : fields) out += " [" + f.name + "=" + f.value + "]";
  return out;
}

TEST(RoundTrip, EveryValidTableRowSurvivesSerialization) {
  using testing::CaseKind;
  size_t checked = 0;
  for (const auto& c : testing::parser_cases()) {
    if (c.expected.rfind("error:", 0) == 0) continue;
    SCOPED_TRACE(c.name);
    std::string wire;
    std::string first;
    if (c.kind == CaseKind::kRequest) {
      RequestHead head;
      ASSERT_TRUE(parse_request_head(c.input, head).is_complete());
      const RequestModel model = to_model(head);
      first = essence(head.info, model.fields);
      ASSERT_TRUE(serialize_request(model, framing_of(head.info), wire).ok());
      RequestHead again;
      const ParseResult r = parse_request_head(wire, again);
      ASSERT_TRUE(r.is_complete()) << testing::escape(wire) << " " << to_string(r.error());
      EXPECT_EQ(r.consumed(), wire.size());
      EXPECT_EQ(again.method, head.method);
      EXPECT_EQ(again.target, head.target);
      EXPECT_EQ(again.version, head.version);
      EXPECT_EQ(essence(again.info, to_model(again).fields), first) << testing::escape(wire);
    } else {
      ResponseContext context;
      context.request_was_head = c.kind == CaseKind::kResponseToHead;
      context.request_was_connect = c.kind == CaseKind::kResponseToConnect;
      ResponseHead head;
      ASSERT_TRUE(parse_response_head(c.input, head, context).is_complete());
      const ResponseModel model = to_model(head);
      first = essence(head.info, model.fields);
      ASSERT_TRUE(serialize_response(model, framing_of(head.info), wire).ok());
      ResponseHead again;
      const ParseResult r = parse_response_head(wire, again, context);
      ASSERT_TRUE(r.is_complete()) << testing::escape(wire) << " " << to_string(r.error());
      EXPECT_EQ(again.status, head.status);
      EXPECT_EQ(again.reason, head.reason);
      EXPECT_EQ(essence(again.info, to_model(again).fields), first) << testing::escape(wire);
    }
    ++checked;
  }
  EXPECT_GE(checked, 40u);
}

}  // namespace
}  // namespace trellis::http::h1
