#include "providers/remote/answer_json.h"

#include "core/json_depth.h"

namespace modelrt::remote {
namespace {

// Far deeper than any upstream's answer.
constexpr int kMaxDepth = 128;

}  // namespace

Status AnswerError(std::string_view path, std::string_view reason) {
  std::string message = "upstream answer: ";
  if (!path.empty()) message += std::string(path) + ": ";
  return UpstreamFailedError(message + std::string(reason));
}

Result<Json> ParseAnswer(std::string_view body) {
  if (JsonNestsDeeperThan(body, kMaxDepth)) {
    return AnswerError("", "nests deeper than " + std::to_string(kMaxDepth) + " levels");
  }
  Json json = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return AnswerError("", "not JSON");
  return json;
}

Result<const Json*> Member(const Json& json, const char* key, std::string_view path) {
  if (!json.is_object()) return AnswerError(path, "expected an object around it");
  auto it = json.find(key);
  if (it == json.end() || it->is_null()) return AnswerError(path, "missing");
  return &*it;
}

Result<std::vector<float>> FloatList(const Json& json, std::string_view path) {
  if (!json.is_array()) return AnswerError(path, "must be a list of numbers");
  std::vector<float> out;
  out.reserve(json.size());
  for (const Json& value : json) {
    if (!value.is_number()) return AnswerError(path, "must be a list of numbers");
    out.push_back(value.get<float>());
  }
  return out;
}

Result<std::vector<std::vector<float>>> FloatLists(const Json& json, std::string_view path,
                                                   size_t count) {
  if (!json.is_array() || json.size() != count) {
    return AnswerError(path, "expected " + std::to_string(count) + " embeddings");
  }
  std::vector<std::vector<float>> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    MODELRT_ASSIGN_OR_RETURN(auto v, FloatList(json[i], std::string(path) + "[" +
                                                            std::to_string(i) + "]"));
    out.push_back(std::move(v));
  }
  return out;
}

int64_t IntOr(const Json& json, const char* key, int64_t fallback) {
  if (!json.is_object()) return fallback;
  auto it = json.find(key);
  if (it == json.end() || !it->is_number()) return fallback;
  // Counts and indexes. An upstream's 1e300 or 2^64-1 is neither, and converting a double past
  // int64_t's range is undefined; the bound keeps sums of counts far from overflowing too.
  constexpr double kMax = 1e15;
  const double value = it->get<double>();
  if (!(value >= -kMax && value <= kMax)) return fallback;
  return it->is_number_float() ? static_cast<int64_t>(value) : it->get<int64_t>();
}

const Json* Find(const Json& json, std::initializer_list<const char*> path) {
  const Json* at = &json;
  for (const char* key : path) {
    if (!at->is_object()) return nullptr;
    auto it = at->find(key);
    if (it == at->end()) return nullptr;
    at = &*it;
  }
  return at;
}

std::string StringOr(const Json& json, const char* key, std::string fallback) {
  const Json* value = Find(json, {key});
  return value && value->is_string() ? value->get<std::string>() : std::move(fallback);
}

}  // namespace modelrt::remote
