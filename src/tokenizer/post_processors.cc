#include "tokenizer/post_processors.h"

#include "tokenizer/json_fields.h"

namespace modelrt::tokenizer {
namespace {

void Append(Encoding& e, const std::vector<int32_t>& ids, int32_t type_id) {
  e.ids.insert(e.ids.end(), ids.begin(), ids.end());
  e.type_ids.insert(e.type_ids.end(), ids.size(), type_id);
}

class PlainProcessor : public PostProcessor {
 public:
  size_t Added(bool) const override { return 0; }
  Encoding Process(const std::vector<int32_t>& first,
                   const std::vector<int32_t>* second) const override {
    return Plain(first, second);
  }
};

// One piece of a template: a special token's ids, or the first (A) or second (B) text.
struct Piece {
  bool sequence = false;
  bool second = false;       // B (when `sequence`)
  std::vector<int32_t> ids;  // the special token's (when not `sequence`)
  int32_t type_id = 0;
};

class TemplateProcessor : public PostProcessor {
 public:
  TemplateProcessor(std::vector<Piece> single, std::vector<Piece> pair)
      : single_(std::move(single)), pair_(std::move(pair)) {}

  size_t Added(bool pair) const override {
    size_t n = 0;
    for (const Piece& p : pair ? pair_ : single_) n += p.sequence ? 0 : p.ids.size();
    return n;
  }

  Encoding Process(const std::vector<int32_t>& first,
                   const std::vector<int32_t>* second) const override {
    Encoding e;
    for (const Piece& p : second ? pair_ : single_) {
      if (!p.sequence) {
        Append(e, p.ids, p.type_id);
      } else {
        Append(e, p.second ? *second : first, p.type_id);
      }
    }
    return e;
  }

 private:
  const std::vector<Piece> single_, pair_;
};

// RoBERTa has a single token type: `tokenizers` sets every type id to 0, special tokens or not
// (tokenizers.js 0.2.0 gives a pair's "</s> B </s>" type id 1).
class RobertaProcessor : public TemplateProcessor {
 public:
  RobertaProcessor(int32_t cls, int32_t sep)
      : TemplateProcessor({{.ids = {cls}}, {.sequence = true}, {.ids = {sep}}},
                          {{.ids = {cls}},
                           {.sequence = true},
                           {.ids = {sep, sep}},
                           {.sequence = true, .second = true},
                           {.ids = {sep}}}) {}

  Encoding Plain(const std::vector<int32_t>& first,
                 const std::vector<int32_t>* second) const override {
    Encoding e;
    Append(e, first, 0);
    if (second) Append(e, *second, 0);
    return e;
  }
};

// ["[SEP]", 102]
Result<int32_t> TokenId(const Json& json, const char* key, const std::string& path) {
  auto it = json.find(key);
  if (it == json.end() || !it->is_array() || it->size() != 2 || !(*it)[1].is_number_integer()) {
    return FieldError(path + "." + key, "must be [token, id]");
  }
  return (*it)[1].get<int32_t>();
}

Result<std::vector<Piece>> ReadTemplate(const Json& json, const char* key, const Json& specials,
                                        const std::string& path) {
  MODELRT_ASSIGN_OR_RETURN(const Json* list, ListOf(json, key, path));
  std::vector<Piece> pieces;
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string where = path + "." + key + "[" + std::to_string(i) + "]";
    const Json& item = (*list)[i];
    Piece piece;
    if (auto seq = item.find("Sequence"); seq != item.end() && seq->is_object()) {
      piece.sequence = true;
      const std::string id = seq->value("id", "A");
      if (id != "A" && id != "B") return FieldError(where + ".Sequence.id", "must be A or B");
      piece.second = id == "B";
      // IntOr, not Json::value: converting 1e300 to an int is undefined.
      MODELRT_ASSIGN_OR_RETURN(int64_t type_id, IntOr(*seq, "type_id", 0, where + ".Sequence"));
      piece.type_id = static_cast<int32_t>(type_id);
    } else if (auto tok = item.find("SpecialToken"); tok != item.end() && tok->is_object()) {
      const std::string id = tok->value("id", "");
      auto special = specials.find(id);
      if (special == specials.end() || !special->contains("ids") || !(*special)["ids"].is_array()) {
        return FieldError(where, "special token '" + id + "' is not in special_tokens");
      }
      for (const Json& v : (*special)["ids"]) {
        if (!v.is_number_integer()) return FieldError(where, "special token ids must be integers");
        piece.ids.push_back(v.get<int32_t>());
      }
      MODELRT_ASSIGN_OR_RETURN(int64_t type_id,
                               IntOr(*tok, "type_id", 0, where + ".SpecialToken"));
      piece.type_id = static_cast<int32_t>(type_id);
    } else {
      return FieldError(where, "must be {\"Sequence\": ...} or {\"SpecialToken\": ...}");
    }
    pieces.push_back(std::move(piece));
  }
  return pieces;
}

}  // namespace

