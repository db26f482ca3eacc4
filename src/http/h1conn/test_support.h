#pragma once
// Test-only helpers for the HTTP/1 connection tests: everything runs on one io_context on the
// test thread (a server accepting on 127.0.0.1:0, raw scripted peers, the code under test), so
// tests are deterministic; wall-clock limits are only upper bounds that turn a hang into a
// failure.

#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/body.h"
#include "http/h1/chunked.h"
#include "http/h1/parser.h"
#include "http/h1conn/server_connection.h"
#include "http/h1conn/transport.h"
#include "http/service.h"
#include "net/asio.h"

namespace trellis::http::h1::testing {

namespace asio = net::asio;
using net::awaitable;
using net::tcp;
using namespace std::chrono_literals;

// Runs the io_context until `done()` or `bound` elapses; false on timeout.
inline bool run_until(asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds bound = 30s) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.run_one_for(50ms);
  }
  return true;
}

// Runs a test coroutine to completion (rethrowing its exceptions); false on timeout.
inline bool run_test(asio::io_context& io, std::function<awaitable<void>()> test,
                     std::chrono::milliseconds bound = 30s) {
  bool finished = false;
  std::exception_ptr error;
  asio::co_spawn(io, std::move(test), [&](std::exception_ptr e) {
    finished = true;
    error = e;
  });
  const bool ok = run_until(io, [&] { return finished; }, bound);
  if (error) std::rethrow_exception(error);
  return ok;
}

inline awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(net::use_nothrow);
}

// Deterministic content: byte i of a generated body.
inline char pattern_byte(uint64_t i) { return static_cast<char>('a' + (i * 7 + i / 251) % 26); }

inline std::string pattern(size_t size) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = pattern_byte(i);
  return s;
}

// A body produced chunk by chunk (never held whole), with or without a known size.
class GeneratedBody final : public Body {
 public:
  GeneratedBody(uint64_t size, size_t chunk, bool known_size, Headers trailers = {})
      : size_(size), chunk_(chunk), known_(known_size), trailers_(std::move(trailers)) {}
  awaitable<base::Result<BodyChunk, BodyError>> next() override {
    BodyChunk c;
    const uint64_t n = std::min<uint64_t>(chunk_, size_ - offset_);
    c.data.resize(n);
    for (uint64_t i = 0; i < n; ++i) c.data[i] = pattern_byte(offset_ + i);
    offset_ += n;
    c.end_of_stream = offset_ == size_;
    if (c.end_of_stream) c.trailers = trailers_;
    co_return c;
  }
  std::optional<uint64_t> size_hint() const override {
    return known_ ? std::optional(size_) : std::nullopt;
  }

 private:
  uint64_t size_;
  size_t chunk_;
  bool known_;
  Headers trailers_;
  uint64_t offset_ = 0;
};

// Reads a body to its end, checking it against pattern() without keeping it.
struct BodyStats {
  uint64_t bytes = 0;
  size_t chunks = 0;
  size_t max_chunk = 0;
  bool pattern_ok = true;
  std::string error;  // BodyError name, or empty
  Headers trailers;
};
inline awaitable<BodyStats> drain_body(Body& body) {
  BodyStats s;
  while (true) {
    auto c = co_await body.next();
    if (!c) {
      s.error = to_string(c.error());
      co_return s;
    }
    for (size_t i = 0; i < c->data.size(); ++i) {
      if (c->data[i] != pattern_byte(s.bytes + i)) s.pattern_ok = false;
    }
    s.bytes += c->data.size();
    if (!c->data.empty()) ++s.chunks;
    s.max_chunk = std::max(s.max_chunk, c->data.size());
    if (c->end_of_stream) {
      s.trailers = c->trailers;
      co_return s;
    }
  }
}

inline awaitable<std::string> read_body_string(Body& body, std::string* error = nullptr) {
  std::string out;
  while (true) {
    auto c = co_await body.next();
    if (!c) {
      if (error) *error = to_string(c.error());
      co_return out;
    }
    out += c->data;
    if (c->end_of_stream) co_return out;
  }
}

