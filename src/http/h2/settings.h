#pragma once
// HTTP/2 settings, limits and abuse counters shared by the server and client sessions.
// Defaults follow security.md §1.3/§2: 100 concurrent streams, 64 KiB stream / 1 MiB connection
// windows, a 64 KiB header budget counted as name + value + 32 per field, HPACK table 4096, and
// the flood limits Envoy ships with. Zero durations disable the corresponding timer.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace trellis::http::h2 {

struct H2Settings {
  // --- What we advertise in SETTINGS, and flow control ---
  uint32_t max_concurrent_streams = 100;
  uint32_t initial_stream_window = 64 * 1024;  // SETTINGS_INITIAL_WINDOW_SIZE
  // A stream's receive window doubles each time its consumer has read a whole window, up to
  // this; the connection window stays fixed, so it bounds what one connection can buffer.
  uint32_t max_stream_window = 1024 * 1024;
  uint32_t connection_window = 1024 * 1024;
  uint32_t max_header_list_size = 64 * 1024;  // name + value + 32 per field, crumbs included
  uint32_t max_header_fields = 100;           // over it: 431 (server) / malformed (client)
  uint32_t header_table_size = 4096;          // HPACK dynamic table, both directions
  uint32_t max_frame_size = 16 * 1024;        // SETTINGS_MAX_FRAME_SIZE (the protocol default)
  uint32_t max_continuations = 8;             // CONTINUATION frames per header block
  // Body bytes buffered per stream on the sending side before the producer is paused.
  size_t stream_send_buffer = 64 * 1024;

  // --- Abuse defences: exceeding any of these sends GOAWAY(ENHANCE_YOUR_CALM) and closes ---
  // Rapid reset (CVE-2023-44487): once `rapid_reset_min_streams` streams were opened, more than
  // `rapid_reset_percent` of them reset by the peer within `premature_reset_age` of opening.
  uint32_t rapid_reset_min_streams = 100;
  uint32_t rapid_reset_percent = 50;
  std::chrono::milliseconds premature_reset_age{1000};
  // Token bucket over every reset the peer causes: its RST_STREAMs and ours for its malformed
  // streams (MadeYouReset, CVE-2025-8671).
  uint32_t reset_burst = 200;
  uint32_t resets_per_second = 100;
  // Token bucket over PING and SETTINGS frames (ACKs excluded). Below the outbound ACK cap,
  // so a burst that arrives in one read trips this (and is counted) before that cap does.
  uint32_t control_frame_burst = 200;
  uint32_t control_frames_per_second = 50;
  uint32_t max_priority_frames_per_stream = 100;           // budget: this × (streams + 1)
  uint32_t max_window_updates_per_data_frame_sent = 10;    // budget: 100 + 2×streams + this×DATA
  uint32_t max_consecutive_empty_frames = 1;                // DATA without payload or END_STREAM
  size_t max_outbound_frames = 10000;        // frames queued in nghttp2 (peer not reading)
  size_t max_outbound_control_frames = 1000;  // queued PING/SETTINGS ACKs (nghttp2 option)
  // Stream handlers still running (e.g. cancelled but unwinding) before new streams are refused.
  uint32_t max_active_handlers = 200;

  // --- Deadlines ---
  std::chrono::milliseconds idle_timeout{std::chrono::hours(1)};           // no open stream
  std::chrono::milliseconds stream_idle_timeout{std::chrono::minutes(5)};  // no frame on a stream
  std::chrono::milliseconds header_timeout{std::chrono::seconds(10)};      // one header block
  std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};       // one socket write
  std::chrono::milliseconds graceful_shutdown_delay{std::chrono::seconds(1)};  // notice → GOAWAY
  std::chrono::milliseconds drain_timeout{std::chrono::seconds(30)};       // GOAWAY → close
  std::chrono::milliseconds flush_timeout{std::chrono::seconds(1)};        // final GOAWAY flush
  std::chrono::milliseconds linger_timeout{std::chrono::seconds(1)};       // wait for peer's FIN

  // --- Client ---
  // Requests that may wait for a stream slot when the peer's concurrency limit is reached; 0
  // makes send() fail fast with SendError::kBusy instead.
  size_t max_pending_requests = 1000;
};

// Connection and stream events the proxy exports as metrics. One list, declared once: the
// X-macro expands to the counter fields and to for_each(). One instance per worker thread is
// typical; fields are relaxed atomics so an exporter on another thread may read them.
#define TRELLIS_H2_COUNTERS(X)                                                                 \
  X(connections_total, "HTTP/2 connections started")                                          \
  X(streams_opened_total, "streams opened")                                                   \
  X(streams_refused_total, "streams refused: handler or concurrency limit")                   \
  X(streams_reset_by_peer_total, "streams the peer reset (RST_STREAM received)")              \
  X(streams_reset_locally_total, "streams this side reset (RST_STREAM sent)")                 \
  X(malformed_headers_total, "header blocks rejected by RFC 9113 §8 validation")              \
  X(header_fields_over_limit_total, "header blocks with more fields than allowed")            \
  X(invalid_outbound_headers_total, "outbound fields dropped as invalid for HTTP/2")          \
  X(malformed_bodies_total, "bodies whose length disagreed with content-length")              \
  X(protocol_errors_total, "connections ended by a protocol error")                           \
  X(rapid_reset_total, "connections closed for rapid reset")                                  \
  X(header_flood_total, "connections closed for CONTINUATION or header-budget overflow")      \
  X(control_flood_total, "connections closed for a PING/SETTINGS flood")                      \
  X(priority_flood_total, "connections closed for a PRIORITY flood")                          \
  X(window_update_flood_total, "connections closed for a WINDOW_UPDATE flood")                \
  X(empty_frame_flood_total, "connections closed for empty DATA frames")                      \
  X(outbound_flood_total, "connections closed because the outbound queue overflowed")         \
  X(idle_timeouts_total, "connections closed after the idle timeout")                         \
  X(header_timeouts_total, "connections closed because a header block did not complete")      \
  X(write_timeouts_total, "connections closed because the peer stopped reading")              \
  X(drain_timeouts_total, "connections closed because the GOAWAY drain did not finish")       \
  X(stream_idle_timeouts_total, "streams reset after the stream idle timeout")

struct H2Counters {
#define TRELLIS_H2_COUNTER_FIELD(name, help) std::atomic<uint64_t> name{0};
  TRELLIS_H2_COUNTERS(TRELLIS_H2_COUNTER_FIELD)
#undef TRELLIS_H2_COUNTER_FIELD

  // Calls f(name, help, value) for every counter, in declaration order.
  template <typename F>
  void for_each(F&& f) const {
#define TRELLIS_H2_COUNTER_VISIT(name, help) f(#name, help, name.load(std::memory_order_relaxed));
    TRELLIS_H2_COUNTERS(TRELLIS_H2_COUNTER_VISIT)
#undef TRELLIS_H2_COUNTER_VISIT
  }
};

inline void bump(std::atomic<uint64_t>& counter) {
  counter.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace trellis::http::h2
