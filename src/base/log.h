#pragma once
// Logging (spdlog + fmt). Per-request logging is debug level and costs one level check when off
// (DESIGN.md §7.8): use TRELLIS_LOG_DEBUG for anything on the data path. Never log keys or tokens.
//
//   TRELLIS_LOG_INFO("listening on {}", addr);
//   TRELLIS_LOG_DEBUG("[C{}][S{}] {} {}", conn_id, stream_id, method, path);

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

namespace trellis::base::log {

// "trace", "debug", "info", "warn", "error", "off" (also "warning"). Returns false if unknown.
bool set_level(std::string_view level);
std::string level();
// Plain text to stderr with a component name: "2026-11-21T23:59:59.123Z INFO proxy: ...".
void init(std::string_view component, std::string_view level = "info");

}  // namespace trellis::base::log

#define TRELLIS_LOG_TRACE(...) SPDLOG_LOGGER_CALL(spdlog::default_logger_raw(), spdlog::level::trace, __VA_ARGS__)
#define TRELLIS_LOG_DEBUG(...)                                                     \
  do {                                                                             \
    if (spdlog::default_logger_raw()->should_log(spdlog::level::debug))            \
      spdlog::default_logger_raw()->log(spdlog::level::debug, __VA_ARGS__);        \
  } while (0)
#define TRELLIS_LOG_INFO(...) spdlog::default_logger_raw()->log(spdlog::level::info, __VA_ARGS__)
#define TRELLIS_LOG_WARN(...) spdlog::default_logger_raw()->log(spdlog::level::warn, __VA_ARGS__)
#define TRELLIS_LOG_ERROR(...) spdlog::default_logger_raw()->log(spdlog::level::err, __VA_ARGS__)
