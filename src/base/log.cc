#include "base/log.h"

#include <spdlog/sinks/stdout_sinks.h>

namespace trellis::base::log {

bool set_level(std::string_view level) {
  spdlog::level::level_enum l;
  if (level == "trace") l = spdlog::level::trace;
  else if (level == "debug") l = spdlog::level::debug;
  else if (level == "info") l = spdlog::level::info;
  else if (level == "warn" || level == "warning") l = spdlog::level::warn;
  else if (level == "error") l = spdlog::level::err;
  else if (level == "off") l = spdlog::level::off;
  else return false;
  spdlog::set_level(l);
  return true;
}

std::string level() {
  switch (spdlog::get_level()) {
    case spdlog::level::trace: return "trace";
    case spdlog::level::debug: return "debug";
    case spdlog::level::info: return "info";
    case spdlog::level::warn: return "warn";
    case spdlog::level::err: return "error";
    case spdlog::level::critical: return "error";
    case spdlog::level::off: return "off";
    default: return "info";
  }
}

void init(std::string_view component, std::string_view level) {
  auto logger = spdlog::stderr_logger_mt(std::string(component));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %n: %v", spdlog::pattern_time_type::utc);
  spdlog::set_default_logger(logger);
  set_level(level);
}

}  // namespace trellis::base::log
