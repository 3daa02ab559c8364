// DefaultConfig (modelrt/catalog.h): the demo catalog `modelrt` serves with no config file. It
// is YAML text run through ParseConfig, so the default obeys the same rules as user files.
#include <cstdlib>
#include <string>

#include "core/json.h"
#include "core/logging.h"
#include "modelrt/catalog.h"

namespace modelrt {
namespace {

constexpr std::string_view kModelsDirToken = "${MODELS_DIR}";

// ${MODELS_DIR} sits inside double quotes, so any directory name is safe once JSON-escaped
// (a JSON string is a valid YAML double-quoted scalar).
constexpr std::string_view kDefaultCatalog = R"yaml(
providers:
  - { id: local, type: llama }
models:
  - alias: chat
    task: generate
    model: "${MODELS_DIR}/stories260K.gguf"
    options: { ctx: 512, parallel: 8 }
  - alias: embed
    task: embed
    model: "${MODELS_DIR}/demo-embed.gguf"
    options: { normalize: true }
  - alias: rerank
    task: rerank
    model: "${MODELS_DIR}/demo-rerank.gguf"
profiles:
  - name: storyteller
    model: chat
    system: "You tell short, happy stories."
    params: { temperature: 0.8 }
)yaml";

std::string EscapeForDoubleQuotes(const std::string& text) {
  // dump() quotes and escapes; bytes that are not UTF-8 become U+FFFD instead of throwing.
  std::string quoted = Json(text).dump(-1, ' ', false, Json::error_handler_t::replace);
  return quoted.substr(1, quoted.size() - 2);
}

}  // namespace

Config DefaultConfig(const std::string& models_dir) {
  std::string text(kDefaultCatalog);
  std::string dir = EscapeForDoubleQuotes(models_dir);
  for (size_t at = text.find(kModelsDirToken); at != std::string::npos;
       at = text.find(kModelsDirToken, at + dir.size())) {
    text.replace(at, kModelsDirToken.size(), dir);
  }
  Result<Config> config = ParseConfig(text, "<embedded>", ConfigFormat::kYaml);
  if (!config) {
    // The text is a constant and a test parses it: reaching this is a build defect.
    Log("catalog")->critical("embedded default catalog is invalid: {}", config.error().message());
    std::abort();
  }
  return std::move(config).value();
}

}  // namespace modelrt
