#include "loadgen/http1_connection.h"

#include <algorithm>
#include <cstring>
#include <string_view>

namespace trellis::bench::loadgen {
namespace {

using namespace net::asio::experimental::awaitable_operators;
namespace h1 = http::h1;

// Reads land here; bodies pass through and are dropped. It grows (up to kMaxBuffer) only for a
// head that does not fit, since the head must be contiguous for the parser.
constexpr size_t kInitialBuffer = 16 * 1024;
// The parser's head limit (64 KiB) plus room for the bytes that arrive with the head.
constexpr size_t kMaxBuffer = 80 * 1024;

}  // namespace

Http1Connection::Http1Connection(const RunContext& context, uint32_t index, Recorder& recorder,
                                 StartGate& gate)
    : Connection(context, index, recorder, gate),
      pace_timer_(socket_.get_executor()),
      watchdog_timer_(socket_.get_executor()),
      buffer_(kInitialBuffer),
      parser_(h1::Limits{}, h1::ResponseContext{context.head_request, false}) {}

net::awaitable<void> Http1Connection::run_connection() {
  co_await connect_and_wait_for_start();
  co_await (request_loop() && watchdog());
}

net::awaitable<void> Http1Connection::request_loop() {
  while (true) {
    const TimePoint now = Clock::now();
    const Decision decision = pacer_->next(now);
    // One request in flight at most, and none here: kDone means the connection is finished.
    if (decision.kind == Decision::Kind::kDone ||
        decision.kind == Decision::Kind::kWaitForCompletion) {
      break;
    }
    if (!socket_.is_open()) {
      if (!co_await connect()) co_await backoff();
      continue;  // time has passed: ask the pacer again
    }
    if (decision.kind == Decision::Kind::kWaitUntil) {
      pace_timer_.expires_at(decision.until);
      co_await pace_timer_.async_wait(net::use_nothrow);
      continue;
    }
    const Slot slot = pacer_->take(now);
    deadline_ = now + context_.timeout;
    expired_ = false;
    armed_ = true;
    int status = 0;
    bool reusable = false;
    const Outcome outcome = co_await exchange(status, reusable);
    armed_ = false;
    pacer_->finish(slot, Clock::now(), outcome, status);
    if (!reusable) {
      close();
      used_ = 0;
    }
  }
  stopping_ = true;
  watchdog_timer_.cancel();
}

net::awaitable<void> Http1Connection::watchdog() {
  while (!stopping_) {
    // Lazy re-arming: a deadline set while this wait is pending is always later than the
    // expiry, so the wake-up below re-checks instead of every request cancelling the timer.
    watchdog_timer_.expires_at(armed_ ? deadline_ : Clock::now() + context_.timeout);
    co_await watchdog_timer_.async_wait(net::use_nothrow);
    if (stopping_) break;
    if (armed_ && !expired_ && Clock::now() >= deadline_) {
      expired_ = true;
      close();  // aborts the pending write or read; exchange() reports the timeout
    }
  }
}

net::awaitable<net::error_code> Http1Connection::read_more() {
  if (used_ == buffer_.size()) buffer_.resize(std::min(buffer_.size() * 2, kMaxBuffer));
  auto [ec, n] = co_await socket_.async_read_some(
      net::asio::buffer(buffer_.data() + used_, buffer_.size() - used_), net::use_nothrow);
  used_ += n;
  co_return ec;
}

void Http1Connection::consume(size_t n) {
  std::memmove(buffer_.data(), buffer_.data() + n, used_ - n);
  used_ -= n;
}

net::awaitable<Outcome> Http1Connection::exchange(int& status, bool& reusable) {
  reusable = false;
  // Left-overs would be bytes the server sent unasked; the previous exchange rejects those.
  used_ = 0;
  auto [write_ec, written] = co_await net::asio::async_write(
      socket_, net::asio::buffer(context_.http1_request), net::use_nothrow);
  if (write_ec) co_return failed_read();

  // The head, skipping interim 1xx responses.
  h1::BodyFraming framing;
  bool keep_alive = false;
  parser_.reset(h1::ResponseContext{context_.head_request, false});
  while (true) {
    h1::ResponseHead head;
    const h1::ParseResult result =
        used_ == 0 ? h1::ParseResult::incomplete()
                   : parser_.parse(std::string_view(buffer_.data(), used_), head);
    if (result.is_error()) co_return Outcome::kProtocol;
    if (result.is_complete()) {
      // The head's views die with consume(): copy out what is needed first.
      const bool interim = head.info.interim;
      const bool tunnel = head.info.upgrade || head.info.connect;
      status = head.status;
      framing = head.info.body;
      keep_alive = head.info.keep_alive;
      consume(result.consumed());
      if (tunnel) co_return Outcome::kProtocol;  // we never asked for an upgrade
      if (!interim) break;
      status = 0;
      parser_.reset(h1::ResponseContext{context_.head_request, false});
      continue;
    }
    if (used_ == kMaxBuffer) co_return Outcome::kProtocol;  // cannot happen below the limit
    if (auto ec = co_await read_more(); ec) co_return failed_read();  // EOF mid-head too
  }

  // The body, discarded as it arrives.
  switch (framing.kind) {
    case h1::BodyKind::kNone:
      break;
    case h1::BodyKind::kContentLength: {
      uint64_t remaining = framing.length;
      while (true) {
        const auto take = static_cast<size_t>(std::min<uint64_t>(remaining, used_));
        consume(take);
        remaining -= take;
        if (remaining == 0) break;
        if (auto ec = co_await read_more(); ec) co_return failed_read();
      }
      break;
    }
    case h1::BodyKind::kChunked: {
      chunked_.reset();
      bool done = false;
      while (!done) {
        while (used_ > 0 && !done) {
          const h1::ChunkEvent event = chunked_.decode(std::string_view(buffer_.data(), used_));
          consume(event.consumed);
          if (event.kind == h1::ChunkEvent::Kind::kError) co_return Outcome::kProtocol;
          done = event.kind == h1::ChunkEvent::Kind::kDone;
        }
        if (done) break;
        if (auto ec = co_await read_more(); ec) co_return failed_read();
      }
      break;
    }
    case h1::BodyKind::kCloseDelimited: {
      keep_alive = false;
      while (true) {
        used_ = 0;
        auto ec = co_await read_more();
        if (ec == net::asio::error::eof) break;
        if (ec) co_return failed_read();
      }
      used_ = 0;
      break;
    }
  }
  if (used_ != 0) co_return Outcome::kProtocol;  // bytes after the response: nobody asked
  reusable = keep_alive;
  co_return status >= 200 && status < 300 ? Outcome::kOk : Outcome::kStatus;
}

}  // namespace trellis::bench::loadgen
