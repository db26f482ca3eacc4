#pragma once
// Tiny in-process servers for loadgen_test (tests only): an HTTP/1.1 keep-alive server built on
// the strict request parser, and an h2c server built on an nghttp2 server session, answering
// plain requests or unary gRPC. Each runs its own io_context on its own thread, listens on
// 127.0.0.1 port 0, and counts the requests it saw.

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "http/h1/chunked.h"
#include "http/h1/parser.h"
#include "net/asio.h"

namespace trellis::bench::loadgen::testing {

namespace asio = net::asio;
using net::tcp;

class ServerThread {
 public:
  ServerThread() : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {}
  virtual ~ServerThread() { stop(); }

  uint16_t port() const { return port_; }
  std::string url(const std::string& path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  uint64_t requests() const { return requests_.load(); }

 protected:
  void start() {
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(io_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  void stop() {
    if (!thread_.joinable()) return;
    io_.stop();
    thread_.join();
  }
  virtual asio::awaitable<void> serve(tcp::socket socket) = 0;

  asio::io_context io_;
  std::atomic<uint64_t> requests_{0};

 private:
  asio::awaitable<void> accept_loop() {
    while (true) {
      auto [ec, socket] = co_await acceptor_.async_accept(net::use_nothrow);
      if (ec) co_return;
      asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
    }
  }

  tcp::acceptor acceptor_;
  std::thread thread_;
  uint16_t port_ = 0;
};

class Http1Server final : public ServerThread {
 public:
  struct Config {
    int status = 200;
    std::string body = "hello";
    bool chunked = false;
    bool respond = true;  // false: read requests, never answer
  };
  explicit Http1Server(Config config) : config_(std::move(config)) { start(); }
  ~Http1Server() override { stop(); }

 private:
  std::string response() const {
    std::string head = "HTTP/1.1 " + std::to_string(config_.status) + " X\r\n";
    if (!config_.chunked) {
      return head + "Content-Length: " + std::to_string(config_.body.size()) + "\r\n\r\n" +
             config_.body;
    }
    // Two chunks and a trailer, so the client's decoder does real work.
    const size_t half = config_.body.size() / 2;
    auto chunk = [](const std::string& s) {
      char size[32];
      std::snprintf(size, sizeof size, "%zx\r\n", s.size());
      return s.empty() ? std::string() : std::string(size) + s + "\r\n";
    };
    return head + "Transfer-Encoding: chunked\r\n\r\n" + chunk(config_.body.substr(0, half)) +
           chunk(config_.body.substr(half)) + "0\r\nX-Trailer: t\r\n\r\n";
  }

  asio::awaitable<void> serve(tcp::socket socket) override {
    const std::string answer = response();
    std::string buffer;
    char chunk[16384];
    http::h1::RequestParser parser;
    while (true) {
      http::h1::RequestHead head;
      auto result = parser.parse(buffer, head);
      if (result.is_error()) co_return;
      if (result.is_complete()) {
        const uint64_t body = head.info.body.kind == http::h1::BodyKind::kContentLength
                                  ? head.info.body.length
                                  : 0;
        const size_t total = result.consumed() + body;
        if (buffer.size() >= total) {
          buffer.erase(0, total);
          parser.reset();
          ++requests_;
          if (config_.respond) {
            auto [ec, n] = co_await asio::async_write(socket, asio::buffer(answer),
                                                      net::use_nothrow);
            if (ec) co_return;
          }
          continue;
        }
      }
      auto [ec, n] = co_await socket.async_read_some(asio::buffer(chunk), net::use_nothrow);
      if (ec) co_return;
      buffer.append(chunk, n);
    }
  }

  Config config_;
};

// h2c with prior knowledge. Plain requests get `status` and a small body; requests with
// content-type application/grpc get :status 200, one empty gRPC message and grpc-status.
class Http2Server final : public ServerThread {
 public:
  struct Config {
    int status = 200;
    int grpc_status = 0;
  };
  explicit Http2Server(Config config) : config_(config) { start(); }
  ~Http2Server() override { stop(); }

  // The most streams that were open at once on one connection: proof of multiplexing.
  uint64_t max_concurrent_streams() const { return max_open_.load(); }
  // What the last gRPC request looked like.
  std::string last_grpc_body() const {
    std::lock_guard lock(mutex_);
    return last_grpc_body_;
  }
  std::string last_te() const {
    std::lock_guard lock(mutex_);
    return last_te_;
  }

 private:
  struct Request {
    bool grpc = false;
    std::string te;
    std::string body;
  };
  struct Session {
    Http2Server* server = nullptr;
    nghttp2_session* session = nullptr;
    std::map<int32_t, Request> open;
  };

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto* s = static_cast<Session*>(user);
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      s->open[frame->hd.stream_id] = Request{};
      s->server->max_open_.store(
          std::max<uint64_t>(s->server->max_open_.load(), s->open.size()));
    }
    return 0;
  }
  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                       size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                       void* user) {
    auto* s = static_cast<Session*>(user);
    auto it = s->open.find(frame->hd.stream_id);
    if (it == s->open.end()) return 0;
    const std::string n(reinterpret_cast<const char*>(name), namelen);
    const std::string v(reinterpret_cast<const char*>(value), valuelen);
    if (n == "content-type" && v.rfind("application/grpc", 0) == 0) it->second.grpc = true;
    if (n == "te") it->second.te = v;
    return 0;
  }
  static int on_data(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data,
                     size_t len, void* user) {
    auto* s = static_cast<Session*>(user);
    auto it = s->open.find(stream_id);
    if (it != s->open.end()) it->second.body.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }
  static int on_frame_recv(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    auto* s = static_cast<Session*>(user);
    const bool request_end = (frame->hd.type == NGHTTP2_HEADERS ||
                              frame->hd.type == NGHTTP2_DATA) &&
                             (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (!request_end) return 0;
    auto it = s->open.find(frame->hd.stream_id);
    if (it == s->open.end()) return 0;
    s->server->respond(session, frame->hd.stream_id, it->second);
    return 0;
  }
  static int on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t, void* user) {
    static_cast<Session*>(user)->open.erase(stream_id);
    return 0;
  }
  // The whole (small) body in one call; gRPC ends with trailers instead of END_STREAM on data.
  static ssize_t read_body(nghttp2_session* session, int32_t stream_id, uint8_t* buf, size_t,
                           uint32_t* flags, nghttp2_data_source* source, void*) {
    auto* server = static_cast<Http2Server*>(source->ptr);
    const bool grpc = nghttp2_session_get_stream_user_data(session, stream_id) != nullptr;
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (grpc) {
      std::memset(buf, 0, 5);  // one empty message
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      const std::string code = std::to_string(server->config_.grpc_status);
      nghttp2_nv trailer[] = {make_nv("grpc-status", code)};
      nghttp2_submit_trailer(session, stream_id, trailer, 1);
      return 5;
    }
    std::memcpy(buf, "hello", 5);
    return 5;
  }
  // Views, not copies: literals live forever, and the callers' strings outlive the submit.
  static nghttp2_nv make_nv(std::string_view name, std::string_view value) {
    return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                      reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                      value.size(), NGHTTP2_NV_FLAG_NONE};
  }

