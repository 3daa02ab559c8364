// Reading upstream answers: JSON parsing and field access whose errors say what the upstream got
// wrong (UpstreamFailed "upstream answer: data[2].embedding: missing"), for every wire format.
//
//   MODELRT_ASSIGN_OR_RETURN(Json answer, ParseAnswer(body));
//   MODELRT_ASSIGN_OR_RETURN(const Json* data, Member(answer, "data", "data"));
//
// Thread-safety: free functions over values.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "modelrt/status.h"

namespace modelrt::remote {

// UpstreamFailed "upstream answer: <path>: <reason>".
Status AnswerError(std::string_view path, std::string_view reason);

// The body as JSON; UpstreamFailed when it is not.
Result<Json> ParseAnswer(std::string_view body);

// json[key], which must exist and not be null; `path` names it in errors.
Result<const Json*> Member(const Json& json, const char* key, std::string_view path);

// A list of numbers as floats.
Result<std::vector<float>> FloatList(const Json& json, std::string_view path);

// Exactly `count` embeddings from a list of lists of numbers (Cohere, Ollama, TEI answers).
Result<std::vector<std::vector<float>>> FloatLists(const Json& json, std::string_view path,
                                                   size_t count);

// An integer field, or `fallback` when absent or not a number (usage counts are optional).
int64_t IntOr(const Json& json, const char* key, int64_t fallback);

// json[k1][k2]... when each step is an object holding the key; nullptr otherwise. Answers are
// untrusted: nothing here throws or reads out of bounds, whatever their shape.
const Json* Find(const Json& json, std::initializer_list<const char*> path);

// The string at json[key]; `fallback` when json is not an object or the value not a string.
std::string StringOr(const Json& json, const char* key, std::string fallback = "");

}  // namespace modelrt::remote
