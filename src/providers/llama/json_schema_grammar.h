// JSON Schema (and "any JSON object") to a GBNF grammar, with the pinned llama.cpp's own
// converter (common/json-schema-to-grammar), for OpenAI's `response_format`. The grammar then
// constrains sampling (SamplingParams::grammar), so even a random-weight model only writes JSON
// that parses and follows the schema.
//
//   MODELRT_ASSIGN_OR_RETURN(std::string gbnf, JsonSchemaToGrammar(R"({"type": "object"})"));
//
// Thread-safety: free functions; safe from any thread.
#pragma once

#include <string>

#include "modelrt/status.h"

namespace modelrt::llama {

// `schema` is JSON text. InvalidArgument naming what the converter could not express (an
// unsupported keyword, a pattern with no grammar equivalent) or a schema that is not JSON.
Result<std::string> JsonSchemaToGrammar(const std::string& schema);

}  // namespace modelrt::llama
