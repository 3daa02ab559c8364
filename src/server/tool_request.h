// OpenAI's function-calling fields of a chat request: `tools`, `tool_choice` and
// `parallel_tool_calls`, and the `tool_calls` of an assistant message. Each tool's `parameters`
// must be a JSON Schema the engine can enforce (checked here, so a bad schema is a 400 naming
// the tool, not a failure at generation time).
//
//   MODELRT_RETURN_IF_ERROR(ParseTools(body, &call.request));
//
// Thread-safety: free functions.
#pragma once

#include <string>
#include <vector>

#include "core/json.h"
#include "modelrt/model.h"
#include "modelrt/status.h"

namespace modelrt::server {

// Sets request->tools, tool_choice, tool_name and parallel_tool_calls from the body.
// InvalidArgument naming the field: a tool that is not {type: "function", function: {name, ...}},
// a bad name, a schema that cannot be enforced, an unknown tool_choice or one naming no tool.
Status ParseTools(const Json& body, GenerateRequest* request);

// One function definition, as every API writes it: `object` holds `name`, `description` and the
// JSON Schema under `schema_key` ("parameters" for OpenAI and Ollama, "input_schema" for
// Anthropic; required or not). `where` names the object in errors ("tools[0].function").
Result<ToolSpec> ParseFunction(const Json& object, const std::string& where,
                               std::string_view schema_key, bool schema_required);

// An assistant message's `tool_calls` ([{id, type: "function", function: {name, arguments}}]);
// `where` prefixes error messages ("'messages[2]").
Result<std::vector<ToolCall>> ParseToolCalls(const Json& calls, const std::string& where);

}  // namespace modelrt::server
