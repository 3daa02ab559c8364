#include "core/logging.h"

#include <cstdlib>

#include <spdlog/sinks/sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include "core/thread_annotations.h"

namespace modelrt {
namespace {

bool HasControl(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// Forwards every message to `inner` with its control characters escaped. Logged values come
// from clients (a percent-decoded %0A or %00 in a path) and from model files: escaped here,
// once, no value can forge a log line or write a raw NUL, whichever call site logged it.
// Thread-safety: as `inner` (spdlog's _mt sinks lock).
class EscapingSink final : public spdlog::sinks::sink {
 public:
  explicit EscapingSink(spdlog::sink_ptr inner) : inner_(std::move(inner)) {}
  void log(const spdlog::details::log_msg& msg) override {
    std::string_view payload(msg.payload.data(), msg.payload.size());
    if (!HasControl(payload)) return inner_->log(msg);
    std::string escaped = EscapeControlCharacters(payload);
    spdlog::details::log_msg copy(msg);
    copy.payload = spdlog::string_view_t(escaped.data(), escaped.size());
    inner_->log(copy);
  }
  void flush() override { inner_->flush(); }
  void set_pattern(const std::string& pattern) override { inner_->set_pattern(pattern); }
  void set_formatter(std::unique_ptr<spdlog::formatter> formatter) override {
    inner_->set_formatter(std::move(formatter));
  }

 private:
  const spdlog::sink_ptr inner_;
};

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
    return std::make_shared<EscapingSink>(std::move(s));
  }();
  return sink;
}

}  // namespace

std::string EscapeControlCharacters(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() + 8);
  for (unsigned char c : s) {
    if (c >= 0x20 && c != 0x7f) {
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

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
