#pragma once
// Test-only helpers for the HTTP/2 tests (included by *_test.cc only): a raw frame writer with
// a tiny HPACK literal encoder (so tests can send what no well-behaved client would), a blocking
// raw socket client, a server running on its own thread, and a test Service.

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <future>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "http/body.h"
#include "http/h2/client.h"
#include "http/h2/grpc.h"
#include "http/h2/server.h"
#include "http/service.h"
#include "net/asio.h"

namespace trellis::http::h2::testing {

using namespace std::chrono_literals;

// --- Frames ---

enum FrameType : uint8_t {
  kData = 0x0,
  kHeaders = 0x1,
  kPriority = 0x2,
  kRstStream = 0x3,
  kSettings = 0x4,
  kPushPromise = 0x5,
  kPing = 0x6,
  kGoaway = 0x7,
  kWindowUpdate = 0x8,
  kContinuation = 0x9,
};
enum FrameFlag : uint8_t {
  kEndStream = 0x1,
  kAck = 0x1,
  kEndHeaders = 0x4,
  kPadded = 0x8,
};

inline std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

inline std::string frame(uint8_t type, uint8_t flags, uint32_t stream_id,
                         std::string_view payload) {
  std::string f;
  const auto len = static_cast<uint32_t>(payload.size());
  f.push_back(static_cast<char>(len >> 16));
  f.push_back(static_cast<char>(len >> 8));
  f.push_back(static_cast<char>(len));
  f.push_back(static_cast<char>(type));
  f.push_back(static_cast<char>(flags));
  f += be32(stream_id & 0x7fffffff);
  f += payload;
  return f;
}

// HPACK integer with an N-bit prefix (RFC 7541 §5.1).
inline std::string hpack_int(uint32_t value, int prefix_bits, uint8_t high_bits) {
  std::string out;
  const uint32_t max_prefix = (1u << prefix_bits) - 1;
  if (value < max_prefix) {
    out.push_back(static_cast<char>(high_bits | value));
    return out;
  }
  out.push_back(static_cast<char>(high_bits | max_prefix));
  value -= max_prefix;
  while (value >= 128) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
  return out;
}

// "Literal header field without indexing — new name", no Huffman: bytes go through verbatim,
// so tests can put upper-case letters or CR into a field.
inline std::string literal(std::string_view name, std::string_view value) {
  std::string out = "\x00";
  out.resize(1);
  out += hpack_int(static_cast<uint32_t>(name.size()), 7, 0);
  out += name;
  out += hpack_int(static_cast<uint32_t>(value.size()), 7, 0);
  out += value;
  return out;
}

using Fields = std::vector<std::pair<std::string, std::string>>;

inline std::string block(const Fields& fields) {
  std::string out;
  for (const auto& [n, v] : fields) out += literal(n, v);
  return out;
}

inline Fields get_request(std::string path) {
  return {{":method", "GET"}, {":scheme", "http"}, {":authority", "test"}, {":path", path}};
}

inline std::string headers(uint32_t stream, const Fields& fields, bool end_stream = true) {
  return frame(kHeaders, kEndHeaders | (end_stream ? kEndStream : 0), stream, block(fields));
}

inline std::string settings(const std::vector<std::pair<uint16_t, uint32_t>>& entries = {}) {
  std::string payload;
  for (const auto& [id, value] : entries) {
    payload.push_back(static_cast<char>(id >> 8));
    payload.push_back(static_cast<char>(id));
    payload += be32(value);
  }
  return frame(kSettings, 0, 0, payload);
}

inline std::string preface(const std::vector<std::pair<uint16_t, uint32_t>>& entries = {}) {
  return std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") + settings(entries);
}

inline std::string ping(uint64_t opaque) {
  std::string payload = be32(static_cast<uint32_t>(opaque >> 32)) +
                        be32(static_cast<uint32_t>(opaque));
  return frame(kPing, 0, 0, payload);
}

inline std::string rst_stream(uint32_t stream, uint32_t code) {
  return frame(kRstStream, 0, stream, be32(code));
}

inline std::string window_update(uint32_t stream, uint32_t increment) {
  return frame(kWindowUpdate, 0, stream, be32(increment));
}

inline std::string priority(uint32_t stream, uint32_t depends_on) {
  return frame(kPriority, 0, stream, be32(depends_on) + std::string(1, '\x0f'));
}

inline std::string data(uint32_t stream, std::string_view payload, bool end_stream) {
  return frame(kData, end_stream ? kEndStream : 0, stream, payload);
}

struct Frame {
  uint8_t type = 0;
  uint8_t flags = 0;
  uint32_t stream = 0;
  std::string payload;

