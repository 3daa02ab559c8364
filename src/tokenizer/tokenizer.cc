#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/json.h"
#include "core/json_depth.h"
#include "tokenizer/json_fields.h"
#include "tokenizer/models.h"
#include "tokenizer/normalizers.h"
#include "tokenizer/pre_tokenizers.h"
#include "tokenizer/unicode.h"

namespace modelrt::tokenizer {
namespace {

// Far deeper than any tokenizer.json (a Sequence of Sequences is a few levels).
constexpr int kMaxDepth = 128;

// The start of the character that ends at byte `i` (exclusive).
size_t PreviousCharStart(std::string_view text, size_t i) {
  size_t j = i - 1;
  while (j > 0 && (static_cast<unsigned char>(text[j]) & 0xC0) == 0x80 && i - j < 4) --j;
  return j;
}

bool WordCharBefore(std::string_view text, size_t i) {
  if (i == 0) return false;
  size_t n;
  return IsWordChar(DecodeAt(text, PreviousCharStart(text, i), &n));
}

bool WordCharAt(std::string_view text, size_t i) {
  if (i >= text.size()) return false;
  size_t n;
  return IsWordChar(DecodeAt(text, i, &n));
}

}  // namespace

Tokenizer::~Tokenizer() = default;

Result<std::shared_ptr<const Tokenizer>> Tokenizer::FromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError(path + ": cannot read the tokenizer file");
  std::stringstream text;
  text << in.rdbuf();
  return FromJson(text.str(), path);
}

Result<std::shared_ptr<const Tokenizer>> Tokenizer::FromJson(std::string_view text,
                                                             const std::string& origin) {
  auto tok = std::shared_ptr<Tokenizer>(new Tokenizer());
  tok->origin_ = origin;
  // A malformed file must be an error, never an exception out of the JSON library.
  if (JsonNestsDeeperThan(text, kMaxDepth)) {
    return InvalidArgumentError(origin + ": nests deeper than " + std::to_string(kMaxDepth) +
                                " levels");
  }
  try {
    Json json = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) return InvalidArgumentError(origin + ": not valid JSON");
    if (!json.is_object()) return InvalidArgumentError(origin + ": must be a JSON object");
    auto part = [&json](const char* key) { return json.contains(key) ? json[key] : Json(); };
    auto named = [&origin](Status s) { return s.WithPrefix(origin); };
    auto normalizer = MakeNormalizer(part("normalizer"), "normalizer");
    if (!normalizer) return named(normalizer.error());
    tok->normalizer_ = std::move(*normalizer);
    auto pre = MakePreTokenizer(part("pre_tokenizer"), "pre_tokenizer");
    if (!pre) return named(pre.error());
    tok->pre_tokenizer_ = std::move(*pre);
    if (!json.contains("model")) return InvalidArgumentError(origin + ": model: is required");
    auto model = MakeModel(json["model"], "model");
    if (!model) return named(model.error());
    tok->model_ = std::move(*model);
    auto post = MakePostProcessor(part("post_processor"), "post_processor");
    if (!post) return named(post.error());
    tok->post_processor_ = std::move(*post);
    if (const Json added = part("added_tokens"); added.is_array()) {
      for (size_t i = 0; i < added.size(); ++i) {
        const Json& a = added[i];
        const std::string where = "added_tokens[" + std::to_string(i) + "]";
        if (!a.is_object() || !a.contains("content") || !a["content"].is_string() ||
            !a.contains("id") || !a["id"].is_number_integer()) {
          return InvalidArgumentError(origin + ": " + where + ": needs a content and an id");
        }
        AddedToken t;
        t.content = a["content"].get<std::string>();
        t.id = a["id"].get<int32_t>();
        t.single_word = a.value("single_word", false);
        t.lstrip = a.value("lstrip", false);
        t.rstrip = a.value("rstrip", false);
        t.normalized = a.value("normalized", !a.value("special", false));
        // A normalized token is looked for in normalized text, so it is normalized too.
        if (t.normalized && tok->normalizer_) t.content = tok->normalizer_->Normalize(t.content);
        if (!t.content.empty()) tok->added_.push_back(std::move(t));
      }
    }
    if (const Json trunc = part("truncation"); trunc.is_object()) {
      // IntOr, not Json::value: converting 1e300 to a size_t is undefined.
      auto max_length = IntOr(trunc, "max_length", 0, "truncation");
      if (!max_length) return named(max_length.error());
      if (*max_length < 0) return named(FieldError("truncation.max_length", "must not be negative"));
      tok->file_max_length_ = static_cast<size_t>(*max_length);
    }
  } catch (const Json::exception& e) {
    return InvalidArgumentError(origin + ": " + e.what());
  }
  return std::shared_ptr<const Tokenizer>(std::move(tok));
}

void Tokenizer::ModelIds(const std::string& normalized, std::vector<int32_t>* ids) const {
  if (normalized.empty()) return;
  std::vector<std::string> words =
      pre_tokenizer_ ? pre_tokenizer_->Split({normalized}) : std::vector<std::string>{normalized};
  for (const std::string& word : words) model_->Tokenize(word, ids);
}

