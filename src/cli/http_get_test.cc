#include "cli/http_get.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

namespace trellis::cli {
namespace {

// A one-shot loopback server: accepts one connection, reads the request head, answers with
// `response` and closes. The request it saw is kept for assertions.
class OneShotServer {
 public:
  explicit OneShotServer(std::string response) : response_(std::move(response)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(fd_, 1), 0);
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      int conn = ::accept(fd_, nullptr, nullptr);
      if (conn < 0) return;
      char buf[4096];
      while (request_.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::recv(conn, buf, sizeof(buf), 0);
        if (n <= 0) break;
        request_.append(buf, static_cast<size_t>(n));
      }
      ::send(conn, response_.data(), response_.size(), MSG_NOSIGNAL);
      ::close(conn);
    });
  }
  ~OneShotServer() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& request() const { return request_; }

 private:
  std::string response_;
  int fd_ = -1;
  int port_ = 0;
  std::string request_;
  std::thread thread_;
};

TEST(HttpGet, ContentLength) {
  std::string response;
  {
    OneShotServer server(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nready\nEXTRA");
    auto r = http_get(server.address(), "/ready");
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "ready\n");
    ASSERT_FALSE(r->headers.empty());
    EXPECT_EQ(r->headers[0].first, "content-type");
    response = server.request();
  }
  EXPECT_EQ(response.rfind("GET /ready HTTP/1.1\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("Connection: close\r\n"), std::string::npos);
}

TEST(HttpGet, ChunkedAndCloseDelimited) {
  {
    OneShotServer server(
        "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nno c\r\n"
        "7;ext=1\r\nert yet\r\n0\r\n\r\n");
    auto r = http_get(server.address(), "/identity");
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->status, 404);
    EXPECT_EQ(r->body, "no cert yet");
  }
  {
    OneShotServer server("HTTP/1.0 200 OK\r\n\r\n{\"a\":1}");
    auto r = http_get(server.address(), "/api/v1/status");
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->body, "{\"a\":1}");
  }
}

TEST(HttpGet, Errors) {
  {
    OneShotServer server("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort");
    auto r = http_get(server.address(), "/");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), "truncated HTTP response body");
  }
  {
    OneShotServer server("SSH-2.0-OpenSSH\r\n\r\n");
    auto r = http_get(server.address(), "/");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), "not an HTTP response");
  }
  {
    OneShotServer server("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'x'));
    auto r = http_get(server.address(), "/", {std::chrono::seconds(5), 10});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), "response too large");
  }
  // A port nobody listens on: bind one, close it, connect.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  auto r = http_get("127.0.0.1:" + std::to_string(ntohs(addr.sin_port)), "/");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "connection refused");

  auto bad = http_get("no-port", "/");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), "invalid address \"no-port\" (expected host:port)");
}

TEST(SplitHostPort, Forms) {
  std::string host, port;
  ASSERT_TRUE(split_host_port("127.0.0.1:9996", host, port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, "9996");
  ASSERT_TRUE(split_host_port("[::1]:4191", host, port));
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, "4191");
  EXPECT_FALSE(split_host_port("::1:4191", host, port));
  EXPECT_FALSE(split_host_port("host:0", host, port));
  EXPECT_FALSE(split_host_port("host:65536", host, port));
  EXPECT_FALSE(split_host_port("host:", host, port));
  EXPECT_FALSE(split_host_port(":80", host, port));
  EXPECT_FALSE(split_host_port("host", host, port));
}

}  // namespace
}  // namespace trellis::cli
