// YAML text to nlohmann::json, so YAML and JSON configs share one validator.
//
// Plain (unquoted) scalars are resolved by the YAML 1.2 core schema: `42` and `0x2a` become
// integers, `1.5`, `1e3` and `.inf` numbers, `true`/`false` booleans, `~`/`null`/empty null;
// everything else, and every quoted or block scalar, stays a string.
//
//   MODELRT_ASSIGN_OR_RETURN(Json json, YamlToJson("models: [{alias: x, task: embed}]"));
//   // json["models"][0]["alias"] == "x"
//
// Errors (InvalidArgument, without a file name: the caller adds it) carry the parser's line and
// column: "invalid YAML at line 3, column 5: end of map not found", or the key path for
// problems found while converting: "models[0]: duplicate key 'alias' (line 7, column 5)".
//
// Thread-safety: a free function over values; safe from any thread.
#pragma once

#include <string_view>

#include "core/json.h"
#include "modelrt/catalog.h"
#include "modelrt/status.h"

namespace modelrt::catalog {

// Parses one YAML document. An empty document (blank or comments only) gives a null Json. More
// than one document, duplicate mapping keys, non-scalar keys and invalid UTF-8 are errors.
Result<Json> YamlToJson(std::string_view text);

}  // namespace modelrt::catalog
