// Arbitrary text through real tokenizers: the tokenizer.json files of corpus/tokenizer_json/
// (WordPiece with BertNormalizer, byte-level BPE, Unigram with Metaspace, a Sequence of
// normalizers and Split/Digits/Punctuation pre-tokenizers, a Precompiled charsmap), loaded once.
// Byte 0 picks the tokenizer and the options; the rest is the text (a NUL splits it into a pair).
// Byte 0 = 255 instead feeds a SentencePiece charsmap itself (tokenizer::PrecompiledCharsmap:
// the bytes up to the first NUL are the blob, the rest the text it normalizes).
//
// Beyond "no crash": one type id per id, ids inside the vocabulary, max_length kept, and the
// same ids for the same text twice.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "tokenizer/precompiled_charsmap.h"
#include "tokenizer/tokenizer.h"

#ifndef FUZZ_TOKENIZER_DIR
#error "FUZZ_TOKENIZER_DIR names corpus/tokenizer_json (set by tests/fuzz/CMakeLists.txt)"
#endif

namespace {

using modelrt::fuzz::Fail;
using modelrt::tokenizer::Encoding;
using modelrt::tokenizer::EncodeOptions;
using modelrt::tokenizer::Tokenizer;

std::vector<std::shared_ptr<const Tokenizer>>* tokenizers = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  modelrt::fuzz::QuietLogs();
  tokenizers = new std::vector<std::shared_ptr<const Tokenizer>>();
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(FUZZ_TOKENIZER_DIR)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    auto tok = Tokenizer::FromFile(path.string());
    if (!tok) {
      std::fprintf(stderr, "%s\n", tok.error().ToString().c_str());
      std::abort();
    }
    tokenizers->push_back(*tok);
  }
  if (tokenizers->empty()) std::abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] == 255) {
    size_t nul = rest.find('\0');
    std::string blob(rest.substr(0, nul));
    auto map = modelrt::tokenizer::PrecompiledCharsmap::Parse(blob);
    if (!map) return 0;
    std::string_view text = nul == std::string_view::npos ? rest : rest.substr(nul + 1);
    (void)map->Normalize(text);
    for (size_t i = 0; i < text.size(); ++i) {
      auto first = map->FirstMatch(text.substr(i));
      auto longest = map->LongestMatch(text.substr(i));
      if (first && first->length > text.size() - i) Fail("a charsmap match past the text");
      if (longest && (!first || longest->length < first->length)) {
        Fail("the longest charsmap match is shorter than the first");
      }
    }
    return 0;
  }
  const Tokenizer& t = *(*tokenizers)[data[0] % tokenizers->size()];
  EncodeOptions options;
  options.add_special_tokens = (data[0] & 0x10) == 0;
  options.max_length = (data[0] & 0x20) ? 8 : 0;
  options.truncate = (data[0] & 0x40) == 0;
  auto check = [&](const modelrt::Result<Encoding>& e) {
    if (!e) {
      // Only a limit (ours, or the file's own truncation) without truncate may refuse a text.
      if (options.truncate) {
        std::fprintf(stderr, "%s\n", e.error().ToString().c_str());
        Fail("tokenizing failed, and not over a limit it may refuse");
      }
      return;
    }
    if (e->ids.size() != e->type_ids.size()) Fail("an encoding without one type id per id");
    for (int32_t id : e->ids) {
      if (id < 0 || static_cast<size_t>(id) >= t.VocabSize()) Fail("an id outside the vocabulary");
    }
    if (options.max_length > 0 && e->ids.size() > options.max_length) Fail("max_length not kept");
  };
  size_t nul = rest.find('\0');
  if (nul == std::string_view::npos) {
    auto a = t.Encode(rest, options);
    check(a);
    auto b = t.Encode(rest, options);
    if (a.ok() && b.ok() && a->ids != b->ids) Fail("the same text gave other ids");
  } else {
    check(t.EncodePair(rest.substr(0, nul), rest.substr(nul + 1), options));
  }
  return 0;
}
