#pragma once
// The one place Boost.Asio is configured and pulled in (DESIGN.md §4): C++20 coroutines, one
// io_context per worker thread.

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

namespace trellis::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
using error_code = boost::system::error_code;

// `co_await op(asio::as_tuple(use_awaitable))` returns (error_code, result...) instead of throwing.
inline constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

}  // namespace trellis::net
