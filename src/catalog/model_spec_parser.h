// Validation of one alias spec (an entry of `models`), shared by the config parser and by
// run-time registration (ParseModelSpec in modelrt/catalog.h).
//
//   MODELRT_ASSIGN_OR_RETURN(ModelSpec spec,
//                            ParseModelSpecAt(json["models"][1], "cat.yaml", "models[1]"));
//   // errors read "cat.yaml: models[1].warmup: must be one of lazy, eager, background (got ...)"
//
// Thread-safety: free functions over values; safe from any thread.
#pragma once

#include <string_view>

#include "core/json.h"
#include "modelrt/catalog.h"
#include "modelrt/status.h"

namespace modelrt::catalog {

// Longest alias, profile name or provider id.
inline constexpr size_t kMaxNameLength = 128;

// [A-Za-z0-9._:/-]{1,128}: aliases and profile names ("org/model:q4" is fine).
bool IsValidAlias(std::string_view alias);
// The reason an alias (or profile name) is rejected, for messages.
std::string AliasRule();

// Keys whose values would be secrets ("api_key", "token", ...), matched case-insensitively.
// Configs must name an environment variable or file instead.
bool IsSecretKey(std::string_view key);
// Rejects any secret-named key directly inside `object` ("<path>.<key>: secrets are not
// accepted inline; use api_key_env", naming `instead`). Never echoes the value.
Status RejectInlineSecrets(const Json& object, std::string_view source, std::string_view path,
                           std::string_view instead = "api_key_env");

// Parses the spec at `path` of `source`. Checks everything that needs no other part of the
// file: the provider is only read (empty when absent), not resolved. origin is left empty.
Result<ModelSpec> ParseModelSpecAt(const Json& json, std::string_view source,
                                   std::string_view path);

// ParseModelSpec of modelrt/catalog.h over parsed JSON (the admin API's body).
Result<ModelSpec> ParseModelSpec(const Json& json, std::string_view origin);

}  // namespace modelrt::catalog
