#pragma once
// Tests only: run one coroutine on an io_context until it finishes (or a generous limit passes,
// which fails the test), leaving background work (sessions) suspended.

#include <gtest/gtest.h>

#include <chrono>
#include <exception>

#include "net/asio.h"

namespace trellis::proxy::testing {

inline void run_task(net::asio::io_context& io, net::awaitable<void> task,
                     std::chrono::seconds limit = std::chrono::seconds(30)) {
  bool done = false;
  std::exception_ptr error;
  net::asio::co_spawn(io, std::move(task), [&](std::exception_ptr e) {
    done = true;
    error = e;
    io.stop();
  });
  io.restart();
  io.run_for(limit);
  ASSERT_TRUE(done) << "the test coroutine did not finish in time";
  if (error) std::rethrow_exception(error);
}

// Waits on the current executor until `condition` holds or `limit` passes; returns the last
// value of the condition.
template <typename F>
net::awaitable<bool> eventually(F condition, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  net::asio::steady_timer timer(co_await net::asio::this_coro::executor);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) co_return false;
    timer.expires_after(std::chrono::milliseconds(5));
    co_await timer.async_wait(net::use_nothrow);
  }
  co_return true;
}

}  // namespace trellis::proxy::testing
