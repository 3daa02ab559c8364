#include "tokenizer/models.h"

#include <cstdio>
#include <unordered_map>

#include "tokenizer/json_fields.h"
#include "tokenizer/unicode.h"

namespace modelrt::tokenizer {
namespace {

// Looked up by string_view: no string built per probe.
struct ViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using Vocab = std::unordered_map<std::string, int32_t, ViewHash, std::equal_to<>>;

// What every model here answers from its token -> id map.
class VocabModel : public Model {
 public:
  std::optional<int32_t> TokenToId(std::string_view token) const override {
    auto it = vocab_.find(token);
    if (it == vocab_.end()) return std::nullopt;
    return it->second;
  }
  size_t VocabSize() const override { return vocab_.size(); }

 protected:
  explicit VocabModel(Vocab vocab) : vocab_(std::move(vocab)) {}
  const Vocab vocab_;
};

class WordPiece : public VocabModel {
 public:
  WordPiece(Vocab vocab, int32_t unk, std::string prefix, size_t max_chars)
      : VocabModel(std::move(vocab)),
        unk_(unk),
        prefix_(std::move(prefix)),
        max_chars_(max_chars) {}

  // Greedy longest match first, as `tokenizers` does: a word with any piece missing from the
  // vocabulary is one unknown token, and so is a word over max_input_chars_per_word characters.
  void Tokenize(std::string_view word, std::vector<int32_t>* ids) const override {
    const std::vector<char32_t> chars = Decode(word);
    if (chars.size() > max_chars_) {
      ids->push_back(unk_);
      return;
    }
    // Byte offset of each character boundary.
    std::vector<size_t> bounds;
    bounds.reserve(chars.size() + 1);
    std::string text;
    for (char32_t c : chars) {
      bounds.push_back(text.size());
      AppendUtf8(text, c);
    }
    bounds.push_back(text.size());
    const size_t first = ids->size();
    std::string candidate;
    for (size_t start = 0; start < chars.size();) {
      std::optional<int32_t> found;
      size_t end = chars.size();
      for (; end > start; --end) {
        const std::string_view piece(text.data() + bounds[start], bounds[end] - bounds[start]);
        auto it = vocab_.end();
        if (start == 0) {
          it = vocab_.find(piece);
        } else {
          candidate.assign(prefix_);
          candidate.append(piece);
          it = vocab_.find(std::string_view(candidate));
        }
        if (it != vocab_.end()) {
          found = it->second;
          break;
        }
      }
      if (!found) {
        ids->resize(first);
        ids->push_back(unk_);
        return;
      }
      ids->push_back(*found);
      start = end;
    }
  }

 private:
  const int32_t unk_;
  const std::string prefix_;
  const size_t max_chars_;
};

// SentencePiece's unigram model, as `tokenizers` runs it: the segmentation with the best total
// score (Viterbi over every vocabulary piece that starts at each character), a character no
// piece covers scored as unknown (the lowest score minus 10), and runs of unknowns fused into
// one unknown token.
class Unigram : public VocabModel {
 public:
  Unigram(std::vector<std::pair<std::string, double>> pieces, int32_t unk)
      : VocabModel(IdsOf(pieces)), pieces_(std::move(pieces)), unk_(unk) {
    for (const auto& [piece, score] : pieces_) {
      max_bytes_ = std::max(max_bytes_, piece.size());
      min_score_ = std::min(min_score_, score);
    }
  }

