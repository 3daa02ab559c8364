// tokenizer.json's "model": how one pre-tokenized word becomes ids. WordPiece (BERT's greedy
// longest match with a continuing-subword prefix), Unigram (SentencePiece's best-score
// segmentation: XLM-R, T5) and BPE (ranked merges: GPT-2, RoBERTa, Llama 3, Qwen) are built here.
//
//   MODELRT_ASSIGN_OR_RETURN(auto model, MakeModel(json["model"], "model"));
//   model->Tokenize("unaffable", &ids);   // un ##aff ##able
//
// A type that is not built here is InvalidArgument naming it.
// Thread-safety: immutable once made.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "modelrt/status.h"

namespace modelrt::tokenizer {

class Model {
 public:
  virtual ~Model() = default;
  // Appends the ids of one word.
  virtual void Tokenize(std::string_view word, std::vector<int32_t>* ids) const = 0;
  virtual std::optional<int32_t> TokenToId(std::string_view token) const = 0;
  virtual size_t VocabSize() const = 0;
};

Result<std::unique_ptr<Model>> MakeModel(const Json& json, const std::string& path);

}  // namespace modelrt::tokenizer
