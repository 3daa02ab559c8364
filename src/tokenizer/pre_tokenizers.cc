#include "tokenizer/pre_tokenizers.h"

#include <functional>
#include <optional>

#include "tokenizer/json_fields.h"
#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"

namespace modelrt::tokenizer {
namespace {

// What happens to the characters a split is made on (tokenizers' SplitDelimiterBehavior).
enum class Delimiter { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

Result<Delimiter> ReadDelimiter(const Json& json, Delimiter fallback, const std::string& path) {
  MODELRT_ASSIGN_OR_RETURN(std::string name, StringOr(json, "behavior", "", path));
  if (name.empty()) return fallback;
  if (name == "Removed") return Delimiter::kRemoved;
  if (name == "Isolated") return Delimiter::kIsolated;
  if (name == "MergedWithPrevious") return Delimiter::kMergedWithPrevious;
  if (name == "MergedWithNext") return Delimiter::kMergedWithNext;
  if (name == "Contiguous") return Delimiter::kContiguous;
  return FieldError(path + ".behavior", "unknown behavior '" + name + "'");
}

// Cuts `piece` at every character `is_delimiter` accepts.
void SplitOn(const std::string& piece, const std::function<bool(char32_t)>& is_delimiter,
             Delimiter behavior, std::vector<std::string>* out) {
  std::string current;
  bool last_was_delimiter = false;  // out->back() is a run of delimiters (kContiguous)
  auto flush = [&] {
    if (!current.empty()) out->push_back(std::move(current));
    current.clear();
  };
  for (char32_t c : Decode(piece)) {
    if (!is_delimiter(c)) {
      AppendUtf8(current, c);
      last_was_delimiter = false;
      continue;
    }
    switch (behavior) {
      case Delimiter::kRemoved:
        flush();
        break;
      case Delimiter::kIsolated:
        flush();
        AppendUtf8(current, c);
        flush();
        break;
      case Delimiter::kMergedWithPrevious:
        AppendUtf8(current, c);
        flush();
        break;
      case Delimiter::kMergedWithNext:
        flush();
        AppendUtf8(current, c);
        break;
      case Delimiter::kContiguous:
        if (last_was_delimiter && current.empty()) {
          AppendUtf8(out->back(), c);
        } else {
          flush();
          AppendUtf8(current, c);
          flush();
        }
        break;
    }
    last_was_delimiter = true;
  }
  flush();
}

class CharSplit : public PreTokenizer {
 public:
  CharSplit(std::function<bool(char32_t)> is_delimiter, Delimiter behavior)
      : is_delimiter_(std::move(is_delimiter)), behavior_(behavior) {}
  std::vector<std::string> Split(std::vector<std::string> pieces) const override {
    std::vector<std::string> out;
    for (const std::string& piece : pieces) SplitOn(piece, is_delimiter_, behavior_, &out);
    return out;
  }

 private:
  const std::function<bool(char32_t)> is_delimiter_;
  const Delimiter behavior_;
};

bool IsBertPunctuation(char32_t c) { return IsAsciiPunctuation(c) || IsPunctuation(c); }

// BERT's: whitespace removed, then each punctuation character on its own.
class BertPreTokenizer : public PreTokenizer {
 public:
  std::vector<std::string> Split(std::vector<std::string> pieces) const override {
    std::vector<std::string> words, out;
    for (const std::string& piece : pieces)
      SplitOn(piece, IsWhitespace, Delimiter::kRemoved, &words);
    for (const std::string& word : words) {
      SplitOn(word, IsBertPunctuation, Delimiter::kIsolated, &out);
    }
    return out;
  }
};

// The regex \w+|[^\w\s]+: runs of word characters, runs of other non-space characters.
class WhitespacePreTokenizer : public PreTokenizer {
 public:
  std::vector<std::string> Split(std::vector<std::string> pieces) const override {
    std::vector<std::string> out;
    for (const std::string& piece : pieces) {
      std::string current;
      int kind = 0;  // 0: none, 1: word run, 2: other run
      for (char32_t c : Decode(piece)) {
        const int k = IsWhitespace(c) ? 0 : IsWordChar(c) ? 1 : 2;
        if (k != kind && !current.empty()) {
          out.push_back(std::move(current));
          current.clear();
        }
        kind = k;
        if (k != 0) AppendUtf8(current, c);
      }
      if (!current.empty()) out.push_back(std::move(current));
    }
    return out;
  }
};

// SentencePiece's spaces: each ' ' becomes the replacement (U+2581), one is put in front (always,
// or only before the text's first piece), and the text is cut before each replacement.
class MetaspacePreTokenizer : public PreTokenizer {
 public:
  enum class Prepend { kAlways, kFirst, kNever };
  MetaspacePreTokenizer(char32_t replacement, Prepend prepend, bool split)
      : prepend_(prepend), split_(split), replacement_char_(replacement) {
    AppendUtf8(replacement_, replacement);
  }
  std::vector<std::string> Split(std::vector<std::string> pieces) const override {
    std::vector<std::string> out;
    for (size_t i = 0; i < pieces.size(); ++i) {
      std::string text;
      for (char c : pieces[i]) {
        if (c == ' ') {
          text += replacement_;
        } else {
          text += c;
        }
      }
      const bool prepend = prepend_ == Prepend::kAlways || (prepend_ == Prepend::kFirst && i == 0);
      if (prepend && text.rfind(replacement_, 0) != 0) text = replacement_ + text;
      if (!split_) {
        if (!text.empty()) out.push_back(std::move(text));
        continue;
      }
      const char32_t r = replacement_char_;
      SplitOn(
          text, [r](char32_t c) { return c == r; }, Delimiter::kMergedWithNext, &out);
    }
    return out;
  }