// Cuts `text` at the added tokens of this pass (raw text: those not normalized; normalized
// text: the others), leftmost first and the longest of those starting there; what lies between
// goes on to normalization (raw pass) or to the model (normalized pass).
void Tokenizer::SplitAdded(std::string_view text, bool normalized_pass,
                           std::vector<int32_t>* ids) const {
  auto rest = [&](std::string_view segment) {
    if (normalized_pass) return ModelIds(std::string(segment), ids);
    std::string normalized =
        normalizer_ ? normalizer_->Normalize(std::string(segment)) : std::string(segment);
    SplitAdded(normalized, true, ids);
  };
  size_t pos = 0;
  while (pos < text.size()) {
    const AddedToken* best = nullptr;
    size_t best_at = std::string_view::npos;
    for (const AddedToken& t : added_) {
      if (t.normalized != normalized_pass) continue;
      for (size_t at = text.find(t.content, pos); at != std::string_view::npos;
           at = text.find(t.content, at + 1)) {
        if (t.single_word &&
            (WordCharBefore(text, at) || WordCharAt(text, at + t.content.size()))) {
          continue;
        }
        if (at < best_at || (at == best_at && t.content.size() > best->content.size())) {
          best = &t;
          best_at = at;
        }
        break;
      }
    }
    if (best == nullptr) break;
    size_t segment_end = best_at, match_end = best_at + best->content.size();
    if (best->lstrip) {
      while (segment_end > pos) {
        const size_t start = PreviousCharStart(text, segment_end);
        size_t n;
        if (!IsWhitespace(DecodeAt(text, start, &n))) break;
        segment_end = start;
      }
    }
    if (best->rstrip) {
      size_t n;
      while (match_end < text.size() && IsWhitespace(DecodeAt(text, match_end, &n))) match_end += n;
    }
    rest(text.substr(pos, segment_end - pos));
    ids->push_back(best->id);
    pos = match_end;
  }
  if (pos < text.size()) rest(text.substr(pos));
}

std::vector<int32_t> Tokenizer::Ids(std::string_view text) const {
  std::vector<int32_t> ids;
  // Every stage (and PCRE2, which is told not to check) reads valid UTF-8: bad bytes become
  // U+FFFD here, once, as a Rust &str would have them.
  if (!IsValidUtf8(text)) {
    const std::string valid = tokenizer::Encode(Decode(text));
    SplitAdded(valid, /*normalized_pass=*/false, &ids);
    return ids;
  }
  SplitAdded(text, /*normalized_pass=*/false, &ids);
  return ids;
}

Result<Encoding> Tokenizer::Finish(std::vector<int32_t> first,
                                   std::optional<std::vector<int32_t>> second,
                                   const EncodeOptions& options) const {
  const size_t max_length = options.max_length ? options.max_length : file_max_length_;
  if (max_length > 0) {
    const size_t added =
        options.add_special_tokens ? post_processor_->Added(second.has_value()) : 0;
    const size_t budget = max_length > added ? max_length - added : 0;
    const size_t total = first.size() + (second ? second->size() : 0);
    if (total > budget) {
      if (!options.truncate) {
        return InvalidArgumentError("the input is " + std::to_string(total + added) +
                                    " tokens, over the limit of " + std::to_string(max_length) +
                                    " (ask for truncation to cut it)");
      }
      if (!second) {
        first.resize(budget);
      } else {
        // `tokenizers`' longest-first: the shorter keeps what it can, the longer the rest.
        size_t n1 = first.size(), n2 = second->size();
        const bool swap = n1 > n2;
        if (swap) std::swap(n1, n2);
        n2 = n1 > budget ? n1 : std::max(n1, budget - n1);
        if (n1 + n2 > budget) {
          n1 = budget / 2;
          n2 = n1 + budget % 2;
        }
        if (swap) std::swap(n1, n2);
        first.resize(std::min(first.size(), n1));
        second->resize(std::min(second->size(), n2));
      }
    }
  }
  if (options.add_special_tokens) {
    return post_processor_->Process(first, second ? &*second : nullptr);
  }
  return post_processor_->Plain(first, second ? &*second : nullptr);
}

Result<Encoding> Tokenizer::Encode(std::string_view text, const EncodeOptions& options) const {
  return Finish(Ids(text), std::nullopt, options);
}

Result<Encoding> Tokenizer::EncodePair(std::string_view first, std::string_view second,
                                       const EncodeOptions& options) const {
  return Finish(Ids(first), Ids(second), options);
}

std::optional<int32_t> Tokenizer::TokenToId(std::string_view token) const {
  for (const AddedToken& t : added_) {
    if (t.content == token) return t.id;
  }
  return model_->TokenToId(token);
}

size_t Tokenizer::VocabSize() const { return model_->VocabSize(); }

}  // namespace modelrt::tokenizer