  uint32_t u32(size_t offset) const {
    auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(payload[i])); };
    return (b(offset) << 24) | (b(offset + 1) << 16) | (b(offset + 2) << 8) | b(offset + 3);
  }
  // RST_STREAM and GOAWAY error codes.
  uint32_t error_code() const { return type == kGoaway ? u32(4) : u32(0); }
};

// A blocking client on a raw socket, for sending frames no real client would.
class RawClient {
 public:
  explicit RawClient(uint16_t port, int receive_buffer = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (receive_buffer > 0) {
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  // Adopts an already-connected socket (e.g. one RawServer accepted).
  static std::unique_ptr<RawClient> adopt(int fd) {
    return std::unique_ptr<RawClient>(new RawClient(fd));
  }
  ~RawClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }

  // Writes everything (or until the peer closes). Returns false if the write failed.
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, 5000) <= 0) return false;
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads frames until `stop` returns true for one, the peer closes, or `timeout` passes.
  std::vector<Frame> read_until(const std::function<bool(const Frame&)>& stop,
                                std::chrono::milliseconds timeout = 5000ms) {
    std::vector<Frame> frames;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      while (auto f = parse_one()) {
        frames.push_back(*f);
        if (stop(frames.back())) return frames;
      }
      if (eof_) return frames;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return frames;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[16384];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        eof_ = true;
        continue;
      }
      in_.append(buf, static_cast<size_t>(n));
    }
  }

  // Server side: consumes the 24-byte client connection preface that precedes the frames.
  bool read_client_magic(std::chrono::milliseconds timeout = 5000ms) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (in_.size() < 24 && !eof_ && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        eof_ = true;
        break;
      }
      in_.append(buf, static_cast<size_t>(n));
    }
    if (in_.compare(0, 24, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") != 0) return false;
    in_.erase(0, 24);
    return true;
  }

  // Reads until the server closes the connection; returns every frame seen.
  std::vector<Frame> read_to_close(std::chrono::milliseconds timeout = 5000ms) {
    return read_until([](const Frame&) { return false; }, timeout);
  }

  bool eof() const { return eof_; }

 private:
  explicit RawClient(int fd) : fd_(fd), connected_(fd >= 0) {}

  std::optional<Frame> parse_one() {
    if (in_.size() < 9) return std::nullopt;
    const auto u = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(in_[i])); };
    const uint32_t len = (u(0) << 16) | (u(1) << 8) | u(2);
    if (in_.size() < 9 + len) return std::nullopt;
    Frame f;
    f.type = static_cast<uint8_t>(in_[3]);
    f.flags = static_cast<uint8_t>(in_[4]);
    f.stream = ((u(5) << 24) | (u(6) << 16) | (u(7) << 8) | u(8)) & 0x7fffffff;
    f.payload = in_.substr(9, len);
    in_.erase(0, 9 + len);
    return f;
  }

  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  std::string in_;
};

inline const Frame* find_frame(const std::vector<Frame>& frames, uint8_t type,
                               std::optional<uint32_t> stream = std::nullopt) {
  for (const auto& f : frames) {
    if (f.type == type && (!stream || f.stream == *stream)) return &f;
  }
  return nullptr;
}

// A scripted HTTP/2 "server" for client tests: accepts one connection on 127.0.0.1 and runs
// `script` with it on its own thread (RawClient's frame reader and writer work either way).
class RawServer {
 public:
  explicit RawServer(std::function<void(RawClient&)> script) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listen_fd_, 1);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, script = std::move(script)] {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 10000) <= 0) return;
      auto conn = RawClient::adopt(::accept(listen_fd_, nullptr, nullptr));
      script(*conn);
    });
  }
  ~RawServer() {
    join();
    ::close(listen_fd_);
  }
  // Waits for the script to finish: read what it recorded only after this (it runs on its own
  // thread and may still be reading when the client side is done).
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  RawServer(const RawServer&) = delete;
  RawServer& operator=(const RawServer&) = delete;
  uint16_t port() const { return port_; }

 private:
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

