#include "tokenizer/normalizers.h"

#include <vector>

#include "tokenizer/base64.h"
#include "tokenizer/json_fields.h"
#include "tokenizer/precompiled_charsmap.h"
#include "tokenizer/unicode.h"

namespace modelrt::tokenizer {
namespace {

class BertNormalizer : public Normalizer {
 public:
  BertNormalizer(bool clean_text, bool chinese, bool strip_accents, bool lowercase)
      : clean_text_(clean_text),
        chinese_(chinese),
        strip_accents_(strip_accents),
        lowercase_(lowercase) {}

  std::string Normalize(std::string text) const override {
    std::vector<char32_t> chars = Decode(text);
    std::vector<char32_t> out;
    out.reserve(chars.size());
    for (char32_t c : chars) {
      if (clean_text_) {
        if (c == 0 || c == 0xFFFD || (IsOther(c) && c != '\t' && c != '\n' && c != '\r')) continue;
        if (IsWhitespace(c)) c = ' ';
      }
      if (chinese_ && IsChineseChar(c)) {
        out.push_back(' ');
        out.push_back(c);
        out.push_back(' ');
        continue;
      }
      out.push_back(c);
    }
    std::string result = Encode(out);
    if (strip_accents_) {
      std::vector<char32_t> kept;
      for (char32_t c : Decode(tokenizer::Normalize(result, NormalForm::kNfd))) {
        if (!IsNonspacingMark(c)) kept.push_back(c);
      }
      result = Encode(kept);
    }
    if (lowercase_) result = Lowercase(result);
    return result;
  }

 private:
  const bool clean_text_, chinese_, strip_accents_, lowercase_;
};

class LowercaseNormalizer : public Normalizer {
 public:
  std::string Normalize(std::string text) const override { return Lowercase(text); }
};

class FormNormalizer : public Normalizer {
 public:
  explicit FormNormalizer(NormalForm form) : form_(form) {}
  std::string Normalize(std::string text) const override {
    return tokenizer::Normalize(text, form_);
  }

 private:
  const NormalForm form_;
};

class StripNormalizer : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  std::string Normalize(std::string text) const override {
    std::vector<char32_t> chars = Decode(text);
    size_t begin = 0, end = chars.size();
    if (left_)
      while (begin < end && IsWhitespace(chars[begin])) ++begin;
    if (right_)
      while (end > begin && IsWhitespace(chars[end - 1])) --end;
    return Encode(std::vector<char32_t>(chars.begin() + static_cast<ptrdiff_t>(begin),
                                        chars.begin() + static_cast<ptrdiff_t>(end)));
  }

 private:
  const bool left_, right_;
};

class StripAccentsNormalizer : public Normalizer {
 public:
  std::string Normalize(std::string text) const override {
    std::vector<char32_t> kept;
    for (char32_t c : Decode(text)) {
      if (!IsNonspacingMark(c)) kept.push_back(c);
    }
    return Encode(kept);
  }
};

// Every match of the pattern (a literal or a regex), left to right, replaced by `content`.
class ReplaceNormalizer : public Normalizer {
 public:
  ReplaceNormalizer(Regex pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  std::string Normalize(std::string text) const override {
    std::string out;
    size_t at = 0;
    for (auto [begin, end] : pattern_.FindAll(text)) {
      out.append(text, at, begin - at);
      out += content_;
      at = end;
    }
    out.append(text, at, std::string::npos);
    return out;
  }

 private:
  const Regex pattern_;
  const std::string content_;
};

class PrependNormalizer : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prepend) : prepend_(std::move(prepend)) {}
  std::string Normalize(std::string text) const override {
    return text.empty() ? text : prepend_ + text;
  }

 private:
  const std::string prepend_;
};

// SentencePiece's compiled rules, applied as `tokenizers` applies them (precompiled_charsmap.h).
class PrecompiledNormalizer : public Normalizer {
 public:
  explicit PrecompiledNormalizer(PrecompiledCharsmap map) : map_(std::move(map)) {}
  std::string Normalize(std::string text) const override { return map_.Normalize(text); }

 private:
  const PrecompiledCharsmap map_;
};

class IdentityNormalizer : public Normalizer {
 public:
  std::string Normalize(std::string text) const override { return text; }
};

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> parts)
      : parts_(std::move(parts)) {}
  std::string Normalize(std::string text) const override {
    for (const auto& part : parts_) text = part->Normalize(std::move(text));
    return text;
  }

 private:
  const std::vector<std::unique_ptr<Normalizer>> parts_;
};

}  // namespace