  void Tokenize(std::string_view word, std::vector<int32_t>* ids) const override {
    if (word.empty()) return;
    struct Best {
      int32_t id = -1;
      double score = 0;
      size_t start = std::string_view::npos;
    };
    const size_t size = word.size();
    const double unk_score = min_score_ - 10.0;
    std::vector<Best> best(size + 1);
    best[0].start = 0;
    for (size_t start = 0; start < size;) {
      size_t char_bytes;
      DecodeAt(word, start, &char_bytes);
      const double here = best[start].score;
      bool covered = false;
      for (size_t len = 1; len <= std::min(max_bytes_, size - start); ++len) {
        auto it = vocab_.find(word.substr(start, len));
        if (it == vocab_.end()) continue;
        Best& target = best[start + len];
        const double candidate = here + pieces_[static_cast<size_t>(it->second)].second;
        if (target.start == std::string_view::npos || candidate > target.score) {
          target = {it->second, candidate, start};
        }
        if (len == char_bytes) covered = true;
      }
      if (!covered) {
        Best& target = best[start + char_bytes];
        const double candidate = here + unk_score;
        if (target.start == std::string_view::npos || candidate > target.score) {
          target = {unk_, candidate, start};
        }
      }
      start += char_bytes;
    }
    // Back from the end; consecutive unknowns become one.
    std::vector<int32_t> reversed;
    bool in_unknown = false;
    for (size_t end = size; end > 0;) {
      const Best& node = best[end];
      if (node.id == unk_) {
        if (!in_unknown) reversed.push_back(unk_);
        in_unknown = true;
      } else {
        reversed.push_back(node.id);
        in_unknown = false;
      }
      end = node.start;
    }
    ids->insert(ids->end(), reversed.rbegin(), reversed.rend());
  }

 private:
  static Vocab IdsOf(const std::vector<std::pair<std::string, double>>& pieces) {
    Vocab ids;
    for (size_t i = 0; i < pieces.size(); ++i)
      ids.emplace(pieces[i].first, static_cast<int32_t>(i));
    return ids;
  }

  const std::vector<std::pair<std::string, double>> pieces_;
  const int32_t unk_;
  size_t max_bytes_ = 0;
  double min_score_ = 0;
};

Result<std::unique_ptr<Model>> MakeUnigram(const Json& json, const std::string& path) {
  auto vocab = json.find("vocab");
  if (vocab == json.end() || !vocab->is_array()) {
    return FieldError(path + ".vocab", "must be a list of [piece, score]");
  }
  std::vector<std::pair<std::string, double>> pieces;
  pieces.reserve(vocab->size());
  for (const Json& entry : *vocab) {
    if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string() || !entry[1].is_number()) {
      return FieldError(path + ".vocab", "each entry must be [piece, score]");
    }
    pieces.emplace_back(entry[0].get<std::string>(), entry[1].get<double>());
  }
  MODELRT_ASSIGN_OR_RETURN(int64_t unk, IntOr(json, "unk_id", -1, path));
  if (unk < 0 || unk >= static_cast<int64_t>(pieces.size())) {
    return FieldError(path + ".unk_id", "must name a piece of the vocabulary");
  }
  MODELRT_ASSIGN_OR_RETURN(bool byte_fallback, BoolOr(json, "byte_fallback", false, path));
  if (byte_fallback) return Unsupported(path, "Unigram with byte_fallback");
  return std::unique_ptr<Model>(
      std::make_unique<Unigram>(std::move(pieces), static_cast<int32_t>(unk)));
}

// Byte-pair encoding as `tokenizers` runs it: the word's characters (with the continuing-subword
// prefix and end-of-word suffix when the model has them), then, again and again, the adjacent
// pair whose merge ranks first (the leftmost of equals) becomes one symbol. A character missing
// from the vocabulary is its bytes as <0xXX> (byte_fallback), the unknown token (fused into one
// when fuse_unk), or dropped.
class Bpe : public VocabModel {
 public:
  struct Options {
    std::optional<int32_t> unk;
    std::string prefix, suffix;
    bool fuse_unk = false, byte_fallback = false, ignore_merges = false;
  };
  Bpe(Vocab vocab, std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges,
      Options options)
      : VocabModel(std::move(vocab)), merges_(std::move(merges)), options_(std::move(options)) {}

  static uint64_t PairKey(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }

