// tokenizer.json's "pre_tokenizer": how a normalized text is cut into words before the model
// sees them (Hugging Face `tokenizers`' pre-tokenizers, same names, options and results):
// BertPreTokenizer, Whitespace, WhitespaceSplit, Punctuation, Digits, Metaspace, ByteLevel,
// Split (a string or a regex) and Sequence.
//
//   MODELRT_ASSIGN_OR_RETURN(auto pre, MakePreTokenizer(json["pre_tokenizer"], "pre_tokenizer"));
//   std::vector<std::string> words = pre ? pre->Split({text}) : std::vector<std::string>{text};
//
// A type that is not built here is InvalidArgument naming it and where it was.
// Thread-safety: immutable once made.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/json.h"
#include "modelrt/status.h"

namespace modelrt::tokenizer {

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Each piece cut further; empty pieces are dropped.
  virtual std::vector<std::string> Split(std::vector<std::string> pieces) const = 0;
};

// `json` null: no pre-tokenizer (nullptr).
Result<std::unique_ptr<PreTokenizer>> MakePreTokenizer(const Json& json, const std::string& path);

}  // namespace modelrt::tokenizer