Result<std::unique_ptr<Normalizer>> MakeNormalizer(const Json& json, const std::string& path) {
  if (json.is_null()) return std::unique_ptr<Normalizer>();
  MODELRT_ASSIGN_OR_RETURN(std::string type, TypeOf(json, path));
  if (type == "BertNormalizer") {
    MODELRT_ASSIGN_OR_RETURN(bool clean, BoolOr(json, "clean_text", true, path));
    MODELRT_ASSIGN_OR_RETURN(bool chinese, BoolOr(json, "handle_chinese_chars", true, path));
    MODELRT_ASSIGN_OR_RETURN(bool lowercase, BoolOr(json, "lowercase", true, path));
    // null: strip accents when lowercasing, as BERT's uncased models do.
    MODELRT_ASSIGN_OR_RETURN(bool strip, BoolOr(json, "strip_accents", lowercase, path));
    return std::unique_ptr<Normalizer>(
        std::make_unique<BertNormalizer>(clean, chinese, strip, lowercase));
  }
  if (type == "Lowercase")
    return std::unique_ptr<Normalizer>(std::make_unique<LowercaseNormalizer>());
  if (type == "NFC")
    return std::unique_ptr<Normalizer>(std::make_unique<FormNormalizer>(NormalForm::kNfc));
  if (type == "NFD")
    return std::unique_ptr<Normalizer>(std::make_unique<FormNormalizer>(NormalForm::kNfd));
  if (type == "NFKC")
    return std::unique_ptr<Normalizer>(std::make_unique<FormNormalizer>(NormalForm::kNfkc));
  if (type == "NFKD")
    return std::unique_ptr<Normalizer>(std::make_unique<FormNormalizer>(NormalForm::kNfkd));
  if (type == "StripAccents") {
    return std::unique_ptr<Normalizer>(std::make_unique<StripAccentsNormalizer>());
  }
  if (type == "Strip") {
    MODELRT_ASSIGN_OR_RETURN(bool left, BoolOr(json, "strip_left", true, path));
    MODELRT_ASSIGN_OR_RETURN(bool right, BoolOr(json, "strip_right", true, path));
    return std::unique_ptr<Normalizer>(std::make_unique<StripNormalizer>(left, right));
  }
  if (type == "Replace") {
    MODELRT_ASSIGN_OR_RETURN(Regex pattern, ReadPattern(json, path));
    MODELRT_ASSIGN_OR_RETURN(std::string content, StringOr(json, "content", "", path));
    return std::unique_ptr<Normalizer>(
        std::make_unique<ReplaceNormalizer>(std::move(pattern), std::move(content)));
  }
  if (type == "Prepend") {
    MODELRT_ASSIGN_OR_RETURN(std::string prepend, StringOr(json, "prepend", "", path));
    return std::unique_ptr<Normalizer>(std::make_unique<PrependNormalizer>(std::move(prepend)));
  }
  if (type == "Precompiled") {
    MODELRT_ASSIGN_OR_RETURN(std::string encoded, StringOr(json, "precompiled_charsmap", "", path));
    // None, as a SentencePiece model trained with the "identity" rule has (Opus-MT's files say
    // null): nothing to map, as SentencePiece reads it. `tokenizers` refuses these files.
    if (encoded.empty()) return std::unique_ptr<Normalizer>(std::make_unique<IdentityNormalizer>());
    auto blob = DecodeBase64(encoded);
    if (!blob) return blob.error().WithPrefix(path + ".precompiled_charsmap");
    auto map = PrecompiledCharsmap::Parse(std::move(*blob));
    if (!map) return map.error().WithPrefix(path);
    return std::unique_ptr<Normalizer>(std::make_unique<PrecompiledNormalizer>(std::move(*map)));
  }
  if (type == "Sequence") {
    MODELRT_ASSIGN_OR_RETURN(const Json* list, ListOf(json, "normalizers", path));
    std::vector<std::unique_ptr<Normalizer>> parts;
    for (size_t i = 0; i < list->size(); ++i) {
      MODELRT_ASSIGN_OR_RETURN(
          auto part, MakeNormalizer((*list)[i], path + ".normalizers[" + std::to_string(i) + "]"));
      if (part) parts.push_back(std::move(part));
    }
    return std::unique_ptr<Normalizer>(std::make_unique<SequenceNormalizer>(std::move(parts)));
  }
  return Unsupported(path, type);
}

}  // namespace modelrt::tokenizer