  void Tokenize(std::string_view word, std::vector<int32_t>* ids) const override {
    if (word.empty()) return;
    if (options_.ignore_merges) {
      if (auto it = vocab_.find(word); it != vocab_.end()) {
        ids->push_back(it->second);
        return;
      }
    }
    const std::vector<char32_t> chars = Decode(word);
    std::vector<int32_t> symbols;
    bool last_unknown = false;
    for (size_t i = 0; i < chars.size(); ++i) {
      std::string piece;
      AppendUtf8(piece, chars[i]);
      std::string key =
          (i > 0 ? options_.prefix : "") + piece + (i + 1 == chars.size() ? options_.suffix : "");
      if (auto it = vocab_.find(std::string_view(key)); it != vocab_.end()) {
        symbols.push_back(it->second);
        last_unknown = false;
        continue;
      }
      if (options_.byte_fallback) {
        std::vector<int32_t> bytes;
        for (unsigned char b : piece) {
          char name[8];
          std::snprintf(name, sizeof name, "<0x%02X>", b);
          auto it = vocab_.find(std::string_view(name));
          if (it == vocab_.end()) break;
          bytes.push_back(it->second);
        }
        if (bytes.size() == piece.size()) {
          symbols.insert(symbols.end(), bytes.begin(), bytes.end());
          last_unknown = false;
          continue;
        }
      }
      if (options_.unk) {
        if (!(options_.fuse_unk && last_unknown)) symbols.push_back(*options_.unk);
        last_unknown = true;
      }
    }
    while (symbols.size() > 1) {
      int32_t best_rank = INT32_MAX, best_new = -1;
      size_t best_at = 0;
      for (size_t i = 0; i + 1 < symbols.size(); ++i) {
        auto it = merges_.find(PairKey(symbols[i], symbols[i + 1]));
        if (it != merges_.end() && it->second.first < best_rank) {
          best_rank = it->second.first;
          best_new = it->second.second;
          best_at = i;
        }
      }
      if (best_new < 0) break;
      symbols[best_at] = best_new;
      symbols.erase(symbols.begin() + static_cast<ptrdiff_t>(best_at) + 1);
    }
    ids->insert(ids->end(), symbols.begin(), symbols.end());
  }