// A Service backed by a lambda, counting calls and the most calls ever in flight at once.
class TestService final : public Service {
 public:
  using Handler = std::function<awaitable<Response>(Request)>;
  explicit TestService(Handler handler) : handler_(std::move(handler)) {}
  awaitable<Response> call(Request request) override {
    ++calls;
    ++in_flight;
    max_in_flight = std::max(max_in_flight, in_flight);
    Response r = co_await handler_(std::move(request));
    --in_flight;
    co_return r;
  }
  int calls = 0;
  int in_flight = 0;
  int max_in_flight = 0;

 private:
  Handler handler_;
};

// Accepts on 127.0.0.1:0 and runs serve_h1 on every connection; keeps each ServerResult.
class TestServer {
 public:
  using TunnelHook = std::function<awaitable<void>(tcp::socket&, ServerResult&)>;

  TestServer(asio::io_context& io, Service& service, ServerOptions options = {})
      : io_(io), service_(service), options_(std::move(options)), acceptor_(io) {
    tcp::endpoint ep(asio::ip::address_v4::loopback(), 0);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    asio::co_spawn(io_, accept_loop(), asio::detached);
  }
  // Connections still open (a pooled client's idle connection, say) are shut down and allowed
  // to finish: their coroutines reference this object.
  ~TestServer() {
    net::error_code ec;
    acceptor_.close(ec);
    shutdown_.trigger();
    run_until(io_, [&] { return active_ == 0; }, 10s);
  }

  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  ServerCounters& counters() { return counters_; }
  ShutdownSignal& shutdown() { return shutdown_; }
  const std::vector<ServerResult>& results() const { return results_; }
  size_t accepted() const { return accepted_; }
  void on_tunnel(TunnelHook hook) { tunnel_hook_ = std::move(hook); }
  // Runs the io_context until `n` connections have finished.
  bool wait_for_results(size_t n, std::chrono::milliseconds bound = 10s) {
    return run_until(io_, [&] { return results_.size() >= n; }, bound);
  }

 private:
  awaitable<void> accept_loop() {
    while (true) {
      auto [ec, socket] = co_await acceptor_.async_accept(net::use_nothrow);
      if (ec) co_return;
      ++accepted_;
      asio::co_spawn(io_, serve_one(std::move(socket)), asio::detached);
    }
  }
  awaitable<void> serve_one(tcp::socket socket) {
    ++active_;
    auto info = std::make_shared<ConnectionInfo>();
    info->id = accepted_;
    ServerResult r = co_await serve_h1(socket, "", service_, options_, info, &counters_,
                                       &shutdown_);
    if (r.reason == ServerClose::kTunnel && tunnel_hook_) co_await tunnel_hook_(socket, r);
    results_.push_back(std::move(r));
    --active_;
  }

  asio::io_context& io_;
  Service& service_;
  ServerOptions options_;
  tcp::acceptor acceptor_;
  ServerCounters counters_;
  ShutdownSignal shutdown_;
  std::vector<ServerResult> results_;
  size_t accepted_ = 0;
  size_t active_ = 0;
  TunnelHook tunnel_hook_;
};

// --- Raw peers -------------------------------------------------------------------------------

inline awaitable<tcp::socket> connect_to(uint16_t port) {
  tcp::socket socket(co_await asio::this_coro::executor);
  co_await socket.async_connect(tcp::endpoint(asio::ip::address_v4::loopback(), port),
                                asio::use_awaitable);
  co_return socket;
}

inline awaitable<void> write_str(tcp::socket& socket, std::string_view data) {
  co_await asio::async_write(socket, asio::buffer(data.data(), data.size()), asio::use_awaitable);
}

// Everything until the peer closes (EOF or reset).
inline awaitable<std::string> read_to_eof(tcp::socket& socket) {
  std::string out;
  char buf[16384];
  while (true) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf), net::use_nothrow);
    out.append(buf, n);
    if (ec) co_return out;
  }
}

