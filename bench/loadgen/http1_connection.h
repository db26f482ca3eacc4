#pragma once
// An HTTP/1.1 keep-alive connection: one request at a time (no pipelining, so one in flight), the
// request bytes written once per run, responses parsed with the strict parser (src/http/h1),
// chunked bodies decoded, bodies discarded. A response the parser rejects, a 101/CONNECT tunnel
// nobody asked for, or bytes after a complete response are protocol errors and cost the
// connection. "Connection: close" or a close-delimited body ends the connection normally; the
// next request reconnects.
//
// Timeouts: a watchdog coroutine closes the socket when the request in flight passes its
// deadline (send + --timeout); HTTP/1 cannot cancel a request any other way. The watchdog's
// timer is re-armed lazily (deadlines only move forward), so it wakes about once per timeout,
// not once per request.

#include <cstddef>
#include <vector>

#include "http/h1/chunked.h"
#include "http/h1/parser.h"
#include "loadgen/connection.h"

namespace trellis::bench::loadgen {

class Http1Connection final : public Connection {
 public:
  Http1Connection(const RunContext& context, uint32_t index, Recorder& recorder,
                  StartGate& gate);

 protected:
  net::awaitable<void> run_connection() override;

 private:
  net::awaitable<void> request_loop();
  net::awaitable<void> watchdog();
  // Sends the request and reads the whole response. `status` is set once a head arrived;
  // `reusable` says whether the connection can carry the next request.
  net::awaitable<Outcome> exchange(int& status, bool& reusable);
  net::awaitable<net::error_code> read_more();
  void consume(size_t n);
  Outcome failed_read() const { return expired_ ? Outcome::kTimeout : Outcome::kIo; }

  net::asio::steady_timer pace_timer_;
  net::asio::steady_timer watchdog_timer_;
  std::vector<char> buffer_;
  size_t used_ = 0;
  http::h1::ResponseParser parser_;
  http::h1::ChunkedDecoder chunked_;
  // The request in flight, as the watchdog sees it.
  bool armed_ = false;
  bool expired_ = false;
  bool stopping_ = false;
  TimePoint deadline_;
};

}  // namespace trellis::bench::loadgen