// --- Bodies ---

// A body of `size` deterministic bytes, produced `chunk` bytes at a time.
class GeneratedBody final : public Body {
 public:
  GeneratedBody(size_t size, size_t chunk = 16 * 1024, Headers trailers = {})
      : left_(size), chunk_(chunk), trailers_(std::move(trailers)) {}
  net::awaitable<base::Result<BodyChunk, BodyError>> next() override {
    BodyChunk c;
    const size_t n = std::min(left_, chunk_);
    c.data.resize(n);
    for (size_t i = 0; i < n; ++i) c.data[i] = static_cast<char>('a' + (offset_ + i) % 23);
    offset_ += n;
    left_ -= n;
    if (left_ == 0) {
      c.end_of_stream = true;
      c.trailers = std::move(trailers_);
    }
    co_return c;
  }
  std::optional<uint64_t> size_hint() const override { return std::nullopt; }

  static std::string expected(size_t size) {
    std::string s(size, '\0');
    for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>('a' + i % 23);
    return s;
  }

 private:
  size_t left_;
  size_t chunk_;
  Headers trailers_;
  size_t offset_ = 0;
};

// Streams another body through unchanged, chunk by chunk (trailers included).
class EchoBody final : public Body {
 public:
  explicit EchoBody(BodyPtr inner) : inner_(std::move(inner)) {}
  net::awaitable<base::Result<BodyChunk, BodyError>> next() override {
    co_return co_await inner_->next();
  }

 private:
  BodyPtr inner_;
};

inline uint64_t fnv1a(std::string_view data, uint64_t h = 1469598103934665603ull) {
  for (char c : data) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ull;
  }
  return h;
}

// --- The test service ---
// Routes by path; every handler runs on the server thread.
//   /hello          200 "hello world"
//   /headers        echoes the request head as x-* response headers
//   /echo           streams the request body (and trailers) back as the response
//   /sink           reads the whole body, answers "<bytes>:<fnv1a>"
//   /big?n=N        N generated bytes
//   /gate           waits until `gate_target` gate requests are in flight, answers the count
//   /hold           waits for release(); counts cancellations
//   /hold-sink      waits for release(), then behaves like /sink
//   /grpc/echo      gRPC: echoes the request body, trailers grpc-status 0
//   /grpc/fail      trailers-only gRPC error
class TestService final : public Service {
 public:
  explicit TestService(net::asio::any_io_executor ex)
      : gate_(ex, net::asio::steady_timer::time_point::max()),
        hold_(ex, net::asio::steady_timer::time_point::max()) {}

  int gate_target = 100;
  std::atomic<int> cancelled{0};
  std::atomic<int> calls{0};

  void release() {
    released_ = true;
    hold_.cancel();
  }

