// Reading tokenizer.json's components: typed fields whose errors name the component's path and
// the field ("tokenizer.json: model.vocab: must be an object"), and the one error for a
// component type this tokenizer does not build.
// Thread-safety: free functions over values.
#pragma once

#include <string>

#include "core/json.h"
#include "modelrt/status.h"
#include "tokenizer/regex.h"

namespace modelrt::tokenizer {

// InvalidArgument "<path>: <reason>".
Status FieldError(const std::string& path, const std::string& reason);
// InvalidArgument "<path>: type '<type>' is not supported by modelrt's tokenizer".
Status Unsupported(const std::string& path, const std::string& type);

// json["type"], which must be a string.
Result<std::string> TypeOf(const Json& json, const std::string& path);
// json[key] when present and not null, else `fallback`.
Result<bool> BoolOr(const Json& json, const char* key, bool fallback, const std::string& path);
Result<std::string> StringOr(const Json& json, const char* key, const std::string& fallback,
                             const std::string& path);
Result<int64_t> IntOr(const Json& json, const char* key, int64_t fallback, const std::string& path);
// json[key], which must be a list.
Result<const Json*> ListOf(const Json& json, const char* key, const std::string& path);
// A "pattern": {"String": "..."} (matched literally) or {"Regex": "..."}, compiled.
Result<Regex> ReadPattern(const Json& json, const std::string& path);

}  // namespace modelrt::tokenizer
