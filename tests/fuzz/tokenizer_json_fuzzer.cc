// Arbitrary bytes as a tokenizer.json (tokenizer::Tokenizer::FromJson: added tokens, normalizer,
// pre-tokenizer, model, post-processor, truncation), and when it loads, a few texts and a pair
// tokenized with it, with and without a length limit. Seeds: small WordPiece, byte-level BPE,
// Unigram and Precompiled-charsmap files (corpus/tokenizer_json/).
//
// Beyond "no crash": every encoding has one type id per id, and keeps to max_length when asked.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "tokenizer/tokenizer.h"

namespace {

using modelrt::fuzz::Fail;
using modelrt::tokenizer::Encoding;
using modelrt::tokenizer::EncodeOptions;

void Check(const modelrt::Result<Encoding>& e, const EncodeOptions& options) {
  if (!e) return;
  if (e->ids.size() != e->type_ids.size()) Fail("an encoding without one type id per id");
  if (options.max_length > 0 && options.truncate && e->ids.size() > options.max_length) {
    // The special tokens alone may not fit; that is the only excuse.
    if (e->ids.size() > options.max_length + 4) Fail("an encoding longer than max_length");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  modelrt::fuzz::QuietLogs();
  // A deeply nested component (a tokenizer.json comes from a model's download).
  const std::string deep = R"({"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}, "normalizer": )" +
                           modelrt::fuzz::Nested(60000) + "}";
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(deep.data()), deep.size());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto tok = modelrt::tokenizer::Tokenizer::FromJson(text, "fuzz/tokenizer.json");
  if (!tok) return 0;
  const auto& t = **tok;
  constexpr std::string_view kTexts[] = {
      "", "Hello, world! unaffable ", "  \t\n  ", "caf\xc3\xa9 na\xc3\xafve \xef\xac\x81 \xe2\x85\xa0",
      "\xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7\x95\x8c 123456789 \xf0\x9f\x98\x80!",
      "[CLS] <s> </s> [MASK] <mask> [UNK] ##s", "\xff\xfe bad utf8 \xc3"};
  for (const EncodeOptions& options :
       {EncodeOptions{}, EncodeOptions{.add_special_tokens = false},
        EncodeOptions{.max_length = 6}, EncodeOptions{.max_length = 3, .truncate = false}}) {
    for (std::string_view s : kTexts) Check(t.Encode(s, options), options);
    Check(t.EncodePair(kTexts[1], kTexts[4], options), options);
  }
  (void)t.TokenToId("[UNK]");
  (void)t.VocabSize();
  return 0;
}
