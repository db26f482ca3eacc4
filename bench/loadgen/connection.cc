#include "loadgen/connection.h"

#include <algorithm>
#include <exception>

namespace trellis::bench::loadgen {
namespace {

using namespace net::asio::experimental::awaitable_operators;

constexpr Duration kFirstBackoff = std::chrono::milliseconds(10);
constexpr Duration kMaxBackoff = std::chrono::milliseconds(320);

}  // namespace

StartGate::StartGate(net::asio::any_io_executor executor, std::latch& ready)
    : timer_(std::move(executor), TimePoint::max()), ready_(ready) {}

net::awaitable<TimePoint> StartGate::arrive_and_wait() {
  ready_.count_down();
  // open() cancels the wait; it runs on this thread, so it cannot slip in between the
  // count_down above and the wait below.
  while (!start_) co_await timer_.async_wait(net::use_nothrow);
  co_return *start_;
}

void StartGate::open(TimePoint start) {
  start_ = start;
  timer_.cancel();
}

Connection::Connection(const RunContext& context, uint32_t index, Recorder& recorder,
                       StartGate& gate)
    : context_(context),
      index_(index),
      recorder_(recorder),
      gate_(gate),
      socket_(gate.executor()),
      backoff_(kFirstBackoff) {}

net::awaitable<void> Connection::run() {
  try {
    co_await run_connection();
  } catch (const std::exception& e) {
    failure_ = e.what();
  }
  if (!arrived_) gate_.arrive_without_waiting();  // the runner must never wait for us
  close();
}

net::awaitable<void> Connection::connect_and_wait_for_start() {
  co_await connect();
  arrived_ = true;
  const TimePoint start = co_await gate_.arrive_and_wait();
  pacer_.emplace(context_.plan, index_, start, recorder_);
}

net::awaitable<bool> Connection::connect() {
  net::asio::steady_timer timer(socket_.get_executor());
  timer.expires_after(context_.timeout);
  auto result = co_await (socket_.async_connect(context_.endpoint, net::use_nothrow) ||
                          timer.async_wait(net::use_nothrow));
  net::error_code ec;
  if (result.index() == 1) {
    ec = net::asio::error::timed_out;
  } else {
    ec = std::get<0>(std::get<0>(result));
  }
  if (!ec) socket_.set_option(net::tcp::no_delay(true), ec);
  if (ec) {
    close();
    recorder_.on_connect_error();
    co_return false;
  }
  recorder_.on_connected();
  backoff_ = kFirstBackoff;
  co_return true;
}

net::awaitable<void> Connection::backoff() {
  TimePoint until = Clock::now() + backoff_;
  if (pacer_) until = std::min(until, pacer_->sending_ends());
  backoff_ = std::min(backoff_ * 2, kMaxBackoff);
  net::asio::steady_timer timer(socket_.get_executor(), until);
  co_await timer.async_wait(net::use_nothrow);
}

void Connection::close() {
  net::error_code ignored;
  socket_.close(ignored);
}

}  // namespace trellis::bench::loadgen
