// Logging: spdlog to stderr with a component name in every line; never log secrets. Control
// characters in a message are escaped at the sink ("\n" -> "\\n", NUL -> "\\x00"): a value
// from a client or a file cannot start a forged line.
//
//   Log("runtime")->info("loaded {} in {} ms", alias, ms);
//
// Thread-safety: loggers are thread-safe (spdlog's _mt sinks).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

namespace modelrt {

// The logger for `component` (created on first use, sharing one stderr sink).
std::shared_ptr<spdlog::logger> Log(const std::string& component);

// `s` with control characters (< 0x20, 0x7f) written as \n, \r, \t or \xHH.
std::string EscapeControlCharacters(std::string_view s);

// Sets the level of every logger: trace, debug, info, warn, error, off. Default from
// $MODELRT_LOG_LEVEL, else info.
void SetLogLevel(const std::string& level);

}  // namespace modelrt
