// tokenizer.json's "post_processor": the special tokens around one text or a pair, and their
// token type ids: BertProcessing ([CLS] A [SEP] B [SEP]; types 0 then 1), RobertaProcessing
// (<s> A </s></s> B </s>; every type id 0, with or without special tokens, as RoBERTa has one
// token type) and TemplateProcessing (any layout, as `tokenizers` writes it for BGE, E5, GTE and
// the like).
//
// Thread-safety: immutable once made.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/json.h"
#include "modelrt/status.h"

namespace modelrt::tokenizer {

struct Encoding {
  std::vector<int32_t> ids;
  std::vector<int32_t> type_ids;  // one per id: 0 for the first text, 1 for the second
};

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // How many special tokens Process adds (truncation leaves room for them).
  virtual size_t Added(bool pair) const = 0;
  virtual Encoding Process(const std::vector<int32_t>& first,
                           const std::vector<int32_t>* second) const = 0;
  // Without special tokens (add_special_tokens false): the texts as they are, the pair's second
  // with type id 1, unless the processor has its own type ids.
  virtual Encoding Plain(const std::vector<int32_t>& first,
                         const std::vector<int32_t>* second) const;
};

// `json` null: the texts as they are, the pair's second with type id 1.
Result<std::unique_ptr<PostProcessor>> MakePostProcessor(const Json& json, const std::string& path);

}  // namespace modelrt::tokenizer
