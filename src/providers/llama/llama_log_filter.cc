#include "providers/llama/llama_log_filter.h"

namespace modelrt::llama {
namespace {

std::string RedactQuoted(std::string_view line) {
  std::string out;
  out.reserve(line.size());
  size_t pos = 0;
  for (;;) {
    size_t open = line.find('\'', pos);
    if (open == std::string_view::npos) break;
    size_t close = line.find('\'', open + 1);
    if (close == std::string_view::npos) {
      // An unterminated quote: what follows it may be file bytes too.
      out.append(line.substr(pos, open - pos));
      out += "'<redacted>";
      return out;
    }
    out.append(line.substr(pos, open - pos));
    out += "'<redacted>'";
    pos = close + 1;
  }
  out.append(line.substr(pos));
  return out;
}

}  // namespace

std::string RedactLlamaLogLine(std::string_view line) {
  const bool gguf_reader = line.rfind("gguf_", 0) == 0;
  const bool about_magic = line.find("magic") != std::string_view::npos;
  if ((gguf_reader && line.find("failed to open GGUF file") == std::string_view::npos) ||
      about_magic) {
    return RedactQuoted(line);
  }
  return std::string(line);
}

}  // namespace modelrt::llama
