#include "providers/llama/demo_models.h"

#include <filesystem>

#include "core/embedded_assets.h"
#include "core/logging.h"
#include "core/paths.h"
#include "providers/llama/test_model_writer.h"

namespace modelrt {

Status PrepareDemoModels(const std::string& models_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const std::string stories = models_dir + "/stories260K.gguf";
  std::string_view asset = EmbeddedAsset(Asset::kStories260K);
  if (!fs::exists(stories, ec) || fs::file_size(stories, ec) != asset.size()) {
    Log("demo")->info("writing {}", stories);
    MODELRT_RETURN_IF_ERROR(WriteFileAtomically(stories, asset));
  }
  // Random weights with real tokenizers: they test shapes and protocol, not semantics.
  struct Generated {
    const char* name;
    llama::TestModelKind kind;
  };
  for (const Generated& g : {Generated{"demo-embed.gguf", llama::TestModelKind::kBertEmbed},
                             Generated{"demo-rerank.gguf", llama::TestModelKind::kBertRerank}}) {
    std::string path = models_dir + "/" + g.name;
    if (fs::exists(path, ec)) continue;
    Log("demo")->info("generating {}", path);
    llama::TestModelSpec spec;
    spec.kind = g.kind;
    spec.path = path;
    spec.seed = 7;
    spec.embd = 128;
    spec.layers = 2;
    spec.heads = 4;
    spec.ff = 256;
    MODELRT_RETURN_IF_ERROR(llama::WriteTestModel(spec));
  }
  return OkStatus();
}

}  // namespace modelrt
