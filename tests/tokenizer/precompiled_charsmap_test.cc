// The Precompiled normalizer on charsmaps built here, rule by rule (a small darts-clone double
// array written from the format's description, not by the code under test): `tokenizers`'
// grapheme rule against SentencePiece's longest match, and every malformed blob (bad base64,
// truncated trie, bad offsets, random corruption of the real XLM-R charsmap) an InvalidArgument,
// never a crash. The real charsmap against llama.cpp is in precompiled_llama_test.cc.
#include "tokenizer/precompiled_charsmap.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "tokenizer/base64.h"
#include "tokenizer/reference_util.h"
#include "tokenizer/unicode.h"

namespace modelrt::tokenizer {
namespace {

// A charsmap for `rules` (key -> replacement). Each trie node gets a block of 256 units of its
// own, so a child is at block + byte and a node's value unit at block + 0; the root's unit 0
// points at block 1.
std::string BuildCharsmap(const std::map<std::string, std::string>& rules) {
  std::string strings;
  std::map<std::string, uint32_t> offsets;
  for (const auto& [key, replacement] : rules) {
    offsets[key] = static_cast<uint32_t>(strings.size());
    strings += replacement;
    strings += '\0';
  }
  // The nodes are the distinct prefixes of the keys; node i's block starts at 256 * (i + 1).
  std::map<std::string, uint32_t> state = {{"", 256}};
  for (const auto& [key, unused] : rules) {
    for (size_t n = 1; n <= key.size(); ++n) {
      if (!state.contains(key.substr(0, n))) {
        state[key.substr(0, n)] = static_cast<uint32_t>(256 * (state.size() + 1));
      }
    }
  }
  std::vector<uint32_t> units(256 * (state.size() + 1), 0);
  units[0] = 256u << 10;  // the root's children offset: 0 ^ 256
  for (const auto& [prefix, child] : state) {
    if (prefix.empty()) continue;
    const auto byte = static_cast<unsigned char>(prefix.back());
    const uint32_t edge = state[prefix.substr(0, prefix.size() - 1)] ^ byte;
    const bool leaf = rules.contains(prefix);
    units[edge] = byte | (leaf ? 1u << 8 : 0) | (edge ^ child) << 10;
    if (leaf) units[child] = 1u << 31 | offsets[prefix];
  }
  std::string blob(4, '\0');
  const uint32_t trie_bytes = static_cast<uint32_t>(4 * units.size());
  for (int i = 0; i < 4; ++i) blob[i] = static_cast<char>(trie_bytes >> (8 * i));
  for (uint32_t unit : units) {
    for (int i = 0; i < 4; ++i) blob += static_cast<char>(unit >> (8 * i));
  }
  return blob + strings;
}

const std::map<std::string, std::string> kRules = {
    {"A", "a"},
    {"\xEF\xAC\x81", "fi"},            // U+FB01 ﬁ
    {"e\xCC\x81", "\xC3\xA9"},         // e + U+0301 -> é
    {"x", ""},                         // deleted
    {"\xC2\xAA", "a"},                 // ª (a key that is a proper prefix of the next one)
    {"\xC2\xAA\xCC\x80", "\xC3\xA0"},  // ª + U+0300 -> à
    {"\xE2\x91\xA0", "1"},             // ①
    {"\t", " "},
};

PrecompiledCharsmap Map(const std::map<std::string, std::string>& rules = kRules) {
  auto map = PrecompiledCharsmap::Parse(BuildCharsmap(rules));
  EXPECT_TRUE(map.ok()) << map.error().ToString();
  return std::move(*map);
}

// SentencePiece's walk: the longest rule at each position, else the character unchanged.
std::string LongestMatchNormalize(const PrecompiledCharsmap& map, std::string_view text) {
  std::string out;
  for (size_t at = 0; at < text.size();) {
    if (auto rule = map.LongestMatch(text.substr(at))) {
      out += rule->replacement;
      at += rule->length;
    } else {
      size_t n = 0;
      DecodeAt(text, at, &n);
      out += text.substr(at, n);
      at += n;
    }
  }
  return out;
}

TEST(PrecompiledCharsmapTest, LooksUpTheShortestAndTheLongestRule) {
  const PrecompiledCharsmap map = Map();
  auto first = map.FirstMatch("\xC2\xAA\xCC\x80z");
  auto longest = map.LongestMatch("\xC2\xAA\xCC\x80z");
  ASSERT_TRUE(first && longest);
  EXPECT_EQ(first->length, 2u);
  EXPECT_EQ(first->replacement, "a");
  EXPECT_EQ(longest->length, 4u);
  EXPECT_EQ(longest->replacement, "\xC3\xA0");
  EXPECT_FALSE(map.FirstMatch("bA"));
  EXPECT_FALSE(map.LongestMatch(""));
  EXPECT_EQ(map.FirstMatch("x")->replacement, "");
}

TEST(PrecompiledCharsmapTest, NormalizesAsTokenizersDoes) {
  const PrecompiledCharsmap map = Map();
  EXPECT_EQ(map.Normalize("Aﬁne caf"
                          "e\xCC\x81"
                          "\tbox"),
            "afine caf\xC3\xA9 bo");
  EXPECT_EQ(map.Normalize("plain words"), "plain words");
  EXPECT_EQ(map.Normalize(""), "");
  // A NUL ends SentencePiece's keys but is a character like any other here.
  EXPECT_EQ(map.Normalize(std::string("A\0A", 3)), std::string("a\0a", 3));
  // Bad bytes are U+FFFD, one each.
  EXPECT_EQ(map.Normalize("A\xFF\xC3"), "a\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(PrecompiledCharsmapTest, GraphemeRuleDiffersFromSentencePiecesLongestMatch) {
  const PrecompiledCharsmap map = Map();
  // ª + U+0300 is one 4-byte cluster: `tokenizers` replaces all of it by the shortest rule (ª ->
  // a) and the grave accent is gone; SentencePiece takes the longer rule.
  EXPECT_EQ(map.Normalize("\xC2\xAA\xCC\x80"), "a");
  EXPECT_EQ(LongestMatchNormalize(map, "\xC2\xAA\xCC\x80"), "\xC3\xA0");
  // ① + U+0301 (5 bytes): the accent is dropped the same way, where SentencePiece keeps it.
  EXPECT_EQ(map.Normalize("\xE2\x91\xA0\xCC\x81"), "1");
  EXPECT_EQ(LongestMatchNormalize(map, "\xE2\x91\xA0\xCC\x81"), "1\xCC\x81");
  // e + three acutes is a 7-byte cluster, looked up character by character: no rule for "e"
  // alone, so nothing changes; SentencePiece composes the first pair.
  const std::string e3 = "e\xCC\x81\xCC\x81\xCC\x81";
  EXPECT_EQ(map.Normalize(e3), e3);
  EXPECT_EQ(LongestMatchNormalize(map, e3), "\xC3\xA9\xCC\x81\xCC\x81");
  // Where no key is a proper prefix of a short cluster, the two agree.
  for (const std::string text : {"Aﬁx e\xCC\x81", "\t①", "xxAª"}) {
    EXPECT_EQ(map.Normalize(text), LongestMatchNormalize(map, text)) << text;
  }
}

TEST(PrecompiledCharsmapTest, ReadsThroughTokenizerJson) {
  const Json json = {
      {"normalizer",
       {{"type", "Precompiled"}, {"precompiled_charsmap", Base64(BuildCharsmap(kRules))}}},
      {"pre_tokenizer", {{"type", "WhitespaceSplit"}}},
      {"model", {{"type", "WordPiece"}, {"vocab", {{"[UNK]", 0}, {"afine", 1}, {"1", 2}}}}}};
  auto tok = Tokenizer::FromJson(json.dump(), "t.json");
  ASSERT_TRUE(tok.ok()) << tok.error().ToString();
  auto e = (*tok)->Encode("Aﬁne\t①");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->ids, (std::vector<int32_t>{1, 2}));

  // No charsmap (SentencePiece's "identity" rule): the text is left as it is.
  for (const Json& none : {Json(nullptr), Json("")}) {
    Json copy = json;
    copy["normalizer"]["precompiled_charsmap"] = none;
    auto identity = Tokenizer::FromJson(copy.dump(), "t.json");
    ASSERT_TRUE(identity.ok()) << identity.error().ToString();
    EXPECT_EQ((*identity)->Encode("afine 1")->ids, (std::vector<int32_t>{1, 2}));
    EXPECT_EQ((*identity)->Encode("Aﬁne")->ids, (std::vector<int32_t>{0}));
  }
}

// The message of loading `charsmap` (a base64 string) as tokenizer.json's normalizer.
std::string LoadError(const Json& charsmap) {
  const Json json = {
      {"normalizer",
       {{"type", "Sequence"},
        {"normalizers", {{{"type", "Precompiled"}, {"precompiled_charsmap", charsmap}}}}}},
      {"model", {{"type", "WordPiece"}, {"vocab", {{"[UNK]", 0}}}}}};
  auto tok = Tokenizer::FromJson(json.dump(), "t.json");
  if (tok.ok()) return "loaded";
  EXPECT_EQ(tok.error().code(), StatusCode::kInvalidArgument);
  return tok.error().message();
}

TEST(PrecompiledCharsmapTest, MalformedCharsmapsAreClearErrors) {
  const std::string good = BuildCharsmap(kRules);
  ASSERT_EQ(LoadError(Base64(good)), "loaded");
  const std::string where = "t.json: normalizer.normalizers[0]";
  EXPECT_EQ(LoadError("not base64!"),
            where + ".precompiled_charsmap: not valid base64: length 11 is not a multiple of 4");
  EXPECT_EQ(LoadError("AAA*"), where + ".precompiled_charsmap: not valid base64: '*' at offset 3");
  EXPECT_EQ(LoadError(12), where + ".precompiled_charsmap: must be a string");
  EXPECT_EQ(LoadError(Base64("ab")),
            where + ": precompiled_charsmap: the blob is 2 bytes, too short for the trie's size");
  // Truncated: the trie's size says more than the blob holds.
  const size_t trie_bytes = static_cast<unsigned char>(good[0]) |
                            static_cast<unsigned char>(good[1]) << 8 |
                            static_cast<unsigned char>(good[2]) << 16;
  EXPECT_EQ(LoadError(Base64(good.substr(0, 1000))),
            where + ": precompiled_charsmap: the trie is said to be " + std::to_string(trie_bytes) +
                " bytes but only 996 follow (truncated?)");
  std::string odd = good;
  odd[0] = static_cast<char>(odd[0] | 3);
  EXPECT_NE(LoadError(Base64(odd)).find("is not a positive multiple of 4"), std::string::npos);

  // Rules whose values point past the replacements, at a string with no NUL after it, into the
  // middle of a character; replacements that are not UTF-8; a value unit past the trie.
  const std::string past = good.substr(0, 4 + trie_bytes) + "a";  // replacements cut to a byte
  EXPECT_NE(LoadError(Base64(past)).find("is not a NUL-terminated string inside the 1 bytes"),
            std::string::npos)
      << LoadError(Base64(past));
  std::string no_nul = good;
  no_nul.back() = 'z';
  EXPECT_NE(LoadError(Base64(no_nul)).find("is not a NUL-terminated string"), std::string::npos);
  // {"A": "é"}: the root's block is units 256-511, "A"'s 512-767, its value unit 512.
  const std::string one = BuildCharsmap({{"A", "\xC3\xA9"}});
  std::string mid_char = one;
  mid_char[4 + 4 * 512] = 1;  // the value: offset 1, the second byte of "é"
  EXPECT_NE(LoadError(Base64(mid_char)).find("at offset 1 starts inside a UTF-8 character"),
            std::string::npos)
      << LoadError(Base64(mid_char));
  const std::string not_utf8 = one.substr(0, one.size() - 3) + "\x80\xA9" + std::string(1, '\0');
  EXPECT_NE(LoadError(Base64(not_utf8)).find("not valid UTF-8"), std::string::npos);
  std::string far_value = one;
  far_value[4 + 4 * (256 + 'A') + 3] = 0x7F;  // "A"'s children offset, far past the array
  EXPECT_NE(LoadError(Base64(far_value)).find("past the trie's 768 units"), std::string::npos)
      << LoadError(Base64(far_value));
}

TEST(PrecompiledCharsmapTest, CorruptRealCharsmapsFailCleanlyOrNormalize) {
  const GgufVocab gguf =
      ReadGgufVocab(std::string(LLAMA_VOCAB_DIR) + "/ggml-vocab-nomic-bert-moe.gguf");
  ASSERT_GT(gguf.precompiled_charsmap.size(), 100000u);
  ASSERT_TRUE(PrecompiledCharsmap::Parse(gguf.precompiled_charsmap).ok());
  const std::string text = "Ｆｕｌｌ ﬁne café ① \xF0\x9F\xA6\x99 中文 \xC2\xA0 x\xCC\x81";
  std::mt19937 rng(7);
  size_t failed = 0, parsed = 0;
  for (int round = 0; round < 300; ++round) {
    std::string blob = gguf.precompiled_charsmap;
    if (round % 3 == 0) {
      blob.resize(std::uniform_int_distribution<size_t>(0, blob.size() - 1)(rng));
    } else {
      // A few random bytes of the trie (or its size) overwritten.
      for (int i = 0; i < 1 + round % 7; ++i) {
        const size_t at = std::uniform_int_distribution<size_t>(0, blob.size() - 1)(rng);
        blob[at] = static_cast<char>(rng());
      }
    }
    auto map = PrecompiledCharsmap::Parse(blob);
    if (!map.ok()) {
      ++failed;
      EXPECT_EQ(map.error().code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(map.error().message().rfind("precompiled_charsmap: ", 0), 0u)
          << map.error().message();
      continue;
    }
    ++parsed;
    // Whatever a corrupt but consistent trie says, the result is UTF-8 (the regexes after the
    // normalizer rely on it).
    EXPECT_TRUE(IsValidUtf8(map->Normalize(text)));
  }
  EXPECT_GT(failed, 50u);
  EXPECT_GT(parsed, 0u);
}

TEST(Base64Test, DecodesStandardPaddedBase64) {
  EXPECT_EQ(*DecodeBase64(""), "");
  EXPECT_EQ(*DecodeBase64("TWFu"), "Man");
  EXPECT_EQ(*DecodeBase64("TWE="), "Ma");
  EXPECT_EQ(*DecodeBase64("TQ=="), "M");
  EXPECT_EQ(*DecodeBase64("+/+/"), "\xFB\xFF\xBF");
  const std::string bytes = [] {
    std::string all;
    for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
    return all;
  }();
  for (size_t n = 0; n < bytes.size(); n += 37) {
    EXPECT_EQ(*DecodeBase64(Base64(bytes.substr(0, n))), bytes.substr(0, n));
  }
  EXPECT_FALSE(DecodeBase64("TQ=").ok());
  EXPECT_FALSE(DecodeBase64("T===").ok());
  EXPECT_FALSE(DecodeBase64("TQ==TQ==").ok());
  EXPECT_FALSE(DecodeBase64("TW Fu").ok());
  EXPECT_EQ(DecodeBase64("TW\nu").error().message(), "not valid base64: byte 10 at offset 2");
}

}  // namespace
}  // namespace modelrt::tokenizer
