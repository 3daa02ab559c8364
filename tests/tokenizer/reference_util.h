// Shared by the tokenizer tests: real vocabularies read from llama.cpp's GGUF files, the 5,000
// hard texts, and the reference ids of Hugging Face's tokenizers.js run in Node on the same
// tokenizer.json (tests/e2e/tokenizer_reference.mjs, the package pinned in tests/e2e).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "gguf.h"
#include "support/llama_test_models.h"
#include "support/run_command.h"
#include "tokenizer/tokenizer.h"

namespace modelrt::tokenizer {

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct GgufVocab {
  std::vector<std::string> tokens;
  std::vector<float> scores;           // empty when the file has none
  std::vector<std::string> merges;     // BPE's, "a b"
  std::map<std::string, int64_t> ids;  // tokenizer.ggml.*_token_id
  std::string precompiled_charsmap;    // SentencePiece's, as bytes; empty when the file has none
};

inline GgufVocab ReadGgufVocab(const std::string& path) {
  GgufVocab vocab;
  gguf_init_params params{.no_alloc = true, .ctx = nullptr};
  gguf_context* ctx = gguf_init_from_file(path.c_str(), params);
  if (ctx == nullptr) return vocab;
  if (const int64_t key = gguf_find_key(ctx, "tokenizer.ggml.tokens"); key >= 0) {
    for (size_t i = 0; i < gguf_get_arr_n(ctx, key); ++i) {
      vocab.tokens.emplace_back(gguf_get_arr_str(ctx, key, i));
    }
  }
  if (const int64_t key = gguf_find_key(ctx, "tokenizer.ggml.merges"); key >= 0) {
    for (size_t i = 0; i < gguf_get_arr_n(ctx, key); ++i) {
      vocab.merges.emplace_back(gguf_get_arr_str(ctx, key, i));
    }
  }
  if (const int64_t key = gguf_find_key(ctx, "tokenizer.ggml.scores"); key >= 0) {
    const auto* data = static_cast<const float*>(gguf_get_arr_data(ctx, key));
    vocab.scores.assign(data, data + gguf_get_arr_n(ctx, key));
  }
  if (const int64_t key = gguf_find_key(ctx, "tokenizer.ggml.precompiled_charsmap"); key >= 0) {
    const auto* data = static_cast<const char*>(gguf_get_arr_data(ctx, key));
    vocab.precompiled_charsmap.assign(data, gguf_get_arr_n(ctx, key));
  }
  for (const char* name : {"unknown", "bos", "eos", "padding", "seperator", "cls", "mask"}) {
    const std::string key_name = std::string("tokenizer.ggml.") + name + "_token_id";
    if (const int64_t key = gguf_find_key(ctx, key_name.c_str()); key >= 0) {
      vocab.ids[name] = gguf_get_val_u32(ctx, key);
    }
  }
  gguf_free(ctx);
  return vocab;
}

// Standard base64 with padding, as tokenizer.json carries binary blobs.
inline std::string Base64(std::string_view bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t bits = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (i + 1 < bytes.size())
      bits |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    if (i + 2 < bytes.size()) bits |= static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[bits >> 18 & 63];
    out += kAlphabet[bits >> 12 & 63];
    out += i + 1 < bytes.size() ? kAlphabet[bits >> 6 & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[bits & 63] : '=';
  }
  return out;
}

// llama.cpp's converter marks WordPiece word starts with U+2581 and drops "##"
// (convert_hf_to_gguf.py, phantom()): undone here to get the model's own vocab.txt back.
// tokenizer.json's "model" for a byte-level BPE (GPT-2 style): no unknown token, no prefixes.
inline Json ByteLevelBpeModel(const Json& vocab, const std::vector<std::string>& merges) {
  return {{"type", "BPE"},
          {"dropout", nullptr},
          {"unk_token", nullptr},
          {"continuing_subword_prefix", ""},
          {"end_of_word_suffix", ""},
          {"fuse_unk", false},
          {"byte_fallback", false},
          {"vocab", vocab},
          {"merges", merges}};
}

inline std::vector<std::string> WordPieceVocab(std::vector<std::string> tokens) {
  for (std::string& token : tokens) {
    const bool special = token.size() > 1 && token.front() == '[' && token.back() == ']';
    if (token.rfind("\xE2\x96\x81", 0) == 0) {
      token = token.substr(3);
    } else if (!special) {
      token = "##" + token;
    }
  }
  return tokens;
}

// Texts that probe each stage: vocabulary words and their pieces, accents and case, scripts
// with and without spaces, CJK, emoji (ZWJ sequences too), every kind of whitespace, controls,
// punctuation and symbols, numbers, over-long words, long texts, and the special tokens
// written out. Deterministic: the same 5,000 every run.
inline std::vector<std::string> HardTexts(const std::vector<std::string>& vocab, size_t count) {
  static const std::vector<std::string> kPieces = {"Café",
                                                   "naïve",
                                                   "ÅNGSTRÖM",
                                                   "Äpfel",
                                                   "São Paulo",
                                                   "Ærøskøbing",
                                                   "İstanbul",
                                                   "straße",
                                                   "Привет, мир",
                                                   "Ελληνικά",
                                                   "مرحبا بالعالم",
                                                   "שלום",
                                                   "नमस्ते",
                                                   "สวัสดีครับ",
                                                   "こんにちは世界",
                                                   "中文分词测试",
                                                   "한국어 텍스트",
                                                   "👩‍💻",
                                                   "🦙.cpp",
                                                   "🇫🇷",
                                                   "❤️",
                                                   "e\xCC\x81",
                                                   "\t",
                                                   "\n",
                                                   "\r\n",
                                                   "\xC2\xA0",
                                                   "\xE3\x80\x80",
                                                   "\xE2\x80\x8B",
                                                   "\x01",
                                                   "\x7F",
                                                   "(a+b)*c",
                                                   "don't",
                                                   "U.S.A.",
                                                   "--",
                                                   "...",
                                                   "$1,234.56",
                                                   "50%",
                                                   "3.14159",
                                                   "2026-12-02",
                                                   "#hashtag",
                                                   "@user",
                                                   "x^2",
                                                   "[CLS]",
                                                   "[SEP]",
                                                   "[MASK]",
                                                   "[UNK]",
                                                   "<s>",
                                                   "C++",
                                                   "http://example.com/a?b=c",
                                                   "½",
                                                   "™",
                                                   "ﬁ",
                                                   "①",
                                                   "Ⅻ",
                                                   "ｆｕｌｌｗｉｄｔｈ"};
  std::mt19937 rng(20261202);
  std::vector<std::string> texts;
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  auto word = [&] {
    std::string w = vocab[pick(vocab.size())];
    if (w.rfind("##", 0) == 0) w = w.substr(2);
    if (w.rfind("\xE2\x96\x81", 0) == 0) w = w.substr(3);  // SentencePiece's word start
    if (pick(4) == 0 && !w.empty())
      w[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(w[0])));
    return w;
  };
  static const std::vector<std::string> kGlue = {" ",  " ",  " ",  "",         "  ", "\t",
                                                 "\n", ", ", ". ", "\xC2\xA0", "-",  "/"};
  while (texts.size() < count) {
    std::string text;
    const size_t kind = texts.size() % 10;
    const size_t parts = kind == 9 ? 400 : 1 + pick(12);  // every tenth is long
    for (size_t i = 0; i < parts; ++i) {
      text += pick(3) == 0 ? kPieces[pick(kPieces.size())] : word();
      text += kGlue[pick(kGlue.size())];
    }
    if (kind == 7) text = std::string(120, 'a') + " " + text;  // over max_input_chars_per_word
    if (kind == 8) text = "   " + text + "   ";
    texts.push_back(std::move(text));
  }
  texts.push_back("");
  texts.push_back(" ");
  return texts;
}

