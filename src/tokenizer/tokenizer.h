// Tokenizer: a Hugging Face tokenizer.json run in C++, as `tokenizers` runs it: added and
// special tokens found first, then the normalizer, the pre-tokenizer, the model, truncation and
// the post-processor. The same ids for the same file and text is the contract (tested against
// the reference implementation on the same files).
//
//   MODELRT_ASSIGN_OR_RETURN(auto tok, Tokenizer::FromFile(dir + "/tokenizer.json"));
//   MODELRT_ASSIGN_OR_RETURN(Encoding e, tok->Encode("what is panda?", {.max_length = 512}));
//   MODELRT_ASSIGN_OR_RETURN(Encoding p, tok->EncodePair(query, document, {.max_length = 512}));
//
// Built: normalizers.h, pre_tokenizers.h, models.h and post_processors.h list their component
// types; any other type in a file is an error that names it, at load time.
// Thread-safety: immutable once made; Encode from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modelrt/status.h"
#include "tokenizer/post_processors.h"

namespace modelrt::tokenizer {

class Normalizer;
class PreTokenizer;
class Model;

struct EncodeOptions {
  bool add_special_tokens = true;
  // Most tokens in the result, special tokens included; 0 = the file's own truncation, if any.
  size_t max_length = 0;
  // Over max_length: cut (a pair longest first), or fail with InvalidArgument.
  bool truncate = true;
};

class Tokenizer {
 public:
  // `origin` starts every error ("model/tokenizer.json").
  static Result<std::shared_ptr<const Tokenizer>> FromJson(std::string_view text,
                                                           const std::string& origin);
  static Result<std::shared_ptr<const Tokenizer>> FromFile(const std::string& path);
  ~Tokenizer();

  Result<Encoding> Encode(std::string_view text, const EncodeOptions& options = {}) const;
  Result<Encoding> EncodePair(std::string_view first, std::string_view second,
                              const EncodeOptions& options = {}) const;

  std::optional<int32_t> TokenToId(std::string_view token) const;
  size_t VocabSize() const;

 private:
  struct AddedToken {
    std::string content;
    int32_t id = 0;
    bool single_word = false, lstrip = false, rstrip = false, normalized = true;
  };
  Tokenizer() = default;
  // The ids of one text, no special tokens around it.
  std::vector<int32_t> Ids(std::string_view text) const;
  void SplitAdded(std::string_view text, bool normalized_pass, std::vector<int32_t>* ids) const;
  void ModelIds(const std::string& normalized, std::vector<int32_t>* ids) const;
  Result<Encoding> Finish(std::vector<int32_t> first, std::optional<std::vector<int32_t>> second,
                          const EncodeOptions& options) const;

  std::string origin_;
  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<PostProcessor> post_processor_;
  std::vector<AddedToken> added_;
  size_t file_max_length_ = 0;  // tokenizer.json's "truncation.max_length"; 0 = none
};

}  // namespace modelrt::tokenizer