  net::awaitable<Response> call(Request req) override {
    ++calls;
    const std::string path = req.head.path;
    if (path == "/hello") co_return make_response(200, "hello world");
    if (path.rfind("/headers", 0) == 0) {
      Response r = make_response(200, "");
      r.head.headers.add("x-method", req.head.method);
      r.head.headers.add("x-scheme", req.head.scheme);
      r.head.headers.add("x-authority", req.head.authority);
      r.head.headers.add("x-path", req.head.path);
      r.head.headers.add("x-version", to_string(req.head.version));
      r.head.headers.add("x-stream-id", std::to_string(req.stream_id));
      for (const auto& h : req.head.headers) r.head.headers.add("x-h-" + h.name, h.value);
      r.body = make_empty_body();
      co_return r;
    }
    if (path == "/echo") {
      Response r;
      r.head.status = 200;
      r.body = std::make_unique<EchoBody>(std::move(req.body));
      co_return r;
    }
    if (path == "/sink") co_return co_await sink(*req.body);
    if (path.rfind("/big?n=", 0) == 0) {
      Response r;
      r.head.status = 200;
      r.body = std::make_unique<GeneratedBody>(std::stoull(path.substr(7)));
      co_return r;
    }
    if (path == "/gate") {
      ++gate_in_;
      if (gate_in_ >= gate_target) gate_.cancel();
      while (gate_in_ < gate_target) co_await gate_.async_wait(net::use_nothrow);
      co_return make_response(200, std::to_string(gate_in_));
    }
    if (path == "/hold" || path == "/hold-sink") {
      try {
        while (!released_) co_await hold_.async_wait(net::use_nothrow);
      } catch (...) {
        ++cancelled;
        throw;
      }
      if (path == "/hold-sink") co_return co_await sink(*req.body);
      co_return make_response(200, "released");
    }
    if (path == "/grpc/echo") {
      if (!is_grpc(req.head.headers)) co_return make_response(415, "");
      auto all = co_await read_all(*req.body, 1 << 20);
      Response r;
      r.head.status = 200;
      r.head.headers.add("content-type", "application/grpc");
      auto timeout = parse_grpc_timeout(req.head.headers.get("grpc-timeout").value_or(""));
      r.head.headers.add("x-timeout-ms",
                         timeout ? std::to_string(timeout->count() / 1000000) : "none");
      Headers trailers{{"grpc-status", "0"}, {"grpc-message", "ok"}};
      r.body = make_buffered_body(all ? all->data : "", std::move(trailers));
      co_return r;
    }
    if (path == "/grpc/fail") {
      co_return make_grpc_trailers_only(GrpcStatus::kUnavailable, "no endpoints: 100% down\n");
    }
    co_return make_response(404, "not found");
  }

 private:
  static net::awaitable<Response> sink(Body& body) {
    uint64_t size = 0;
    uint64_t hash = 1469598103934665603ull;
    while (true) {
      auto chunk = co_await body.next();
      if (!chunk) co_return make_response(400, to_string(chunk.error()));
      size += chunk->data.size();
      hash = fnv1a(chunk->data, hash);
      if (chunk->end_of_stream) break;
    }
    co_return make_response(200, std::to_string(size) + ":" + std::to_string(hash));
  }

  net::asio::steady_timer gate_;
  int gate_in_ = 0;
  net::asio::steady_timer hold_;
  bool released_ = false;
};

// An HTTP/2 server on 127.0.0.1:<ephemeral> running on its own thread.
struct ServerOptions {
  H2Settings settings;
  int send_buffer = 0;        // SO_SNDBUF on accepted sockets (0: default)
  bool peek_preface = false;  // read the 24-byte preface first, pass it as initial bytes
};

class ServerThread {
 public:
  using Options = ServerOptions;