// llama.cpp's reference files: texts separated by a marker line, one line of ids per text.
inline std::vector<std::pair<std::string, std::vector<int32_t>>> ReferencePairs(
    const std::string& base) {
  const std::string inp = ReadAll(base + ".inp");
  const std::string out = ReadAll(base + ".out");
  const std::string marker = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  for (size_t at = 0; at < inp.size();) {
    size_t next = inp.find(marker, at);
    if (next == std::string::npos) break;
    texts.push_back(inp.substr(at, next - at));
    at = next + marker.size();
  }
  std::vector<std::vector<int32_t>> ids;
  std::stringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    std::vector<int32_t> one;
    std::stringstream numbers(line);
    for (int32_t id; numbers >> id;) one.push_back(id);
    ids.push_back(std::move(one));
  }
  std::vector<std::pair<std::string, std::vector<int32_t>>> pairs;
  for (size_t i = 0; i < texts.size() && i < ids.size(); ++i) pairs.emplace_back(texts[i], ids[i]);
  return pairs;
}

// Every fifth text is a pair with another text (when `pairs`).
inline Json ReferenceInputs(const std::vector<std::string>& texts, bool pairs = true) {
  Json inputs = Json::array();
  for (size_t i = 0; i < texts.size(); ++i) {
    Json item = {{"text", texts[i]}};
    if (pairs && i % 5 == 4) item["pair"] = texts[(i * 7) % texts.size()];
    inputs.push_back(std::move(item));
  }
  return inputs;
}