  void respond(nghttp2_session* session, int32_t stream_id, const Request& request) {
    ++requests_;
    if (request.grpc) {
      std::lock_guard lock(mutex_);
      last_grpc_body_ = request.body;
      last_te_ = request.te;
    }
    // Marks the stream as gRPC for read_body (any non-null pointer).
    if (request.grpc) nghttp2_session_set_stream_user_data(session, stream_id, this);
    const std::string status = request.grpc ? "200" : std::to_string(config_.status);
    const std::string content_type = request.grpc ? "application/grpc" : "text/plain";
    nghttp2_nv headers[] = {make_nv(":status", status), make_nv("content-type", content_type)};
    nghttp2_data_provider provider{};
    provider.source.ptr = this;
    provider.read_callback = &read_body;
    nghttp2_submit_response(session, stream_id, headers, 2, &provider);
  }

  asio::awaitable<void> serve(tcp::socket socket) override {
    Session state;
    state.server = this;
    nghttp2_session_callbacks* callbacks = nullptr;
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, &on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &on_stream_close);
    nghttp2_session_server_new(&state.session, callbacks, &state);
    nghttp2_session_callbacks_del(callbacks);
    std::unique_ptr<nghttp2_session, void (*)(nghttp2_session*)> owner(state.session,
                                                                       &nghttp2_session_del);
    const nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}};
    nghttp2_submit_settings(state.session, NGHTTP2_FLAG_NONE, settings, 1);
    std::vector<uint8_t> buffer(16384);
    while (true) {
      std::string out;
      while (true) {
        const uint8_t* data = nullptr;
        const ssize_t n = nghttp2_session_mem_send(state.session, &data);
        if (n <= 0) break;
        out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
      }
      if (!out.empty()) {
        auto [ec, n] = co_await asio::async_write(socket, asio::buffer(out), net::use_nothrow);
        if (ec) co_return;
      }
      if (nghttp2_session_want_read(state.session) == 0 &&
          nghttp2_session_want_write(state.session) == 0) {
        co_return;
      }
      auto [ec, n] = co_await socket.async_read_some(asio::buffer(buffer), net::use_nothrow);
      if (ec) co_return;
      if (nghttp2_session_mem_recv(state.session, buffer.data(), n) < 0) co_return;
    }
  }

  Config config_;
  std::atomic<uint64_t> max_open_{0};
  mutable std::mutex mutex_;
  std::string last_grpc_body_;
  std::string last_te_;
};

// A port on which nothing listens (bound, then closed).
inline uint16_t unused_port() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

}  // namespace trellis::bench::loadgen::testing
