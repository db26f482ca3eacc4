#pragma once
// PrefixedStream<Stream>: a stream that first serves bytes already read from `Stream` (during
// protocol detection or the ClientHello peek) and then reads from `Stream` itself; writes go
// straight through. It models AsyncReadStream and AsyncWriteStream (and the synchronous
// SyncReadStream/SyncWriteStream), so it can be the next layer of
// asio::ssl::stream<PrefixedStream<tcp::socket>> and be used with asio::async_read/async_write
// in coroutines. (linkerd2-proxy calls the same idea PrefixedIo.)
//
// A read that finds prefix bytes left completes with those bytes only — never mixed with a
// socket read — so it cannot block on the socket while it has data to give. That completion is
// posted, never invoked inline, as Asio requires of initiating functions.

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <boost/asio/append.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>

namespace trellis::net {

template <typename Stream>
class PrefixedStream {
 public:
  using next_layer_type = std::remove_reference_t<Stream>;
  using lowest_layer_type = typename next_layer_type::lowest_layer_type;
  using executor_type = typename next_layer_type::executor_type;
  using default_token = boost::asio::default_completion_token_t<executor_type>;

  // `next` is moved in (or referenced when Stream is a reference type); `prefix` holds the
  // bytes to serve before reading from it.
  template <typename Arg>
    requires(!std::is_same_v<std::remove_cvref_t<Arg>, PrefixedStream>)
  explicit PrefixedStream(Arg&& next, std::string prefix = {})
      : next_(std::forward<Arg>(next)), prefix_(std::move(prefix)) {}

  PrefixedStream(PrefixedStream&&) = default;
  PrefixedStream& operator=(PrefixedStream&&) = default;

  executor_type get_executor() noexcept { return next_.get_executor(); }
  next_layer_type& next_layer() noexcept { return next_; }
  const next_layer_type& next_layer() const noexcept { return next_; }
  lowest_layer_type& lowest_layer() noexcept { return next_.lowest_layer(); }
  const lowest_layer_type& lowest_layer() const noexcept { return next_.lowest_layer(); }

  // Prefix bytes not yet handed out.
  std::string_view pending_prefix() const noexcept {
    return std::string_view(prefix_).substr(consumed_);
  }

  template <typename MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers, boost::system::error_code& ec) {
    if (!pending_prefix().empty()) {
      ec = {};
      return take_prefix(buffers);
    }
    return next_.read_some(buffers, ec);
  }

  template <typename MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers) {
    if (!pending_prefix().empty()) return take_prefix(buffers);
    return next_.read_some(buffers);
  }

  template <typename ConstBufferSequence>
  size_t write_some(const ConstBufferSequence& buffers, boost::system::error_code& ec) {
    return next_.write_some(buffers, ec);
  }

  template <typename ConstBufferSequence>
  size_t write_some(const ConstBufferSequence& buffers) {
    return next_.write_some(buffers);
  }

  template <typename MutableBufferSequence, typename ReadToken = default_token>
  auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token = default_token{}) {
    return boost::asio::async_initiate<ReadToken, void(boost::system::error_code, size_t)>(
        [this](auto handler, const MutableBufferSequence& bufs) {
          if (pending_prefix().empty()) {
            // Forwarding the handler keeps its associated executor, allocator and
            // cancellation slot, so per-operation cancellation reaches the socket.
            next_.async_read_some(bufs, std::move(handler));
            return;
          }
          const size_t n = take_prefix(bufs);
          boost::asio::post(get_executor(), boost::asio::append(std::move(handler),
                                                                boost::system::error_code{}, n));
        },
        token, buffers);
  }

  template <typename ConstBufferSequence, typename WriteToken = default_token>
  auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token = default_token{}) {
    return next_.async_write_some(buffers, std::forward<WriteToken>(token));
  }

 private:
  template <typename MutableBufferSequence>
  size_t take_prefix(const MutableBufferSequence& buffers) {
    const std::string_view pending = pending_prefix();
    const size_t n = boost::asio::buffer_copy(buffers,
                                              boost::asio::buffer(pending.data(), pending.size()));
    consumed_ += n;
    if (consumed_ == prefix_.size()) {
      // Done with the prefix: give its memory back (a ClientHello can be 16 KiB).
      std::string().swap(prefix_);
      consumed_ = 0;
    }
    return n;
  }

  Stream next_;
  std::string prefix_;
  size_t consumed_ = 0;
};

}  // namespace trellis::net