 private:
  const Prepend prepend_;
  const bool split_;
  const char32_t replacement_char_;
  std::string replacement_;
};

// Cuts at a regex's matches (`invert`: at what lies between them), the matches treated as
// `behavior` says.
class RegexSplit : public PreTokenizer {
 public:
  RegexSplit(Regex regex, Delimiter behavior, bool invert)
      : regex_(std::move(regex)), behavior_(behavior), invert_(invert) {}

  std::vector<std::string> Split(std::vector<std::string> pieces) const override {
    std::vector<std::string> out;
    for (const std::string& piece : pieces) SplitOne(piece, &out);
    return out;
  }

 private:
  void SplitOne(const std::string& piece, std::vector<std::string>* out) const {
    // The piece as alternating segments: [begin, end, is_delimiter].
    struct Segment {
      size_t begin, end;
      bool delimiter;
    };
    std::vector<Segment> segments;
    size_t at = 0;
    for (auto [begin, end] : regex_.FindAll(piece)) {
      if (begin > at) segments.push_back({at, begin, invert_});
      segments.push_back({begin, end, !invert_});
      at = end;
    }
    if (at < piece.size()) segments.push_back({at, piece.size(), invert_});
    std::string pending;  // kMergedWithNext: delimiters waiting for what follows
    bool last_delimiter = false;
    for (const Segment& s : segments) {
      std::string text = piece.substr(s.begin, s.end - s.begin);
      if (!s.delimiter) {
        out->push_back(pending + text);
        pending.clear();
        last_delimiter = false;
        continue;
      }
      switch (behavior_) {
        case Delimiter::kRemoved:
          break;
        case Delimiter::kIsolated:
          out->push_back(std::move(text));
          break;
        case Delimiter::kMergedWithPrevious:
          if (!out->empty() && !last_delimiter) {
            out->back() += text;
          } else {
            out->push_back(std::move(text));
          }
          break;
        case Delimiter::kMergedWithNext:
          pending += text;
          break;
        case Delimiter::kContiguous:
          if (last_delimiter) {
            out->back() += text;
          } else {
            out->push_back(std::move(text));
          }
          break;
      }
      last_delimiter = true;
    }
    if (!pending.empty()) out->push_back(std::move(pending));
    std::erase_if(*out, [](const std::string& s) { return s.empty(); });
  }

  const Regex regex_;
  const Delimiter behavior_;
  const bool invert_;
};

// GPT-2's byte-level split: an optional leading space, the GPT-2 pattern, then every byte
// written as the printable character GPT-2's bytes_to_unicode gives it.
class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, std::optional<Regex> regex)
      : add_prefix_space_(add_prefix_space), regex_(std::move(regex)) {
    std::vector<int> printable;
    for (int b = '!'; b <= '~'; ++b) printable.push_back(b);
    for (int b = 0xA1; b <= 0xAC; ++b) printable.push_back(b);
    for (int b = 0xAE; b <= 0xFF; ++b) printable.push_back(b);
    std::vector<bool> is_printable(256, false);
    for (int b : printable) is_printable[static_cast<size_t>(b)] = true;
    int next = 0;
    for (int b = 0; b < 256; ++b) {
      const char32_t c = is_printable[static_cast<size_t>(b)] ? static_cast<char32_t>(b)
                                                              : static_cast<char32_t>(256 + next++);
      AppendUtf8(byte_chars_[static_cast<size_t>(b)], c);
    }
  }

  std::vector<std::string> Split(std::vector<std::string> pieces) const override {
    std::vector<std::string> split;
    for (std::string& piece : pieces) {
      if (add_prefix_space_ && piece.rfind(' ', 0) != 0) piece.insert(0, " ");
      if (!regex_) {
        split.push_back(std::move(piece));
        continue;
      }
      for (auto [begin, end] : regex_->FindAll(piece))
        split.push_back(piece.substr(begin, end - begin));
    }
    std::vector<std::string> out;
    out.reserve(split.size());
    for (const std::string& piece : split) {
      std::string mapped;
      for (unsigned char byte : piece) mapped += byte_chars_[byte];
      if (!mapped.empty()) out.push_back(std::move(mapped));
    }
    return out;
  }

