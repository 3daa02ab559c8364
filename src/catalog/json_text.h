// Strict JSON text parsing for configs: nlohmann::json plus a duplicate-key check.
//
//   MODELRT_ASSIGN_OR_RETURN(Json json, ParseJsonText(R"({"models": []})"));
//
// Errors (InvalidArgument, without a file name: the caller adds it) carry the parser's line and
// column: "invalid JSON: parse error at line 3, column 5: syntax error while parsing object ...",
// or the key path: "models[0]: duplicate key 'alias'". nlohmann keeps the last of repeated keys
// silently; a config must not, so JSON and YAML (which checks the same) behave alike.
//
// Thread-safety: a free function over values; safe from any thread.
#pragma once

#include <string_view>

#include "core/json.h"
#include "modelrt/catalog.h"
#include "modelrt/status.h"

namespace modelrt::catalog {

Result<Json> ParseJsonText(std::string_view text);

}  // namespace modelrt::catalog