// A response as a raw client sees it.
struct RawResponse {
  bool ok = false;  // a complete response was read
  std::string error;
  int status = 0;
  std::string head;  // the raw head bytes
  std::vector<std::pair<std::string, std::string>> fields;
  std::string body;
  std::vector<std::pair<std::string, std::string>> trailers;
  bool keep_alive = false;
  BodyFraming framing;

  std::optional<std::string> field(std::string_view name) const {
    for (const auto& [n, v] : fields) {
      if (n.size() == name.size() &&
          std::equal(n.begin(), n.end(), name.begin(),
                     [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
        return v;
      }
    }
    return std::nullopt;
  }
};

// Reads one response from `socket`; `buffer` carries bytes between calls (pipelining).
inline awaitable<RawResponse> read_response(tcp::socket& socket, std::string& buffer,
                                            bool request_was_head = false) {
  RawResponse out;
  char tmp[16384];
  auto fill = [&]() -> awaitable<bool> {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(tmp), net::use_nothrow);
    buffer.append(tmp, n);
    co_return !ec;
  };
  ResponseParser parser(Limits{}, ResponseContext{request_was_head, false});
  ResponseHead head;
  while (true) {
    const ParseResult r = parser.parse(buffer, head);
    if (r.is_error()) {
      out.error = "parse:" + std::string(to_string(r.error()));
      co_return out;
    }
    if (r.is_complete()) {
      out.status = head.status;
      out.head = buffer.substr(0, r.consumed());
      for (const auto& f : head.fields) out.fields.emplace_back(f.name, f.value);
      out.keep_alive = head.info.keep_alive;
      out.framing = head.info.body;
      buffer.erase(0, r.consumed());
      if (!head.info.interim) break;
      parser.reset(ResponseContext{request_was_head, false});
      out.fields.clear();
      continue;
    }
    if (!co_await fill()) {
      out.error = buffer.empty() ? "eof" : "eof_in_head";
      co_return out;
    }
  }
  switch (out.framing.kind) {
    case BodyKind::kNone:
      break;
    case BodyKind::kContentLength:
      while (buffer.size() < out.framing.length) {
        if (!co_await fill()) {
          out.error = "eof_in_body";
          co_return out;
        }
      }
      out.body = buffer.substr(0, out.framing.length);
      buffer.erase(0, out.framing.length);
      break;
    case BodyKind::kChunked: {
      ChunkedDecoder dec;
      while (true) {
        const ChunkEvent ev = dec.decode(buffer);
        if (ev.kind == ChunkEvent::Kind::kData) out.body.append(ev.data);
        if (ev.kind == ChunkEvent::Kind::kError) {
          out.error = "chunk:" + std::string(to_string(ev.error));
          co_return out;
        }
        buffer.erase(0, ev.consumed);
        if (ev.kind == ChunkEvent::Kind::kDone) {
          for (const auto& f : dec.trailers()) out.trailers.emplace_back(f.name, f.value);
          break;
        }
        if (ev.kind == ChunkEvent::Kind::kNeedMore && !co_await fill()) {
          out.error = "eof_in_body";
          co_return out;
        }
      }
      break;
    }
    case BodyKind::kCloseDelimited:
      while (co_await fill()) {
      }
      out.body = std::move(buffer);
      buffer.clear();
      break;
  }
  out.ok = true;
  co_return out;
}

inline awaitable<RawResponse> read_response(tcp::socket& socket, bool request_was_head = false) {
  std::string buffer;
  co_return co_await read_response(socket, buffer, request_was_head);
}

// A request as a raw server sees it.
struct RawRequest {
  bool ok = false;
  std::string error;
  std::string head;  // the raw head bytes
  std::string body;
  std::vector<std::pair<std::string, std::string>> trailers;
};

// Reads one request (head and body) from `socket`; `buffer` carries bytes between calls.
inline awaitable<RawRequest> read_request(tcp::socket& socket, std::string& buffer) {
  RawRequest out;
  char tmp[16384];
  auto fill = [&]() -> awaitable<bool> {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(tmp), net::use_nothrow);
    buffer.append(tmp, n);
    co_return !ec;
  };
  RequestParser parser;
  RequestHead head;
  while (true) {
    const ParseResult r = parser.parse(buffer, head);
    if (r.is_error()) {
      out.error = "parse:" + std::string(to_string(r.error()));
      co_return out;
    }
    if (r.is_complete()) {
      out.head = buffer.substr(0, r.consumed());
      buffer.erase(0, r.consumed());
      break;
    }
    if (!co_await fill()) {
      out.error = "eof";
      co_return out;
    }
  }
  const BodyFraming framing = head.info.body;  // copied: head views die with the erase above
  if (framing.kind == BodyKind::kContentLength) {
    while (buffer.size() < framing.length) {
      if (!co_await fill()) {
        out.error = "eof_in_body";
        co_return out;
      }
    }
    out.body = buffer.substr(0, framing.length);
    buffer.erase(0, framing.length);
  } else if (framing.kind == BodyKind::kChunked) {
    ChunkedDecoder dec;
    while (true) {
      const ChunkEvent ev = dec.decode(buffer);
      if (ev.kind == ChunkEvent::Kind::kData) out.body.append(ev.data);
      if (ev.kind == ChunkEvent::Kind::kError) {
        out.error = "chunk:" + std::string(to_string(ev.error));
        co_return out;
      }
      buffer.erase(0, ev.consumed);
      if (ev.kind == ChunkEvent::Kind::kDone) {
        for (const auto& f : dec.trailers()) out.trailers.emplace_back(f.name, f.value);
        break;
      }
      if (ev.kind == ChunkEvent::Kind::kNeedMore && !co_await fill()) {
        out.error = "eof_in_body";
        co_return out;
      }
    }
  }
  out.ok = true;
  co_return out;
}

