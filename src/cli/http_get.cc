#include "cli/http_get.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>

#include "base/strings.h"

namespace trellis::cli {
namespace {

using Clock = std::chrono::steady_clock;
using base::unexpected;

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Milliseconds left until `deadline`, at least 0.
int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Connects to one resolved address before the deadline; the error names the reason.
base::Result<int, std::string> connect_one(const addrinfo* ai, Clock::time_point deadline) {
  int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    ai->ai_protocol);
  if (fd < 0) return unexpected(std::string(std::strerror(errno)));
  Fd guard{fd};
  if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
    if (errno != EINPROGRESS) return unexpected(std::string(std::strerror(errno)));
    pollfd p{fd, POLLOUT, 0};
    int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n == 0) return unexpected(std::string("connection timed out"));
    if (n < 0) return unexpected(std::string(std::strerror(errno)));
    int so_error = 0;
    socklen_t len = sizeof(so_error);
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
    if (so_error != 0) return unexpected(std::string(std::strerror(so_error)));
  }
  guard.fd = -1;
  return fd;
}

// Decodes a chunked body (RFC 9112 §7.1); trailers are ignored.
base::Result<std::string, std::string> dechunk(std::string_view in) {
  std::string out;
  while (true) {
    size_t eol = in.find("\r\n");
    if (eol == std::string_view::npos) return unexpected(std::string("truncated chunked body"));
    std::string_view size_text = in.substr(0, eol);
    size_t semi = size_text.find(';');
    if (semi != std::string_view::npos) size_text = size_text.substr(0, semi);
    size_text = trim(size_text);
    size_t size = 0;
    auto [ptr, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size,
                                     16);
    if (ec != std::errc() || ptr != size_text.data() + size_text.size() || size_text.empty()) {
      return unexpected(std::string("malformed chunk size"));
    }
    in.remove_prefix(eol + 2);
    if (size == 0) return out;
    if (in.size() < size + 2) return unexpected(std::string("truncated chunked body"));
    out.append(in.substr(0, size));
    in.remove_prefix(size + 2);
  }
}

base::Result<HttpResponse, std::string> parse_response(std::string_view raw) {
  size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string_view::npos) {
    return unexpected(std::string(raw.empty() ? "the connection was closed without a response"
                                              : "incomplete HTTP response"));
  }
  std::string_view head = raw.substr(0, head_end);
  std::string_view rest = raw.substr(head_end + 4);
  size_t eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  HttpResponse response;
  // "HTTP/1.1 200 OK"
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") {
    return unexpected(std::string("not an HTTP response"));
  }
  std::string_view code = status_line.substr(9, 3);
  auto [ptr, ec] = std::from_chars(code.data(), code.data() + code.size(), response.status);
  if (ec != std::errc() || ptr != code.data() + 3) {
    return unexpected(std::string("malformed HTTP status line"));
  }
  bool chunked = false;
  long content_length = -1;
  std::string_view lines =
      eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
  while (!lines.empty()) {
    size_t end = lines.find("\r\n");
    std::string_view line = lines.substr(0, end);
    lines = end == std::string_view::npos ? std::string_view() : lines.substr(end + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name = base::to_lower(trim(line.substr(0, colon)));
    std::string value(trim(line.substr(colon + 1)));
    if (name == "transfer-encoding" && base::to_lower(value).find("chunked") != std::string::npos) {
      chunked = true;
    }
    if (name == "content-length") content_length = std::strtol(value.c_str(), nullptr, 10);
    response.headers.emplace_back(std::move(name), std::move(value));
  }
  if (chunked) {
    auto body = dechunk(rest);
    if (!body) return unexpected(body.error());
    response.body = std::move(*body);
  } else if (content_length >= 0) {
    if (rest.size() < static_cast<size_t>(content_length)) {
      return unexpected(std::string("truncated HTTP response body"));
    }
    response.body = std::string(rest.substr(0, static_cast<size_t>(content_length)));
  } else {
    response.body = std::string(rest);
  }
  return response;
}

}  // namespace

bool split_host_port(std::string_view address, std::string& host, std::string& port) {
  size_t colon;
  if (!address.empty() && address.front() == '[') {
    size_t close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return false;
    }
    host = std::string(address.substr(1, close - 1));
    colon = close + 1;
  } else {
    colon = address.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    host = std::string(address.substr(0, colon));
    if (host.find(':') != std::string::npos) return false;  // bare IPv6 needs brackets
  }
  port = std::string(address.substr(colon + 1));
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  return !host.empty() && ec == std::errc() && ptr == port.data() + port.size() && value > 0 &&
         value <= 65535;
}

base::Result<HttpResponse, std::string> http_get(std::string_view address,
                                                 std::string_view target,
                                                 const HttpGetOptions& options) {
  std::string host, port;
  if (!split_host_port(address, host, port)) {
    return unexpected("invalid address \"" + std::string(address) + "\" (expected host:port)");
  }
  const auto deadline = Clock::now() + options.timeout;

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return unexpected("cannot resolve " + host + ": " + ::gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, &::freeaddrinfo);

  std::string last_error = "no address";
  Fd conn;
  for (const addrinfo* ai = list.get(); ai != nullptr && conn.fd < 0; ai = ai->ai_next) {
    auto fd = connect_one(ai, deadline);
    if (fd) {
      conn.fd = *fd;
    } else {
      last_error = fd.error();
    }
  }
  if (conn.fd < 0) {
    // strerror says "Connection refused"; the CLI's messages use lower case.
    if (!last_error.empty()) last_error[0] = static_cast<char>(std::tolower(last_error[0]));
    return unexpected(last_error);
  }

  std::string request = "GET " + std::string(target) + " HTTP/1.1\r\nHost: " +
                        std::string(address) +
                        "\r\nUser-Agent: trellis-cli\r\nAccept: */*\r\nConnection: close\r\n\r\n";
  std::string_view pending = request;
  while (!pending.empty()) {
    pollfd p{conn.fd, POLLOUT, 0};
    int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n == 0) return unexpected(std::string("timed out sending the request"));
    if (n < 0) return unexpected(std::string(std::strerror(errno)));
    ssize_t sent = ::send(conn.fd, pending.data(), pending.size(), MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return unexpected(std::string(std::strerror(errno)));
    }
    pending.remove_prefix(static_cast<size_t>(sent));
  }

  // The headers of the admin APIs are small; the cap applies to the whole response.
  const size_t cap = options.max_body_bytes + 64 * 1024;
  std::string raw;
  char buffer[16 * 1024];
  while (true) {
    pollfd p{conn.fd, POLLIN, 0};
    int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n == 0) return unexpected(std::string("timed out waiting for the response"));
    if (n < 0) {
      if (errno == EINTR) continue;
      return unexpected(std::string(std::strerror(errno)));
    }
    ssize_t got = ::recv(conn.fd, buffer, sizeof(buffer), 0);
    if (got < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      if (errno == ECONNRESET && !raw.empty()) break;
      return unexpected(std::string(std::strerror(errno)));
    }
    if (got == 0) break;
    raw.append(buffer, static_cast<size_t>(got));
    if (raw.size() > cap) return unexpected(std::string("response too large"));
  }
  auto response = parse_response(raw);
  if (response && response->body.size() > options.max_body_bytes) {
    return unexpected(std::string("response too large"));
  }
  return response;
}

}  // namespace trellis::cli