Encoding PostProcessor::Plain(const std::vector<int32_t>& first,
                              const std::vector<int32_t>* second) const {
  Encoding e;
  Append(e, first, 0);
  if (second) Append(e, *second, 1);
  return e;
}

Result<std::unique_ptr<PostProcessor>> MakePostProcessor(const Json& json,
                                                         const std::string& path) {
  if (json.is_null()) return std::unique_ptr<PostProcessor>(std::make_unique<PlainProcessor>());
  MODELRT_ASSIGN_OR_RETURN(std::string type, TypeOf(json, path));
  // ByteLevel's post-processing only trims offsets, which ids do not carry.
  if (type == "ByteLevel")
    return std::unique_ptr<PostProcessor>(std::make_unique<PlainProcessor>());
  if (type == "BertProcessing") {
    MODELRT_ASSIGN_OR_RETURN(int32_t cls, TokenId(json, "cls", path));
    MODELRT_ASSIGN_OR_RETURN(int32_t sep, TokenId(json, "sep", path));
    std::vector<Piece> single = {{.ids = {cls}}, {.sequence = true}, {.ids = {sep}}};
    std::vector<Piece> pair = {{.ids = {cls}},
                               {.sequence = true},
                               {.ids = {sep}},
                               {.sequence = true, .second = true, .type_id = 1},
                               {.ids = {sep}, .type_id = 1}};
    return std::unique_ptr<PostProcessor>(
        std::make_unique<TemplateProcessor>(std::move(single), std::move(pair)));
  }
  if (type == "RobertaProcessing") {
    MODELRT_ASSIGN_OR_RETURN(int32_t cls, TokenId(json, "cls", path));
    MODELRT_ASSIGN_OR_RETURN(int32_t sep, TokenId(json, "sep", path));
    // Both only move offsets (ByteLevel's trimming), which ids do not carry; read so a wrong
    // type is still an error.
    MODELRT_RETURN_IF_ERROR(BoolOr(json, "trim_offsets", true, path));
    MODELRT_RETURN_IF_ERROR(BoolOr(json, "add_prefix_space", true, path));
    return std::unique_ptr<PostProcessor>(std::make_unique<RobertaProcessor>(cls, sep));
  }
  if (type == "TemplateProcessing") {
    const Json specials = json.value("special_tokens", Json::object());
    MODELRT_ASSIGN_OR_RETURN(std::vector<Piece> single,
                             ReadTemplate(json, "single", specials, path));
    MODELRT_ASSIGN_OR_RETURN(std::vector<Piece> pair, ReadTemplate(json, "pair", specials, path));
    return std::unique_ptr<PostProcessor>(
        std::make_unique<TemplateProcessor>(std::move(single), std::move(pair)));
  }
  return Unsupported(path, type);
}

}  // namespace modelrt::tokenizer
