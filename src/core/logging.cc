#include "core/logging.h"

#include <cstdlib>

#include <spdlog/sinks/stdout_color_sinks.h>

#include "core/thread_annotations.h"

namespace modelrt {
namespace {

// Serializes logger creation (spdlog::get + register is not atomic) and the level settings.
Mutex g_mu;
bool g_level_set GUARDED_BY(g_mu) = false;
spdlog::level::level_enum g_level GUARDED_BY(g_mu) = spdlog::level::info;

spdlog::level::level_enum DefaultLevel() {
  const char* env = std::getenv("MODELRT_LOG_LEVEL");
  return env ? spdlog::level::from_str(env) : spdlog::level::info;
}

spdlog::sink_ptr Sink() {
  static spdlog::sink_ptr sink = [] {
    auto s = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    s->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
    return s;
  }();
  return sink;
}

}  // namespace

std::shared_ptr<spdlog::logger> Log(const std::string& component) {
  MutexLock lock(g_mu);
  if (auto existing = spdlog::get(component)) return existing;
  auto logger = std::make_shared<spdlog::logger>(component, Sink());
  logger->set_level(g_level_set ? g_level : DefaultLevel());
  spdlog::register_logger(logger);
  return logger;
}

void SetLogLevel(const std::string& level) {
  MutexLock lock(g_mu);
  g_level = spdlog::level::from_str(level);
  g_level_set = true;
  spdlog::set_level(g_level);
}

}  // namespace modelrt