 private:
  const bool add_prefix_space_;
  const std::optional<Regex> regex_;
  std::string byte_chars_[256];
};

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> parts)
      : parts_(std::move(parts)) {}
  std::vector<std::string> Split(std::vector<std::string> pieces) const override {
    for (const auto& part : parts_) pieces = part->Split(std::move(pieces));
    return pieces;
  }

 private:
  const std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

}  // namespace

Result<std::unique_ptr<PreTokenizer>> MakePreTokenizer(const Json& json, const std::string& path) {
  if (json.is_null()) return std::unique_ptr<PreTokenizer>();
  MODELRT_ASSIGN_OR_RETURN(std::string type, TypeOf(json, path));
  if (type == "BertPreTokenizer") {
    return std::unique_ptr<PreTokenizer>(std::make_unique<BertPreTokenizer>());
  }
  if (type == "Whitespace") {
    return std::unique_ptr<PreTokenizer>(std::make_unique<WhitespacePreTokenizer>());
  }
  if (type == "WhitespaceSplit") {
    return std::unique_ptr<PreTokenizer>(
        std::make_unique<CharSplit>(IsWhitespace, Delimiter::kRemoved));
  }
  if (type == "Punctuation") {
    MODELRT_ASSIGN_OR_RETURN(Delimiter behavior, ReadDelimiter(json, Delimiter::kIsolated, path));
    return std::unique_ptr<PreTokenizer>(std::make_unique<CharSplit>(IsBertPunctuation, behavior));
  }
  if (type == "Digits") {
    MODELRT_ASSIGN_OR_RETURN(bool individual, BoolOr(json, "individual_digits", false, path));
    return std::unique_ptr<PreTokenizer>(std::make_unique<CharSplit>(
        IsNumeric, individual ? Delimiter::kIsolated : Delimiter::kContiguous));
  }
  if (type == "Metaspace") {
    MODELRT_ASSIGN_OR_RETURN(std::string replacement,
                             StringOr(json, "replacement", "\u2581", path));
    const std::vector<char32_t> chars = Decode(replacement);
    if (chars.size() != 1) return FieldError(path + ".replacement", "must be one character");
    // Older files say add_prefix_space instead of prepend_scheme.
    MODELRT_ASSIGN_OR_RETURN(bool add_prefix, BoolOr(json, "add_prefix_space", true, path));
    MODELRT_ASSIGN_OR_RETURN(std::string scheme, StringOr(json, "prepend_scheme",
                                                          add_prefix ? "always" : "never", path));
    MetaspacePreTokenizer::Prepend prepend;
    if (scheme == "always") {
      prepend = MetaspacePreTokenizer::Prepend::kAlways;
    } else if (scheme == "first") {
      prepend = MetaspacePreTokenizer::Prepend::kFirst;
    } else if (scheme == "never") {
      prepend = MetaspacePreTokenizer::Prepend::kNever;
    } else {
      return FieldError(path + ".prepend_scheme", "must be always, first or never");
    }
    MODELRT_ASSIGN_OR_RETURN(bool split, BoolOr(json, "split", true, path));
    return std::unique_ptr<PreTokenizer>(
        std::make_unique<MetaspacePreTokenizer>(chars[0], prepend, split));
  }
  if (type == "ByteLevel") {
    MODELRT_ASSIGN_OR_RETURN(bool add_prefix_space, BoolOr(json, "add_prefix_space", true, path));
    MODELRT_ASSIGN_OR_RETURN(bool use_regex, BoolOr(json, "use_regex", true, path));
    std::optional<Regex> regex;
    if (use_regex) {
      MODELRT_ASSIGN_OR_RETURN(
          Regex gpt2,
          Regex::Compile(
              R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)"));
      regex = std::move(gpt2);
    }
    return std::unique_ptr<PreTokenizer>(
        std::make_unique<ByteLevelPreTokenizer>(add_prefix_space, std::move(regex)));
  }
  if (type == "Split") {
    MODELRT_ASSIGN_OR_RETURN(Regex regex, ReadPattern(json, path));
    MODELRT_ASSIGN_OR_RETURN(Delimiter behavior, ReadDelimiter(json, Delimiter::kIsolated, path));
    MODELRT_ASSIGN_OR_RETURN(bool invert, BoolOr(json, "invert", false, path));
    return std::unique_ptr<PreTokenizer>(
        std::make_unique<RegexSplit>(std::move(regex), behavior, invert));
  }
  if (type == "Sequence") {
    MODELRT_ASSIGN_OR_RETURN(const Json* list, ListOf(json, "pretokenizers", path));
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    for (size_t i = 0; i < list->size(); ++i) {
      MODELRT_ASSIGN_OR_RETURN(
          auto part,
          MakePreTokenizer((*list)[i], path + ".pretokenizers[" + std::to_string(i) + "]"));
      if (part) parts.push_back(std::move(part));
    }
    return std::unique_ptr<PreTokenizer>(std::make_unique<SequencePreTokenizer>(std::move(parts)));
  }
  return Unsupported(path, type);
}

}  // namespace modelrt::tokenizer
