// RobertaProcessing (<s> A </s> and <s> A </s></s> B </s>) against tokenizers.js on a
// RoBERTa-shaped tokenizer.json: GPT-2's real vocabulary and merges from llama.cpp's
// models/ggml-vocab-gpt-2.gguf (RoBERTa's BPE is GPT-2's), RoBERTa's five special tokens added
// after them (<mask> lstrip), ByteLevel pre-tokenizer, RobertaProcessing; 5,000 hard texts, every
// fifth a pair.
//
// Type ids: `tokenizers` (Rust, the spec) gives RoBERTa 0 everywhere; tokenizers.js 0.2.0 gives
// the pair's "</s> B </s>" type id 1. The test checks that this is the only difference: each of
// tokenizers.js's pair type ids must be exactly that layout, and is then compared as zeros.
#include <gtest/gtest.h>

#include "tokenizer/reference_util.h"

namespace modelrt::tokenizer {
namespace {

constexpr int32_t kCls = 50257, kSep = 50258, kPad = 50259, kUnk = 50260, kMask = 50261;

std::string RobertaJson(const GgufVocab& gguf) {
  Json vocab = Json::object();
  for (size_t i = 0; i < gguf.tokens.size(); ++i) vocab[gguf.tokens[i]] = i;
  Json added = Json::array();
  for (auto [id, content] : std::vector<std::pair<int32_t, std::string>>{
           {kCls, "<s>"}, {kSep, "</s>"}, {kPad, "<pad>"}, {kUnk, "<unk>"}, {kMask, "<mask>"}}) {
    vocab[content] = id;
    const bool mask = id == kMask;
    added.push_back({{"id", id},
                     {"content", content},
                     {"single_word", false},
                     {"lstrip", mask},
                     {"rstrip", false},
                     {"normalized", !mask},
                     {"special", true}});
  }
  return Json{{"version", "1.0"},
              {"added_tokens", added},
              {"normalizer", nullptr},
              {"pre_tokenizer",
               {{"type", "ByteLevel"},
                {"add_prefix_space", false},
                {"trim_offsets", true},
                {"use_regex", true}}},
              {"post_processor",
               {{"type", "RobertaProcessing"},
                {"sep", {"</s>", kSep}},
                {"cls", {"<s>", kCls}},
                {"trim_offsets", true},
                {"add_prefix_space", false}}},
              {"decoder",
               {{"type", "ByteLevel"},
                {"add_prefix_space", true},
                {"trim_offsets", true},
                {"use_regex", true}}},
              {"model",
               ByteLevelBpeModel(vocab, gguf.merges)}}
      .dump();
}

class RobertaReferenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    gguf_ = ReadGgufVocab(std::string(LLAMA_VOCAB_DIR) + "/ggml-vocab-gpt-2.gguf");
    ASSERT_EQ(gguf_.tokens.size(), 50257u);
    json_ = RobertaJson(gguf_);
    auto tok = Tokenizer::FromJson(json_, "roberta/tokenizer.json");
    ASSERT_TRUE(tok.ok()) << tok.error().ToString();
    tok_ = *tok;
  }
  std::vector<int32_t> Plain(const std::string& text) {
    return tok_->Encode(text, {.add_special_tokens = false})->ids;
  }
  GgufVocab gguf_;
  std::string json_;
  std::shared_ptr<const Tokenizer> tok_;
};

TEST_F(RobertaReferenceTest, FramesOneTextAndAPairWithTypeIdsZero) {
  const std::vector<int32_t> a = Plain("Hello world"), b = Plain(" again");
  ASSERT_EQ(a.size(), 2u);
  auto single = tok_->Encode("Hello world");
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single->ids, (std::vector<int32_t>{kCls, a[0], a[1], kSep}));
  EXPECT_EQ(single->type_ids, std::vector<int32_t>(4, 0));
  auto pair = tok_->EncodePair("Hello world", " again");
  ASSERT_TRUE(pair.ok());
  std::vector<int32_t> expected = {kCls, a[0], a[1], kSep, kSep};
  expected.insert(expected.end(), b.begin(), b.end());
  expected.push_back(kSep);
  EXPECT_EQ(pair->ids, expected);
  EXPECT_EQ(pair->type_ids, std::vector<int32_t>(expected.size(), 0));
  // Without special tokens the ids are the two texts', and RoBERTa's type ids still all 0.
  auto bare = tok_->EncodePair("Hello world", " again", {.add_special_tokens = false});
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->ids.size(), a.size() + b.size());
  EXPECT_EQ(bare->type_ids, std::vector<int32_t>(bare->ids.size(), 0));
  // Truncation leaves room for the pair's four special tokens.
  auto cut =
      tok_->EncodePair("one two three four five six", "seven eight nine ten", {.max_length = 9});
  ASSERT_TRUE(cut.ok());
  ASSERT_EQ(cut->ids.size(), 9u);
  EXPECT_EQ(cut->ids[0], kCls);
  EXPECT_EQ(cut->ids.back(), kSep);
}

TEST_F(RobertaReferenceTest, MalformedSpecialTokensAreClearErrors) {
  Json json = Json::parse(json_);
  json["post_processor"]["sep"] = "</s>";
  auto tok = Tokenizer::FromJson(json.dump(), "r.json");
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.error().message(), "r.json: post_processor.sep: must be [token, id]");
  json["post_processor"]["sep"] = {"</s>", kSep};
  json["post_processor"]["trim_offsets"] = "yes";
  tok = Tokenizer::FromJson(json.dump(), "r.json");
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.error().message(), "r.json: post_processor.trim_offsets: must be true or false");
}

TEST_F(RobertaReferenceTest, FiveThousandTextsAndPairsGiveTokenizersJsIds) {
  if (!TokenizersJsAvailable()) {
    GTEST_SKIP() << "node or tests/e2e's npm packages are missing (scripts/setup installs both)";
  }
  std::vector<std::string> words;
  for (size_t i = 0; i < gguf_.tokens.size(); i += 3) {
    std::string w = gguf_.tokens[i];
    if (w.rfind("\xC4\xA0", 0) == 0) w = w.substr(2);  // byte-level's space
    words.push_back(w);
  }
  std::vector<std::string> texts = HardTexts(words, 5000);
  // RoBERTa's own specials written out too, <mask> with spaces before it to strip.
  for (size_t i = 3; i < texts.size(); i += 50) texts[i] += "  <mask>. </s><s> <pad>x<unk>";
  const Json inputs = ReferenceInputs(texts);
  Json reference = TokenizersJs(json_, inputs);
  ASSERT_EQ(reference.size(), inputs.size());

  size_t pairs = 0, js_layout = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].contains("pair")) continue;
    ++pairs;
    // tokenizers.js: 0 for "<s> A </s>", 1 for "</s> B </s>".
    const size_t first = tok_->Encode(texts[i])->ids.size();
    const size_t total = reference[i]["ids"].size();
    std::vector<int32_t> js(first, 0);
    js.resize(total, 1);
    if (reference[i]["type_ids"] == Json(js)) ++js_layout;
    reference[i]["type_ids"] = std::vector<int32_t>(total, 0);
  }
  EXPECT_EQ(js_layout, pairs);
  EXPECT_GE(pairs, 1000u);
  EXPECT_EQ(ExpectSameAsReference(*tok_, texts, inputs, reference), inputs.size());
}

}  // namespace
}  // namespace modelrt::tokenizer
