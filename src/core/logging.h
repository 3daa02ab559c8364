// Logging: spdlog to stderr with a component name in every line; never log secrets.
//
//   Log("runtime")->info("loaded {} in {} ms", alias, ms);
//
// Thread-safety: loggers are thread-safe (spdlog's _mt sinks).
#pragma once

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace modelrt {

// The logger for `component` (created on first use, sharing one stderr sink).
std::shared_ptr<spdlog::logger> Log(const std::string& component);

// Sets the level of every logger: trace, debug, info, warn, error, off. Default from
// $MODELRT_LOG_LEVEL, else info.
void SetLogLevel(const std::string& level);

}  // namespace modelrt
