// tokenizer.json with a byte-level BPE model (GPT-2's, and RoBERTa's, Llama 3's, Qwen's after it)
// against Hugging Face: GPT-2's real vocabulary and 50k merges from llama.cpp's
// models/ggml-vocab-gpt-2.gguf, written as GPT-2's tokenizer.json (ByteLevel pre-tokenizer with
// the GPT-2 regex, BPE, ByteLevel post-processor), checked against the ids `tokenizers` gave
// llama.cpp (.inp/.out) and against tokenizers.js on 5,000 hard texts. A Split pre-tokenizer
// with Llama 3's regex is checked the same way.
#include <gtest/gtest.h>

#include "tokenizer/reference_util.h"

namespace modelrt::tokenizer {
namespace {

std::string Gpt2TokenizerJson(const GgufVocab& gguf, const Json& pre_tokenizer) {
  Json vocab = Json::object();
  for (size_t i = 0; i < gguf.tokens.size(); ++i) vocab[gguf.tokens[i]] = i;
  const int64_t eot = static_cast<int64_t>(gguf.tokens.size()) - 1;  // <|endoftext|>
  Json added = Json::array({{{"id", eot},
                             {"content", gguf.tokens[eot]},
                             {"single_word", false},
                             {"lstrip", false},
                             {"rstrip", false},
                             {"normalized", false},
                             {"special", true}}});
  const Json byte_level = {{"type", "ByteLevel"},
                           {"add_prefix_space", false},
                           {"trim_offsets", true},
                           {"use_regex", true}};
  return Json{{"version", "1.0"},
              {"added_tokens", added},
              {"normalizer", nullptr},
              {"pre_tokenizer", pre_tokenizer},
              {"post_processor", byte_level},
              {"decoder", byte_level},
              {"model",
               ByteLevelBpeModel(vocab, gguf.merges)}}
      .dump();
}

class BpeReferenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = std::string(LLAMA_VOCAB_DIR) + "/ggml-vocab-gpt-2.gguf";
    gguf_ = ReadGgufVocab(base_);
    ASSERT_EQ(gguf_.tokens.size(), 50257u);
    ASSERT_GT(gguf_.merges.size(), 49000u);
  }
  std::string base_;
  GgufVocab gguf_;
};

TEST_F(BpeReferenceTest, EveryReferenceTextGivesHuggingFacesIds) {
  const std::string json = Gpt2TokenizerJson(
      gguf_, {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}});
  auto tok = Tokenizer::FromJson(json, "gpt2/tokenizer.json");
  ASSERT_TRUE(tok.ok()) << tok.error().ToString();
  const auto pairs = ReferencePairs(base_);
  ASSERT_GT(pairs.size(), 30u);
  for (const auto& [text, expected] : pairs) {
    auto e = (*tok)->Encode(text);
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(e->ids, expected) << "text: '" << text << "'";
  }
}

TEST_F(BpeReferenceTest, FiveThousandTextsGiveTokenizersJsIdsWithEitherSplit) {
  if (!TokenizersJsAvailable()) {
    GTEST_SKIP() << "node or tests/e2e's npm packages are missing (scripts/setup installs both)";
  }
  // GPT-2's own split, and the same as a Split regex followed by a ByteLevel without one (the
  // shape Llama 3 and Qwen files have).
  const Json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  const Json split = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Split"},
         {"pattern",
          {{"Regex",
            R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}}},
         {"behavior", "Isolated"},
         {"invert", false}},
        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  std::vector<std::string> words;
  for (size_t i = 0; i < gguf_.tokens.size(); i += 3) {
    std::string w = gguf_.tokens[i];
    if (w.rfind("\xC4\xA0", 0) == 0) w = w.substr(2);  // byte-level's space
    words.push_back(w);
  }
  const std::vector<std::string> texts = HardTexts(words, 5000);
  // No pairs: tokenizers.js's ByteLevel post-processor drops a pair's second text (the Rust
  // crate concatenates them, as we do), and byte-level models are not run on pairs anyway.
  const Json inputs = ReferenceInputs(texts, /*pairs=*/false);
  for (const Json& pre : {byte_level, split}) {
    const std::string json = Gpt2TokenizerJson(gguf_, pre);
    auto tok = Tokenizer::FromJson(json, "gpt2/tokenizer.json");
    ASSERT_TRUE(tok.ok()) << tok.error().ToString();
    const Json reference = TokenizersJs(json, inputs);
    ASSERT_EQ(reference.size(), inputs.size());
    EXPECT_EQ(ExpectSameAsReference(**tok, texts, inputs, reference), inputs.size()) << pre.dump();
  }
}

TEST_F(BpeReferenceTest, InvalidUtf8IsReadAsReplacementCharacters) {
  auto tok = Tokenizer::FromJson(
      Gpt2TokenizerJson(gguf_,
                        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}),
      "gpt2/tokenizer.json");
  ASSERT_TRUE(tok.ok());
  auto bad = (*tok)->Encode("caf\xC3 \xFF\xFEok \xE2\x82");
  auto replaced = (*tok)->Encode("caf\uFFFD \uFFFD\uFFFDok \uFFFD\uFFFD");
  ASSERT_TRUE(bad.ok());
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(bad->ids, replaced->ids);
}

TEST(TokenizerRegexTest, ABadRegexIsOneClearError) {
  auto tok = Tokenizer::FromJson(
      R"({"pre_tokenizer":{"type":"Split","pattern":{"Regex":"(unclosed"},"behavior":"Isolated"},
          "model":{"type":"WordPiece","vocab":{"[UNK]":0}}})",
      "t.json");
  ASSERT_FALSE(tok.ok());
  EXPECT_NE(tok.error().message().find("pre_tokenizer.pattern: regex '(unclosed' does not compile"),
            std::string::npos)
      << tok.error().message();
}

}  // namespace
}  // namespace modelrt::tokenizer
