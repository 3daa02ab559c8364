// tokenizer.json with a WordPiece model against Hugging Face's own output: llama.cpp ships BGE's
// real vocabulary (models/ggml-vocab-bert-bge.gguf) with the ids `tokenizers` produced for a set
// of hard texts (.inp/.out: accents, whitespace runs, emoji, Cyrillic, CJK, code, long numbers).
// The vocabulary is written here as the tokenizer.json BGE ships (BertNormalizer, BertPreTokenizer,
// WordPiece, TemplateProcessing), and our ids must equal the reference, text by text.
#include <gtest/gtest.h>

#include "core/json.h"
#include "tokenizer/reference_util.h"
#include "tokenizer/tokenizer.h"

namespace modelrt::tokenizer {
namespace {

// BGE's tokenizer.json, with the vocabulary from the GGUF file.
std::string BgeTokenizerJson(const std::vector<std::string>& tokens) {
  Json vocab = Json::object();
  for (size_t i = 0; i < tokens.size(); ++i) vocab[tokens[i]] = i;
  Json added = Json::array();
  for (const char* special : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}) {
    added.push_back({{"id", vocab[special]},
                     {"content", special},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  }
  const int cls = vocab["[CLS]"], sep = vocab["[SEP]"];
  Json json = {{"version", "1.0"},
               {"truncation", nullptr},
               {"padding", nullptr},
               {"added_tokens", added},
               {"normalizer",
                {{"type", "BertNormalizer"},
                 {"clean_text", true},
                 {"handle_chinese_chars", true},
                 {"strip_accents", nullptr},
                 {"lowercase", true}}},
               {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
               {"post_processor",
                {{"type", "TemplateProcessing"},
                 {"single", Json::parse(R"([{"SpecialToken":{"id":"[CLS]","type_id":0}},
            {"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"[SEP]","type_id":0}}])")},
                 {"pair", Json::parse(R"([{"SpecialToken":{"id":"[CLS]","type_id":0}},
            {"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"[SEP]","type_id":0}},
            {"Sequence":{"id":"B","type_id":1}},{"SpecialToken":{"id":"[SEP]","type_id":1}}])")},
                 {"special_tokens",
                  {{"[CLS]", {{"id", "[CLS]"}, {"ids", {cls}}, {"tokens", {"[CLS]"}}}},
                   {"[SEP]", {{"id", "[SEP]"}, {"ids", {sep}}, {"tokens", {"[SEP]"}}}}}}}},
               {"decoder", {{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}}},
               {"model",
                {{"type", "WordPiece"},
                 {"unk_token", "[UNK]"},
                 {"continuing_subword_prefix", "##"},
                 {"max_input_chars_per_word", 100},
                 {"vocab", vocab}}}};
  return json.dump();
}

class WordPieceReferenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = std::string(LLAMA_VOCAB_DIR) + "/ggml-vocab-bert-bge.gguf";
    tokens_ = WordPieceVocab(ReadGgufVocab(base_).tokens);
    ASSERT_GT(tokens_.size(), 30000u) << base_;
    json_ = BgeTokenizerJson(tokens_);
    auto tok = Tokenizer::FromJson(json_, "bge/tokenizer.json");
    ASSERT_TRUE(tok.ok()) << tok.error().ToString();
    tok_ = *tok;
  }
  std::string base_;
  std::vector<std::string> tokens_;
  std::string json_;
  std::shared_ptr<const Tokenizer> tok_;
};

TEST_F(WordPieceReferenceTest, EveryReferenceTextGivesHuggingFacesIds) {
  const auto pairs = ReferencePairs(base_);
  ASSERT_GT(pairs.size(), 30u);
  int same = 0;
  for (const auto& [text, expected] : pairs) {
    auto e = tok_->Encode(text, {.add_special_tokens = false});
    ASSERT_TRUE(e.ok()) << e.error().ToString();
    EXPECT_EQ(e->ids, expected) << "text: '" << text << "'";
    same += e->ids == expected;
  }
  EXPECT_EQ(same, static_cast<int>(pairs.size()));
}

TEST_F(WordPieceReferenceTest, FiveThousandTextsAndPairsGiveTokenizersJsIds) {
  if (!TokenizersJsAvailable()) {
    GTEST_SKIP() << "node or tests/e2e's npm packages are missing (scripts/setup installs both)";
  }
  const std::vector<std::string> texts = HardTexts(tokens_, 5000);
  const Json inputs = ReferenceInputs(texts);
  const Json reference = TokenizersJs(json_, inputs);
  ASSERT_EQ(reference.size(), inputs.size());
  const size_t same = ExpectSameAsReference(*tok_, texts, inputs, reference);
  EXPECT_EQ(same, inputs.size());
}

TEST_F(WordPieceReferenceTest, SpecialTokensTruncationAndPairs) {
  auto single = tok_->Encode("Hello world");
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single->ids, (std::vector<int32_t>{101, 7592, 2088, 102}));
  EXPECT_EQ(single->type_ids, (std::vector<int32_t>{0, 0, 0, 0}));
  // A special token written in the text is that token, not its letters.
  auto literal = tok_->Encode("[CLS] hello", {.add_special_tokens = false});
  ASSERT_TRUE(literal.ok());
  EXPECT_EQ(literal->ids, (std::vector<int32_t>{101, 7592}));

  auto pair = tok_->EncodePair("Hello", "Hello world!");
  ASSERT_TRUE(pair.ok());
  EXPECT_EQ(pair->ids, (std::vector<int32_t>{101, 7592, 102, 7592, 2088, 999, 102}));
  EXPECT_EQ(pair->type_ids, (std::vector<int32_t>{0, 0, 0, 1, 1, 1, 1}));

  // Longest first: 1 + 3 tokens into a budget of 6 - 3 specials = 3: the short one keeps its 1.
  auto cut = tok_->EncodePair("Hello", "Hello world!", {.max_length = 6});
  ASSERT_TRUE(cut.ok());
  EXPECT_EQ(cut->ids, (std::vector<int32_t>{101, 7592, 102, 7592, 2088, 102}));
  auto single_cut = tok_->Encode("Hello world!", {.max_length = 3});
  ASSERT_TRUE(single_cut.ok());
  EXPECT_EQ(single_cut->ids, (std::vector<int32_t>{101, 7592, 102}));
  auto refused = tok_->Encode("Hello world!", {.max_length = 3, .truncate = false});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("5 tokens, over the limit of 3"), std::string::npos)
      << refused.error().message();
}

TEST(TokenizerJsonTest, UnsupportedPartsAndBadFilesAreOneClearError) {
  auto nmt = Tokenizer::FromJson(
      R"({"normalizer":{"type":"Nmt"},"model":{"type":"WordPiece","vocab":{"[UNK]":0}}})",
      "marian/tokenizer.json");
  ASSERT_FALSE(nmt.ok());
  EXPECT_EQ(nmt.error().message(),
            "marian/tokenizer.json: normalizer: type 'Nmt' is not supported by modelrt's "
            "tokenizer");
  auto nested = Tokenizer::FromJson(
      R"({"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"WhitespaceSplit"},{"type":"CharDelimiterSplit","delimiter":"x"}]},"model":{"type":"WordPiece","vocab":{"[UNK]":0}}})",
      "t.json");
  ASSERT_FALSE(nested.ok());
  EXPECT_NE(
      nested.error().message().find("pre_tokenizer.pretokenizers[1]: type 'CharDelimiterSplit'"),
      std::string::npos)
      << nested.error().message();
  auto no_unk = Tokenizer::FromJson(R"({"model":{"type":"WordPiece","vocab":{"a":0}}})", "t.json");
  ASSERT_FALSE(no_unk.ok());
  EXPECT_NE(no_unk.error().message().find("model.unk_token: '[UNK]' is not in the vocabulary"),
            std::string::npos);
  EXPECT_FALSE(Tokenizer::FromJson("{not json", "t.json").ok());
  EXPECT_FALSE(Tokenizer::FromJson(R"({"model": 3})", "t.json").ok());
  EXPECT_FALSE(
      Tokenizer::FromJson(R"({"model":{"type":"WordPiece","vocab":{"[UNK]":"x"}}})", "t.json")
          .ok());
  EXPECT_FALSE(
      Tokenizer::FromJson(
          R"({"added_tokens":[{"id":"x","content":1}],"model":{"type":"WordPiece","vocab":{"[UNK]":0}}})",
          "t.json")
          .ok());
  auto missing = Tokenizer::FromFile("/nonexistent/tokenizer.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), StatusCode::kNotFound);
}

TEST(TokenizerJsonTest, NormalizersAndPreTokenizersCompose) {
  auto tok = Tokenizer::FromJson(R"({
      "normalizer": {"type": "Sequence", "normalizers": [
          {"type": "NFD"}, {"type": "StripAccents"}, {"type": "Lowercase"},
          {"type": "Replace", "pattern": {"String": "``"}, "content": "\""},
          {"type": "Strip", "strip_left": true, "strip_right": true}]},
      "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
          {"type": "Whitespace"}, {"type": "Digits", "individual_digits": true}]},
      "model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {
          "[UNK]": 0, "cafe": 1, "\"": 2, "1": 3, "2": 4, "x": 5, "##y": 6, ".": 7}}})",
                                 "t.json");
  ASSERT_TRUE(tok.ok()) << tok.error().ToString();
  auto e = (*tok)->Encode("  Café ``12 xy.  ");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->ids, (std::vector<int32_t>{1, 2, 3, 4, 5, 6, 7}));
  auto unknown = (*tok)->Encode("xz");
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->ids, (std::vector<int32_t>{0}));  // one missing piece: the word is [UNK]
}

}  // namespace
}  // namespace modelrt::tokenizer