// A listener whose connections are served by a script: script(socket, index) for the index-th
// accepted connection (0-based).
class ScriptedServer {
 public:
  using Script = std::function<awaitable<void>(tcp::socket&, int)>;
  ScriptedServer(asio::io_context& io, Script script)
      : io_(io), script_(std::move(script)), acceptor_(io) {
    tcp::endpoint ep(asio::ip::address_v4::loopback(), 0);
    acceptor_.open(ep.protocol());
    acceptor_.bind(ep);
    acceptor_.listen();
    asio::co_spawn(io_, accept_loop(), asio::detached);
  }
  ~ScriptedServer() {
    net::error_code ec;
    acceptor_.close(ec);
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int accepted() const { return accepted_; }
  int finished() const { return finished_; }

 private:
  awaitable<void> accept_loop() {
    while (true) {
      auto [ec, socket] = co_await acceptor_.async_accept(net::use_nothrow);
      if (ec) co_return;
      asio::co_spawn(io_, run(std::move(socket), accepted_++), asio::detached);
    }
  }
  awaitable<void> run(tcp::socket socket, int index) {
    co_await script_(socket, index);
    ++finished_;
  }

  asio::io_context& io_;
  Script script_;
  tcp::acceptor acceptor_;
  int accepted_ = 0;
  int finished_ = 0;
};

// A connected ClientConnection-ready transport.
inline awaitable<std::unique_ptr<Transport>> connect_transport(uint16_t port) {
  co_return std::make_unique<TcpTransport>(co_await connect_to(port));
}

inline Request make_request(std::string method, std::string path,
                            BodyPtr body = make_empty_body(), std::string authority = "test") {
  Request r;
  r.head.method = std::move(method);
  r.head.scheme = "http";
  r.head.authority = std::move(authority);
  r.head.path = std::move(path);
  r.body = std::move(body);
  return r;
}

}  // namespace trellis::http::h1::testing
