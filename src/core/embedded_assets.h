// Binary assets compiled into the library: the demo generator and the tokenizer vocabularies
// the test-model writer copies its tokenizers from.
//
//   std::string_view gguf = EmbeddedAsset(Asset::kStories260K);
//
// Thread-safety: returns views of read-only static data.
#pragma once

#include <string_view>

namespace modelrt {

enum class Asset {
  kStories260K,  // models/stories260K.gguf (TinyStories llama, MIT; see models/README.md)
  kVocabBert,    // llama.cpp models/ggml-vocab-bert-bge.gguf (WordPiece)
  kVocabLlama,   // llama.cpp models/ggml-vocab-llama-spm.gguf (SentencePiece)
};

std::string_view EmbeddedAsset(Asset asset);

}  // namespace modelrt
