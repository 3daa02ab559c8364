#include "core/embedded_assets.h"

extern "C" {
extern const char modelrt_asset_stories_begin[], modelrt_asset_stories_end[];
extern const char modelrt_asset_vocab_bert_begin[], modelrt_asset_vocab_bert_end[];
extern const char modelrt_asset_vocab_llama_begin[], modelrt_asset_vocab_llama_end[];
}

namespace modelrt {

std::string_view EmbeddedAsset(Asset asset) {
  auto view = [](const char* b, const char* e) { return std::string_view(b, size_t(e - b)); };
  switch (asset) {
    case Asset::kStories260K: return view(modelrt_asset_stories_begin, modelrt_asset_stories_end);
    case Asset::kVocabBert: return view(modelrt_asset_vocab_bert_begin, modelrt_asset_vocab_bert_end);
    case Asset::kVocabLlama: return view(modelrt_asset_vocab_llama_begin, modelrt_asset_vocab_llama_end);
  }
  return {};
}

}  // namespace modelrt
