// tokenizer.json's "normalizer": what a text becomes before it is split (Hugging Face
// `tokenizers`' normalizers, same names, same options, same results): BertNormalizer, Lowercase,
// Strip, StripAccents, NFC, NFD, NFKC, NFKD, Replace (a string or a regex), Prepend, Precompiled
// (SentencePiece's charsmap, precompiled_charsmap.h) and Sequence.
//
//   MODELRT_ASSIGN_OR_RETURN(auto normalizer, MakeNormalizer(json["normalizer"], "normalizer"));
//   std::string text = normalizer ? normalizer->Normalize(raw) : raw;
//
// A type that is not built here is InvalidArgument naming it and where it was.
// Thread-safety: immutable once made.
#pragma once

#include <memory>
#include <string>

#include "core/json.h"
#include "modelrt/status.h"

namespace modelrt::tokenizer {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual std::string Normalize(std::string text) const = 0;
};

// `json` null: no normalizer (nullptr). `path` names it in errors ("normalizer.normalizers[1]").
Result<std::unique_ptr<Normalizer>> MakeNormalizer(const Json& json, const std::string& path);

}  // namespace modelrt::tokenizer
