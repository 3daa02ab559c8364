// tokenizer.json with a Unigram model (SentencePiece's, as XLM-R and its descendants use) against
// Hugging Face's tokenizers.js on the same file: the real 250k-piece XLM-R vocabulary and scores
// from llama.cpp's models/ggml-vocab-nomic-bert-moe.gguf, a Metaspace pre-tokenizer, and NFKC
// in place of XLM-R's Precompiled charsmap, then 5,000 hard texts and pairs. NFKC because
// tokenizers.js 0.2.0's Precompiled does not read the charsmap (it drops some controls, maps some
// spaces and applies NFKC); the real charsmap is checked against llama.cpp instead
// (precompiled_llama_test.cc).
#include <gtest/gtest.h>

#include "tokenizer/reference_util.h"

namespace modelrt::tokenizer {
namespace {

std::string XlmrTokenizerJson(const GgufVocab& gguf) {
  Json vocab = Json::array();
  for (size_t i = 0; i < gguf.tokens.size(); ++i) {
    vocab.push_back({gguf.tokens[i], i < gguf.scores.size() ? gguf.scores[i] : 0.0});
  }
  auto id = [&](const char* name, int64_t fallback) {
    auto it = gguf.ids.find(name);
    return it == gguf.ids.end() ? fallback : it->second;
  };
  const int64_t bos = id("bos", 0), eos = id("eos", 2), unk = id("unknown", 3),
                pad = id("padding", 1);
  Json added = Json::array();
  for (const auto& [tid, content] :
       std::vector<std::pair<int64_t, std::string>>{{bos, gguf.tokens[bos]},
                                                    {pad, gguf.tokens[pad]},
                                                    {eos, gguf.tokens[eos]},
                                                    {unk, gguf.tokens[unk]}}) {
    added.push_back({{"id", tid},
                     {"content", content},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  }
  const std::string s = gguf.tokens[bos], e = gguf.tokens[eos];
  Json special = {{s, {{"id", s}, {"ids", {bos}}, {"tokens", {s}}}},
                  {e, {{"id", e}, {"ids", {eos}}, {"tokens", {e}}}}};
  Json single = Json::array({{{"SpecialToken", {{"id", s}, {"type_id", 0}}}},
                             {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                             {{"SpecialToken", {{"id", e}, {"type_id", 0}}}}});
  Json pair = single;
  pair.push_back({{"SpecialToken", {{"id", e}, {"type_id", 1}}}});
  pair.push_back({{"Sequence", {{"id", "B"}, {"type_id", 1}}}});
  pair.push_back({{"SpecialToken", {{"id", e}, {"type_id", 1}}}});
  return Json{
      {"version", "1.0"},
      {"added_tokens", added},
      {"normalizer", {{"type", "NFKC"}}},
      {"pre_tokenizer",
       {{"type", "Metaspace"},
        {"replacement", "\u2581"},
        {"prepend_scheme", "always"},
        {"split", true}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", single},
        {"pair", pair},
        {"special_tokens", special}}},
      {"decoder",
       {{"type", "Metaspace"},
        {"replacement", "\u2581"},
        {"prepend_scheme", "always"},
        {"split", true}}},
      {"model", {{"type", "Unigram"}, {"unk_id", unk}, {"vocab", vocab}, {"byte_fallback", false}}}}
      .dump();
}

TEST(UnigramReferenceTest, FiveThousandTextsAndPairsGiveTokenizersJsIds) {
  const GgufVocab gguf =
      ReadGgufVocab(std::string(LLAMA_VOCAB_DIR) + "/ggml-vocab-nomic-bert-moe.gguf");
  ASSERT_GT(gguf.tokens.size(), 200000u);
  ASSERT_EQ(gguf.scores.size(), gguf.tokens.size());
  const std::string json = XlmrTokenizerJson(gguf);
  auto tok = Tokenizer::FromJson(json, "xlmr/tokenizer.json");
  ASSERT_TRUE(tok.ok()) << tok.error().ToString();
  // A sanity check that needs no reference: SentencePiece's word starts.
  auto hello = (*tok)->Encode("Hello world", {.add_special_tokens = false});
  ASSERT_TRUE(hello.ok());
  ASSERT_EQ(hello->ids.size(), 2u);
  EXPECT_EQ(gguf.tokens[hello->ids[0]], "\u2581Hello");
  EXPECT_EQ(gguf.tokens[hello->ids[1]], "\u2581world");

  if (!TokenizersJsAvailable()) {
    GTEST_SKIP() << "node or tests/e2e's npm packages are missing (scripts/setup installs both)";
  }
  std::vector<std::string> words;
  for (size_t i = 0; i < gguf.tokens.size(); i += 7) words.push_back(gguf.tokens[i]);
  const std::vector<std::string> texts = HardTexts(words, 5000);
  const Json inputs = ReferenceInputs(texts);
  const Json reference = TokenizersJs(json, inputs);
  ASSERT_EQ(reference.size(), inputs.size());
  EXPECT_EQ(ExpectSameAsReference(**tok, texts, inputs, reference), inputs.size());
}

}  // namespace
}  // namespace modelrt::tokenizer
