// ClientConnection against serve_h1 over loopback, and against scripted raw servers for the
// edge cases a real server rarely produces on demand.

#include "http/h1conn/client_connection.h"

// GCC 12 at -O2 flags Asio's awaitable frame operator delete as "mismatched" once it inlines
// the frame allocation (a known false positive with coroutines).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <gtest/gtest.h>

#include "http/h1conn/test_support.h"

namespace trellis::http::h1 {
namespace {

using namespace testing;

// The server side of the round trips: echoes the request body back, streaming (the response
// body *is* the request body, so the server writes while it is still reading).
awaitable<Response> stream_echo(Request request) {
  Response r;
  r.head.headers.add("x-path", request.head.path);
  r.head.headers.add("x-authority", request.head.authority);
  r.body = std::move(request.body);
  co_return r;
}

struct Harness {
  asio::io_context io;
  TestService service{stream_echo};
  TestServer server{io, service};
};

TEST(H1Client, RequestsReuseOneConnectionAgainstTheServer) {
  Harness h;
  std::vector<std::string> bodies;
  std::vector<bool> idle_after;
  Headers trailers_seen;
  ASSERT_TRUE(run_test(h.io, [&]() -> awaitable<void> {
    ClientConnection conn(co_await connect_transport(h.server.port()));
    Headers trailers;
    trailers.add("x-sum", "42");
    std::vector<Request> requests;
    requests.push_back(make_request("GET", "/a?b=c"));
    requests.push_back(make_request("POST", "/known", make_buffered_body("known size")));
    requests.push_back(make_request(
        "POST", "/chunked", std::make_unique<GeneratedBody>(3000, 1000, false, trailers)));
    requests.push_back(make_request("GET", "/last"));
    for (auto& request : requests) {
      auto response = co_await conn.send(std::move(request));
      if (!response) {
        ADD_FAILURE() << to_string(response.error().kind);
        co_return;
      }
      EXPECT_EQ(response->head.status, 200);
      auto all = co_await read_all(*response->body, 1 << 20);
      EXPECT_TRUE(all.ok());
      if (!all) co_return;
      if (!all->trailers.empty()) trailers_seen = all->trailers;
      bodies.push_back(all->data);
      idle_after.push_back(conn.is_idle());
    }
    EXPECT_EQ(conn.requests_sent(), 4u);
  }));
  ASSERT_EQ(bodies.size(), 4u);
  EXPECT_EQ(bodies[0], "");
  EXPECT_EQ(bodies[1], "known size");
  EXPECT_EQ(bodies[2], pattern(3000));
  EXPECT_EQ(bodies[3], "");
  EXPECT_EQ(idle_after, std::vector<bool>(4, true));
  EXPECT_EQ(trailers_seen.get("x-sum"), "42");  // request trailers made it through both ways
  EXPECT_EQ(h.server.accepted(), 1u);
  EXPECT_EQ(h.service.calls, 4);
}

TEST(H1Client, ThousandSequentialRequestsOnOneConnection) {
  Harness h;
  int ok = 0;
  ASSERT_TRUE(run_test(h.io, [&]() -> awaitable<void> {
    ClientConnection conn(co_await connect_transport(h.server.port()));
    for (int i = 0; i < 1000; ++i) {
      auto response = co_await conn.send(make_request("POST", "/n", make_buffered_body("ping")));
      if (!response) break;
      auto all = co_await read_all(*response->body, 1024);
      if (all && all->data == "ping" && conn.is_idle()) ++ok;
    }
  }));
  EXPECT_EQ(ok, 1000);
  EXPECT_EQ(h.server.accepted(), 1u);
  EXPECT_EQ(h.server.counters().responses_total.load(), 1000u);
}

TEST(H1Client, LargeBodiesStreamBothWaysAtOnce) {
  // 8 MiB echoed while it is being sent: only completes if the client reads the response
  // while its request body is still going out (full duplex), in bounded chunks.
  constexpr uint64_t kSize = 8 << 20;
  Harness h;
  BodyStats got;
  ASSERT_TRUE(run_test(h.io, [&]() -> awaitable<void> {
    ClientConnection conn(co_await connect_transport(h.server.port()));
    auto response = co_await conn.send(make_request(
        "POST", "/echo", std::make_unique<GeneratedBody>(kSize, 60000, false)));
    if (!response) {
      ADD_FAILURE() << to_string(response.error().kind);
      co_return;
    }
    got = co_await drain_body(*response->body);
    EXPECT_TRUE(conn.is_idle());
  }));
  EXPECT_EQ(got.error, "");
  EXPECT_EQ(got.bytes, kSize);
  EXPECT_TRUE(got.pattern_ok);
  EXPECT_LE(got.max_chunk, 64u * 1024 + 16 * 1024);
  EXPECT_GE(got.chunks, kSize / (80 * 1024));
}

TEST(H1Client, HeadIsWrittenWithOneFramingAndNoHopByHopFields) {
  asio::io_context io;
  std::vector<RawRequest> seen;
  ScriptedServer server(io, [&](tcp::socket& s, int) -> awaitable<void> {
    std::string buffer;
    for (int i = 0; i < 2; ++i) {
      seen.push_back(co_await read_request(s, buffer));
      co_await write_str(s, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    }
  });
  ASSERT_TRUE(run_test(io, [&]() -> awaitable<void> {
    ClientConnection conn(co_await connect_transport(server.port()));
    for (bool known : {true, false}) {
      Request r = make_request("POST", "/p?q=1", std::make_unique<GeneratedBody>(5, 5, known),
                               "auth.test:81");
      r.head.headers.add("x-a", "1");
      r.head.headers.add("x-b", "2");
      r.head.headers.add("connection", "close, x-a");
      r.head.headers.add("keep-alive", "timeout=1");
      r.head.headers.add("transfer-encoding", "gzip, chunked");
      r.head.headers.add("content-length", "99");
      r.head.headers.add("te", "trailers");
      r.head.headers.add("host", "spoofed");
      auto response = co_await conn.send(std::move(r));
      EXPECT_TRUE(response.ok());
    }
  }));
  ASSERT_EQ(seen.size(), 2u);
  // The Host comes from the authority; the model's own framing, Host and hop-by-hop fields are
  // dropped, and so is x-a because the model's Connection field names it (the serializer's
  // rule); TE is reduced to "trailers".
  EXPECT_EQ(seen[0].head,
            "POST /p?q=1 HTTP/1.1\r\nHost: auth.test:81\r\nx-b: 2\r\nContent-Length: 5\r\n"
            "TE: trailers\r\nConnection: te\r\n\r\n");
  EXPECT_EQ(seen[0].body, pattern(5));
  EXPECT_EQ(seen[1].head,
            "POST /p?q=1 HTTP/1.1\r\nHost: auth.test:81\r\nx-b: 2\r\n"
            "Transfer-Encoding: chunked\r\nTE: trailers\r\nConnection: te\r\n\r\n");
  EXPECT_EQ(seen[1].body, pattern(5));
}

TEST(H1Client, ServerClosingBeforeAnyResponseIsReportedWithRequestSent) {
  asio::io_context io;
  ScriptedServer server(io, [&](tcp::socket& s, int) -> awaitable<void> {
    std::string buffer;
    co_await read_request(s, buffer);
    s.close();
  });
  std::optional<ClientError> error;
  ASSERT_TRUE(run_test(io, [&]() -> awaitable<void> {
    ClientConnection conn(co_await connect_transport(server.port()));
    auto response = co_await conn.send(make_request("GET", "/"));
    if (!response) error = response.error();
    EXPECT_FALSE(conn.is_open());
  }));
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->kind, ClientError::Kind::kClosedBeforeResponse);
  EXPECT_TRUE(error->request_sent);
  EXPECT_FALSE(error->retryable());
}

TEST(H1Client, ServerClosingInsideTheHeadIsAProtocolError) {
  asio::io_context io;
  ScriptedServer server(io, [&](tcp::socket& s, int) -> awaitable<void> {
    std::string buffer;
    co_await read_request(s, buffer);
    co_await write_str(s, "HTTP/1.1 200 OK\r\nContent-Le");
    s.close();
  });
  std::optional<ClientError> error;
  ASSERT_TRUE(run_test(io, [&]() -> awaitable<void> {
    ClientConnection conn(co_await connect_transport(server.port()));
    auto response = co_await conn.send(make_request("GET", "/"));
    if (!response) error = response.error();
  }));
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->kind, ClientError::Kind::kProtocol);
  EXPECT_FALSE(error->parse_error.has_value());
}

// Scripted responses to one GET, and what the client must make of them.
struct ScriptCase {
  const char* name;
  std::string response;
  std::string expect;  // "error:<kind>[:<parse error>]" or "body:<data>|<body error>|idle=<0/1>"
};

class H1ClientScripted : public ::testing::TestWithParam<ScriptCase> {};

TEST_P(H1ClientScripted, Outcome) {
  const ScriptCase& c = GetParam();
  asio::io_context io;
  ScriptedServer server(io, [&](tcp::socket& s, int) -> awaitable<void> {
    std::string buffer;
    co_await read_request(s, buffer);
    co_await write_str(s, c.response);
    s.shutdown(tcp::socket::shutdown_send);
    co_await read_to_eof(s);
  });
  std::string outcome;
  ASSERT_TRUE(run_test(io, [&]() -> awaitable<void> {
    ClientConnection conn(co_await connect_transport(server.port()));
    auto response = co_await conn.send(make_request("GET", "/"));
    if (!response) {
      outcome = std::string("error:") + to_string(response.error().kind);
      if (response.error().parse_error) {
        outcome += std::string(":") + std::string(to_string(*response.error().parse_error));
      }
      co_return;
    }
    std::string body_error;
    std::string body = co_await read_body_string(*response->body, &body_error);
    outcome = "body:" + body + "|" + body_error + "|idle=" + (conn.is_idle() ? "1" : "0");
  }));
  EXPECT_EQ(outcome, c.expect);
}

const ScriptCase kScriptCases[] = {
    {"cl_and_te", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
     "error:protocol:cl_te_conflict"},
    {"conflicting_cl", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
     "error:protocol:conflicting_content_length"},
    {"obs_fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n",
     "error:protocol:obs_fold"},
    {"bad_status", "HTTP/1.1 2000 OK\r\n\r\n", "error:protocol:invalid_status_code"},
    {"not_http", "SSH-2.0-OpenSSH\r\n\r\n", "error:protocol:invalid_version"},
    {"truncated_chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
     "body:hel|peer_reset|idle=0"},
    {"truncated_length", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
     "body:hello|peer_reset|idle=0"},
    {"bad_chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZ\r\nhello\r\n0\r\n\r\n",
     "body:|malformed|idle=0"},
    {"close_delimited", "HTTP/1.1 200 OK\r\n\r\nuntil the end", "body:until the end||idle=0"},
    {"interim_then_final",
     "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
     "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
     "body:ok||idle=1"},
    {"chunked_with_trailers",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-T: 1\r\n\r\n",
     "body:ok||idle=1"},
    {"connection_close", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
     "body:ok||idle=0"},
    {"extra_bytes_after_body", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK",
     "body:ok||idle=0"},
    {"unrequested_101", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
     "error:protocol"},
    {"http10_close", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", "body:ok||idle=0"},
};

INSTANTIATE_TEST_SUITE_P(Responses, H1ClientScripted, ::testing::ValuesIn(kScriptCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(H1Client, HeadResponseCarriesTheDeclaredLengthAndNoBody) {
  asio::io_context io;
  std::vector<RawRequest> seen;
  ScriptedServer server(io, [&](tcp::socket& s, int) -> awaitable<void> {
    std::string buffer;
    seen.push_back(co_await read_request(s, buffer));
    co_await write_str(s, "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n");
    seen.push_back(co_await read_request(s, buffer));
    co_await write_str(s, "HTTP/1.1 204 No Content\r\n\r\n");
  });
  std::optional<uint64_t> hint;
  bool empty = false, idle_after_head = false, idle_after_204 = false;
  ASSERT_TRUE(run_test(io, [&]() -> awaitable<void> {
    ClientConnection conn(co_await connect_transport(server.port()));
    auto head = co_await conn.send(make_request("HEAD", "/"));
    EXPECT_TRUE(head.ok());
    if (!head) co_return;
    hint = head->body->size_hint();
    empty = head->body->is_empty();
    idle_after_head = conn.is_idle();
    auto second = co_await conn.send(make_request("DELETE", "/x"));
    EXPECT_TRUE(second.ok());
    idle_after_204 = conn.is_idle();
  }));
  EXPECT_EQ(hint, 1234u);
  EXPECT_TRUE(empty);
  EXPECT_TRUE(idle_after_head);
  EXPECT_TRUE(idle_after_204);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].head, "DELETE /x HTTP/1.1\r\nHost: test\r\n\r\n");
}

TEST(H1Client, ResponseHeadTimeout) {
  asio::io_context io;
  ScriptedServer server(io, [&](tcp::socket& s, int) -> awaitable<void> {
    std::string buffer;
    co_await read_request(s, buffer);
    co_await read_to_eof(s);  // never answers
  });
  ClientOptions options;
  options.response_timeout = 150ms;
  std::optional<ClientError> error;
  ASSERT_TRUE(run_test(io, [&]() -> awaitable<void> {
    ClientConnection conn(co_await connect_transport(server.port()), options);
    auto response = co_await conn.send(make_request("GET", "/"));
    if (!response) error = response.error();
  }));
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->kind, ClientError::Kind::kTimeout);
  EXPECT_TRUE(error->request_sent);
}

TEST(H1Client, ExpectContinueHoldsTheBodyUntilTheServerAsks) {
  asio::io_context io;
  size_t bytes_before_continue = 99;
  RawRequest seen;
  ScriptedServer server(io, [&](tcp::socket& s, int) -> awaitable<void> {
    std::string buffer;
    char tmp[4096];
    while (buffer.find("\r\n\r\n") == std::string::npos) {
      size_t n = co_await s.async_read_some(asio::buffer(tmp), asio::use_awaitable);
      buffer.append(tmp, n);
    }
    co_await sleep_for(100ms);
    bytes_before_continue = buffer.size() - (buffer.find("\r\n\r\n") + 4) + s.available();
    co_await write_str(s, "HTTP/1.1 100 Continue\r\n\r\n");
    seen = co_await read_request(s, buffer);
    co_await write_str(s, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  });
  ClientOptions options;
  options.expect_continue_timeout = 10s;  // a bound: the 100 is what releases the body
  ASSERT_TRUE(run_test(io, [&]() -> awaitable<void> {
    ClientConnection conn(co_await connect_transport(server.port()), options);
    Request r = make_request("PUT", "/x", make_buffered_body("payload"));
    r.head.headers.add("expect", "100-continue");
    auto response = co_await conn.send(std::move(r));
    EXPECT_TRUE(response.ok());
    if (response) {
      EXPECT_EQ(response->head.status, 200);
    }
    EXPECT_TRUE(conn.is_idle());
  }));
  EXPECT_EQ(bytes_before_continue, 0u);
  EXPECT_EQ(seen.body, "payload");
}

TEST(H1Client, FinalResponseInsteadOfContinueSkipsTheBodyAndRetiresTheConnection) {
  asio::io_context io;
  ScriptedServer server(io, [&](tcp::socket& s, int) -> awaitable<void> {
    std::string buffer;
    char tmp[4096];
    while (buffer.find("\r\n\r\n") == std::string::npos) {
      size_t n = co_await s.async_read_some(asio::buffer(tmp), asio::use_awaitable);
      buffer.append(tmp, n);
    }
    co_await write_str(s, "HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n");
    co_await read_to_eof(s);
  });
  ClientOptions options;
  options.expect_continue_timeout = 10s;
  int status = 0;
  bool open_after = true;
  ASSERT_TRUE(run_test(io, [&]() -> awaitable<void> {
    ClientConnection conn(co_await connect_transport(server.port()), options);
    Request r = make_request("PUT", "/x", make_buffered_body("payload"));
    r.head.headers.add("expect", "100-continue");
    auto response = co_await conn.send(std::move(r));
    if (response) status = response->head.status;
    for (int i = 0; i < 100 && conn.is_open(); ++i) co_await sleep_for(5ms);
    open_after = conn.is_open();
  }));
  EXPECT_EQ(status, 417);
  EXPECT_FALSE(open_after);
}

TEST(H1Client, UpgradeHandsOverTheStream) {
  asio::io_context io;
  std::string tunnel_received;
  ScriptedServer server(io, [&](tcp::socket& s, int) -> awaitable<void> {
    std::string buffer;
    auto request = co_await read_request(s, buffer);
    EXPECT_NE(request.head.find("upgrade: websocket\r\n"), std::string::npos) << request.head;
    EXPECT_NE(request.head.find("Connection: upgrade\r\n"), std::string::npos) << request.head;
    co_await write_str(s, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          "Connection: upgrade\r\n\r\nFROM-SERVER");
    char tmp[64];
    size_t n = co_await s.async_read_some(asio::buffer(tmp), asio::use_awaitable);
    tunnel_received.assign(tmp, n);
  });
  std::string buffered;
  ASSERT_TRUE(run_test(io, [&]() -> awaitable<void> {
    ClientConnection conn(co_await connect_transport(server.port()));
    Request r = make_request("GET", "/ws");
    r.head.headers.add("upgrade", "websocket");
    auto response = co_await conn.send(std::move(r));
    EXPECT_TRUE(response.ok());
    if (!response) co_return;
    EXPECT_EQ(response->head.status, 101);
    EXPECT_EQ(response->head.headers.get("upgrade"), "websocket");
    EXPECT_TRUE(conn.is_upgraded());
    EXPECT_FALSE(conn.is_idle());
    auto tunnel = conn.take_tunnel();
    EXPECT_TRUE(tunnel.has_value());
    if (!tunnel) co_return;
    buffered = tunnel->buffered;
    const asio::const_buffer b = asio::buffer("FROM-CLIENT", 11);
    co_await tunnel->transport->write(std::span(&b, 1));
    while (server.finished() == 0) co_await sleep_for(5ms);
  }));
  EXPECT_EQ(buffered, "FROM-SERVER");
  EXPECT_EQ(tunnel_received, "FROM-CLIENT");
}

TEST(H1Client, FailingRequestBodyAbortsTheRequest) {
  struct FailingBody final : Body {
    int calls = 0;
    awaitable<base::Result<BodyChunk, BodyError>> next() override {
      if (calls++ == 0) co_return BodyChunk{"part", false, {}};
      co_return base::unexpected(BodyError::kMalformed);
    }
  };
  asio::io_context io;
  RawRequest seen;
  ScriptedServer server(io, [&](tcp::socket& s, int) -> awaitable<void> {
    std::string buffer;
    seen = co_await read_request(s, buffer);
  });
  std::optional<ClientError> error;
  ASSERT_TRUE(run_test(io, [&]() -> awaitable<void> {
    ClientConnection conn(co_await connect_transport(server.port()));
    auto response =
        co_await conn.send(make_request("POST", "/", std::make_unique<FailingBody>()));
    if (!response) error = response.error();
    while (server.finished() == 0) co_await sleep_for(5ms);
  }));
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->kind, ClientError::Kind::kRequestBody);
  EXPECT_EQ(error->body_error, BodyError::kMalformed);
  // The server saw a cut-off chunked body, never a complete request.
  EXPECT_FALSE(seen.ok);
  EXPECT_EQ(seen.error, "eof_in_body");
}

TEST(H1Client, BusyConnectionRefusesASecondRequest) {
  Harness h;
  std::optional<ClientError> error;
  ASSERT_TRUE(run_test(h.io, [&]() -> awaitable<void> {
    ClientConnection conn(co_await connect_transport(h.server.port()));
    auto first = co_await conn.send(make_request("POST", "/", make_buffered_body("x")));
    EXPECT_TRUE(first.ok());
    auto second = co_await conn.send(make_request("GET", "/"));  // first body not read yet
    if (!second) error = second.error();
  }));
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->kind, ClientError::Kind::kUnavailable);
  EXPECT_TRUE(error->retryable());
}

TEST(H1Client, DroppingAnUnreadResponseBodyClosesTheConnection) {
  Harness h;
  bool open_after = true;
  ASSERT_TRUE(run_test(h.io, [&]() -> awaitable<void> {
    ClientConnection conn(co_await connect_transport(h.server.port()));
    {
      auto response = co_await conn.send(make_request("POST", "/", make_buffered_body("x")));
      EXPECT_TRUE(response.ok());
    }
    open_after = conn.is_open();
  }));
  EXPECT_FALSE(open_after);
}

}  // namespace
}  // namespace trellis::http::h1