  ServerThread() : ServerThread(Options{}) {}
  explicit ServerThread(Options options)
      : options_(std::move(options)),
        acceptor_(io_, net::tcp::endpoint(net::asio::ip::address_v4::loopback(), 0)),
        service_(io_.get_executor()) {
    port_ = acceptor_.local_endpoint().port();
    net::asio::co_spawn(io_, accept_loop(), net::asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }

  ~ServerThread() { stop(); }

  void stop() {
    if (!thread_.joinable()) return;
    net::asio::post(io_, [this] {
      net::error_code ec;
      acceptor_.close(ec);
      for (auto* s : sessions_) s->close();
    });
    thread_.join();
  }

  uint16_t port() const { return port_; }
  H2Counters& counters() { return counters_; }
  TestService& service() { return service_; }

  // Runs `f` on the server thread and waits for it.
  void run_on_server(std::function<void()> f) {
    std::promise<void> done;
    net::asio::post(io_, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }

  void shutdown_sessions() {
    run_on_server([this] {
      for (auto* s : sessions_) s->shutdown();
    });
  }
  void release() {
    run_on_server([this] { service_.release(); });
  }
  // The last session's close reason, once it ended.
  CloseReason last_close_reason() {
    CloseReason r;
    run_on_server([&] { r = last_close_reason_; });
    return r;
  }
  // Waits until at least one connection was served and none is left; false on timeout.
  bool wait_sessions_done(std::chrono::milliseconds timeout = 10000ms) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (counters_.connections_total.load() > 0 && live_sessions() == 0) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }
  size_t live_sessions() {
    size_t n = 0;
    run_on_server([&] { n = sessions_.size(); });
    return n;
  }

 private:
  net::awaitable<void> accept_loop() {
    while (true) {
      auto [ec, socket] = co_await acceptor_.async_accept(net::use_nothrow);
      if (ec) co_return;
      net::asio::co_spawn(io_, serve(std::move(socket)), net::asio::detached);
    }
  }

  net::awaitable<void> serve(net::tcp::socket socket) {
    socket.set_option(net::tcp::no_delay(true));
    if (options_.send_buffer > 0) {
      socket.set_option(net::asio::socket_base::send_buffer_size(options_.send_buffer));
    }
    std::string initial;
    if (options_.peek_preface) {
      initial.resize(24);
      auto [ec, n] = co_await net::asio::async_read(socket, net::asio::buffer(initial),
                                                    net::use_nothrow);
      if (ec) co_return;
    }
    StreamTransport<net::tcp::socket> transport(socket);
    ServerSession session(transport, service_, options_.settings, counters_, nullptr,
                          std::move(initial));
    sessions_.push_back(&session);
    co_await session.run();
    sessions_.remove(&session);
    last_close_reason_ = session.close_reason();
  }

  Options options_;
  net::asio::io_context io_;
  net::tcp::acceptor acceptor_;
  TestService service_;
  H2Counters counters_;
  std::list<ServerSession*> sessions_;
  CloseReason last_close_reason_ = CloseReason::kNone;
  uint16_t port_ = 0;
  std::thread thread_;
};

// --- Client-side helpers ---

// Connects a ClientSession to the server and runs `body` with it on a fresh io_context on this
// thread; the session is closed when `body` returns. False if it did not finish in time.
inline bool run_client(uint16_t port,
                       const std::function<net::awaitable<void>(ClientSession&)>& body,
                       const H2Settings& settings = {}, H2Counters* client_counters = nullptr) {
  net::asio::io_context io;
  H2Counters local_counters;
  H2Counters& counters = client_counters ? *client_counters : local_counters;
  bool finished = false;
  auto main = [&]() -> net::awaitable<void> {
    net::tcp::socket socket(io);
    auto [ec] = co_await socket.async_connect(
        net::tcp::endpoint(net::asio::ip::address_v4::loopback(), port), net::use_nothrow);
    if (ec) co_return;
    socket.set_option(net::tcp::no_delay(true));
    StreamTransport<net::tcp::socket> transport(socket);
    ClientSession client(transport, settings, counters);
    auto drive = [&]() -> net::awaitable<void> {
      co_await body(client);
      client.close();
    };
    using namespace net::asio::experimental::awaitable_operators;
    co_await (client.run() && drive());
    finished = true;
  };
  net::asio::co_spawn(io, main(), net::asio::detached);
  io.run_for(std::chrono::seconds(60));
  return finished;
}

inline net::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  net::asio::steady_timer t(co_await net::asio::this_coro::executor);
  t.expires_after(d);
  co_await t.async_wait(net::use_nothrow);
}

// Polls `cond` every millisecond for up to `limit`.
inline net::awaitable<bool> eventually(const std::function<bool()>& cond,
                                       std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) co_return false;
    co_await sleep_for(1ms);
  }
  co_return true;
}

inline Request make_request(std::string method, std::string path, BodyPtr body = nullptr) {
  Request r;
  r.head.method = std::move(method);
  r.head.scheme = "http";
  r.head.authority = "example.test";
  r.head.path = std::move(path);
  r.body = body ? std::move(body) : make_empty_body();
  return r;
}

struct Got {
  int status = 0;
  Headers headers;
  std::string body;
  Headers trailers;
  std::string error;
};

inline net::awaitable<Got> fetch(ClientSession& c, Request request, size_t limit = 64 << 20) {
  Got got;
  auto r = co_await c.send(std::move(request));
  if (!r) {
    got.error = to_string(r.error().kind);
    co_return got;
  }
  got.status = r->head.status;
  got.headers = r->head.headers;
  auto all = co_await read_all(*r->body, limit);
  if (!all) {
    got.error = to_string(all.error());
    co_return got;
  }
  got.body = std::move(all->data);
  got.trailers = std::move(all->trailers);
  co_return got;
}

}  // namespace trellis::http::h2::testing