 private:
  const std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges_;  // pair: rank, new id
  const Options options_;
};

Result<Vocab> ReadVocab(const Json& json, const std::string& path);

Result<std::unique_ptr<Model>> MakeBpe(const Json& json, const std::string& path) {
  MODELRT_ASSIGN_OR_RETURN(Vocab vocab, ReadVocab(json, path));
  Bpe::Options options;
  MODELRT_ASSIGN_OR_RETURN(std::string unk, StringOr(json, "unk_token", "", path));
  if (!unk.empty()) {
    auto it = vocab.find(std::string_view(unk));
    if (it == vocab.end())
      return FieldError(path + ".unk_token", "'" + unk + "' is not in the vocabulary");
    options.unk = it->second;
  }
  MODELRT_ASSIGN_OR_RETURN(options.prefix, StringOr(json, "continuing_subword_prefix", "", path));
  MODELRT_ASSIGN_OR_RETURN(options.suffix, StringOr(json, "end_of_word_suffix", "", path));
  MODELRT_ASSIGN_OR_RETURN(options.fuse_unk, BoolOr(json, "fuse_unk", false, path));
  MODELRT_ASSIGN_OR_RETURN(options.byte_fallback, BoolOr(json, "byte_fallback", false, path));
  MODELRT_ASSIGN_OR_RETURN(options.ignore_merges, BoolOr(json, "ignore_merges", false, path));
  if (auto dropout = json.find("dropout"); dropout != json.end() && !dropout->is_null()) {
    return Unsupported(path, "BPE with dropout");
  }
  MODELRT_ASSIGN_OR_RETURN(const Json* list, ListOf(json, "merges", path));
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges;
  merges.reserve(list->size());
  for (size_t rank = 0; rank < list->size(); ++rank) {
    const Json& m = (*list)[rank];
    std::string a, b;
    if (m.is_string()) {  // "a b"
      const std::string text = m.get<std::string>();
      const size_t space = text.find(' ');
      if (space == std::string::npos)
        return FieldError(path + ".merges", "'" + text + "' is not 'a b'");
      a = text.substr(0, space);
      b = text.substr(space + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      a = m[0].get<std::string>();
      b = m[1].get<std::string>();
    } else {
      return FieldError(path + ".merges", "each merge must be \"a b\" or [a, b]");
    }
    auto ia = vocab.find(std::string_view(a)), ib = vocab.find(std::string_view(b));
    // The merged token drops b's continuing-subword prefix, as `tokenizers` builds it.
    std::string joined = a + (options.prefix.empty() || b.rfind(options.prefix, 0) != 0
                                  ? b
                                  : b.substr(options.prefix.size()));
    auto ij = vocab.find(std::string_view(joined));
    if (ia == vocab.end() || ib == vocab.end() || ij == vocab.end()) {
      return FieldError(path + ".merges",
                        "merge '" + a + " " + b + "' names a token not in the vocabulary");
    }
    merges.emplace(Bpe::PairKey(ia->second, ib->second),
                   std::make_pair(static_cast<int32_t>(rank), ij->second));
  }
  return std::unique_ptr<Model>(
      std::make_unique<Bpe>(std::move(vocab), std::move(merges), std::move(options)));
}

Result<Vocab> ReadVocab(const Json& json, const std::string& path) {
  auto it = json.find("vocab");
  if (it == json.end() || !it->is_object()) {
    return FieldError(path + ".vocab", "must be an object of token: id");
  }
  Vocab vocab;
  vocab.reserve(it->size());
  for (const auto& [token, id] : it->items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
      return FieldError(path + ".vocab",
                        "the id of '" + token + "' must be a non-negative integer");
    }
    vocab.emplace(token, static_cast<int32_t>(id.get<int64_t>()));
  }
  return vocab;
}

// Files written before `type` was serialized say what they are by their fields.
std::string InferType(const Json& json) {
  if (json.contains("merges")) return "BPE";
  if (auto vocab = json.find("vocab"); vocab != json.end() && vocab->is_array()) return "Unigram";
  if (json.contains("continuing_subword_prefix") || json.contains("max_input_chars_per_word")) {
    return "WordPiece";
  }
  return "";
}

}  // namespace

Result<std::unique_ptr<Model>> MakeModel(const Json& json, const std::string& path) {
  if (!json.is_object()) return FieldError(path, "must be an object");
  std::string type = json.contains("type") ? "" : InferType(json);
  if (type.empty()) {
    MODELRT_ASSIGN_OR_RETURN(type, TypeOf(json, path));
  }
  if (type == "WordPiece") {
    MODELRT_ASSIGN_OR_RETURN(Vocab vocab, ReadVocab(json, path));
    MODELRT_ASSIGN_OR_RETURN(std::string unk, StringOr(json, "unk_token", "[UNK]", path));
    MODELRT_ASSIGN_OR_RETURN(std::string prefix,
                             StringOr(json, "continuing_subword_prefix", "##", path));
    MODELRT_ASSIGN_OR_RETURN(int64_t max_chars, IntOr(json, "max_input_chars_per_word", 100, path));
    auto unk_id = vocab.find(std::string_view(unk));
    if (unk_id == vocab.end()) {
      return FieldError(path + ".unk_token", "'" + unk + "' is not in the vocabulary");
    }
    const int32_t unk_value = unk_id->second;
    return std::unique_ptr<Model>(
        std::make_unique<WordPiece>(std::move(vocab), unk_value, std::move(prefix),
                                    static_cast<size_t>(std::max<int64_t>(max_chars, 0))));
  }
  if (type == "Unigram") return MakeUnigram(json, path);
  if (type == "BPE") return MakeBpe(json, path);
  return Unsupported(path, type);
}

}  // namespace modelrt::tokenizer
