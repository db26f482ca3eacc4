#pragma once
// Internal building blocks shared by the HTTP/1 server and client connections: the receive
// buffer, a one-waiter signal, the per-connection deadline watchdog, and the conversions between
// the h1 parser's field lists and the shared message model. Not part of the public interface.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http/h1/head.h"
#include "http/h1/serializer.h"
#include "http/message.h"
#include "net/asio.h"

namespace trellis::http::h1::detail {

using Clock = std::chrono::steady_clock;

// Bytes received but not yet consumed. Reads go straight into its free tail; consumed bytes are
// reclaimed by moving the rest to the front only when the tail is too small, so a head parsed in
// place stays where the parser saw it.
class ReadBuffer {
 public:
  // Blocks of this size (the default read size) are recycled through a small per-thread cache,
  // so a connection can give its buffer back whenever it goes idle and take one again when
  // bytes arrive: idle keep-alive connections then hold no buffer at all.
  static constexpr size_t kBlockSize = 16 * 1024;

  ReadBuffer() = default;
  ReadBuffer(ReadBuffer&& other) noexcept;
  ReadBuffer& operator=(ReadBuffer&& other) noexcept;
  ~ReadBuffer() { release_storage(); }

  std::string_view data() const { return {storage_.get() + begin_, end_ - begin_}; }
  size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }
  void consume(size_t n);
  void append(std::string_view bytes);
  // A writable region of at least `n` bytes at the end (compacts or grows as needed).
  net::asio::mutable_buffer prepare(size_t n);
  void commit(size_t n) { end_ += n; }
  // Everything unconsumed, leaving the buffer empty.
  std::string take_all();
  // Gives back memory after a burst (a large head), keeping `keep` bytes of capacity.
  void shrink_if_idle(size_t keep);
  // Gives the whole buffer back when nothing is buffered (to the per-thread cache when it is a
  // standard block); the next prepare() takes one again.
  void release_if_empty();
  size_t capacity() const { return capacity_; }

 private:
  void release_storage() noexcept;

  std::unique_ptr<char[]> storage_;
  size_t capacity_ = 0;
  size_t begin_ = 0;
  size_t end_ = 0;
};

// A condition-variable for one waiting coroutine on one thread: the waiter re-checks its
// condition after every wake-up (wake-ups may be spurious), the notifier changes state first.
class Signal {
 public:
  explicit Signal(net::asio::any_io_executor executor);
  // Returns on notify(), at `deadline`, or on cancellation.
  net::awaitable<void> wait_until(Clock::time_point deadline = Clock::time_point::max());
  void notify();

 private:
  net::asio::steady_timer timer_;
};

// One timer per connection enforcing a read deadline and a write deadline. Arming is a store
// (and a timer kick only when the new deadline is earlier than the one being waited for), so
// setting a deadline around every socket operation costs next to nothing. When a deadline passes
// it is disarmed, marked expired and `on_expire` runs; the connection decides what that means
// (cancel the read to answer 408, or close).
class Watchdog {
 public:
  enum class Kind : uint8_t { kRead = 0, kWrite = 1 };

  explicit Watchdog(net::asio::any_io_executor executor);

  void arm(Kind kind, std::chrono::milliseconds timeout) { arm_at(kind, Clock::now() + timeout); }
  void arm_at(Kind kind, Clock::time_point deadline);
  void disarm(Kind kind) { slot(kind).armed = false; }
  bool expired(Kind kind) const { return slots_[static_cast<size_t>(kind)].expired; }
  void clear_expired(Kind kind) { slot(kind).expired = false; }

  // Enforces deadlines until stop() or until the awaiting coroutine is cancelled.
  net::awaitable<void> run(std::function<void(Kind)> on_expire);
  void stop();

 private:
  struct Slot {
    Clock::time_point deadline;
    bool armed = false;
    bool expired = false;
  };
  Slot& slot(Kind kind) { return slots_[static_cast<size_t>(kind)]; }

  net::asio::steady_timer timer_;
  Slot slots_[2];
  bool running_ = false;
  bool stopped_ = false;
};

// Copies parsed fields into the message model (names lower-cased).
Headers to_headers(const std::vector<Field>& fields);
Headers to_headers(const FieldList& fields);
// The model's fields as h1 fields, skipping pseudo-header-like and empty names.
std::vector<Field> to_fields(const Headers& headers);
// Trailer fields that may be written: valid, and not a field forbidden in trailers. Returns how
// many were dropped.
size_t filter_trailers(const Headers& trailers, std::vector<Field>& out);

// Views of the pieces of one body frame for a gather write.
struct FrameBuffers {
  net::asio::const_buffer items[6];
  size_t count = 0;
  void add(std::string_view bytes) {
    if (!bytes.empty()) items[count++] = net::asio::buffer(bytes.data(), bytes.size());
  }
  std::span<const net::asio::const_buffer> span() const { return {items, count}; }
};

}  // namespace trellis::http::h1::detail