inline bool TokenizersJsAvailable() {
  const std::string package = std::string(MODELRT_SOURCE_DIR) +
                              "/tests/e2e/node_modules/@huggingface/tokenizers/package.json";
  return testing::RunCommand("command -v node").exit_code == 0 &&
         static_cast<bool>(std::ifstream(package));
}

// tokenizers.js's [{ids, type_ids}] for `inputs`, with `tokenizer_json` as the tokenizer.
inline Json TokenizersJs(const std::string& tokenizer_json, const Json& inputs) {
  static int call = 0;
  const std::string dir = testing::TestTempDir() + "/tokenizers-js-" + std::to_string(++call);
  testing::RunCommand("mkdir -p '" + dir + "'");
  std::ofstream(dir + "/tokenizer.json") << tokenizer_json;
  std::ofstream(dir + "/inputs.json") << inputs.dump();
  const testing::CommandResult ran = testing::RunCommand(
      "node '" + std::string(MODELRT_SOURCE_DIR) + "/tests/e2e/tokenizer_reference.mjs' '" + dir +
      "/tokenizer.json' '" + dir + "/inputs.json' '" + dir + "/reference.json'");
  EXPECT_EQ(ran.exit_code, 0) << ran.err;
  return Json::parse(ReadAll(dir + "/reference.json"), nullptr, /*allow_exceptions=*/false);
}

// Our ids and type ids against the reference, text by text; the first 20 differences reported.
inline size_t ExpectSameAsReference(const Tokenizer& tok, const std::vector<std::string>& texts,
                                    const Json& inputs, const Json& reference) {
  size_t same = 0, reported = 0;
  for (size_t i = 0; i < inputs.size() && i < reference.size(); ++i) {
    const bool pair = inputs[i].contains("pair");
    auto e = pair ? tok.EncodePair(texts[i], inputs[i]["pair"].get<std::string>())
                  : tok.Encode(texts[i]);
    EXPECT_TRUE(e.ok()) << e.error().ToString();
    if (!e.ok()) continue;
    const auto ids = reference[i]["ids"].get<std::vector<int32_t>>();
    // tokenizers.js leaves type ids out when the post-processor has none (ByteLevel).
    const auto types = reference[i]["type_ids"].is_array()
                           ? reference[i]["type_ids"].get<std::vector<int32_t>>()
                           : e->type_ids;
    if (e->ids == ids && e->type_ids == types) {
      ++same;
    } else if (++reported <= 20) {
      ADD_FAILURE() << "text " << i << ": '" << texts[i] << "'"
                    << (pair ? " + '" + inputs[i]["pair"].get<std::string>() + "'" : "")
                    << "\n ours:   " << Json(e->ids).dump() << " " << Json(e->type_ids).dump()
                    << "\n theirs: " << Json(ids).dump() << " " << Json(types).dump();
    }
  }
  return same;
}

}  // namespace modelrt::tokenizer
