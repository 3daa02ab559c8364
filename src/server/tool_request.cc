#include "server/tool_request.h"

#include <cctype>

#include "providers/llama/json_schema_grammar.h"
#include "server/json_fields.h"

namespace modelrt::server {
namespace {

constexpr size_t kMaxTools = 128;

// OpenAI's rule for function names.
bool ValidFunctionName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

Result<ToolSpec> ParseTool(const Json& tool, const std::string& where) {
  const Json* type = tool.is_object() ? FindField(tool, "type") : nullptr;
  if (!type || !type->is_string() || type->get<std::string>() != "function") {
    return InvalidArgumentError("'" + where + ".type' must be \"function\"");
  }
  const Json* function = FindField(tool, "function");
  if (!function || !function->is_object()) return InvalidArgumentError("'" + where + ".function' must be an object");
  return ParseFunction(*function, where + ".function", "parameters", /*schema_required=*/false);
}

Status ParseToolChoice(const Json& body, GenerateRequest* request) {
  const Json* choice = FindField(body, "tool_choice");
  if (choice == nullptr) return OkStatus();
  if (choice->is_string()) {
    const std::string& mode = choice->get_ref<const std::string&>();
    if (mode == "auto") request->tool_choice = ToolChoice::kAuto;
    else if (mode == "none") request->tool_choice = ToolChoice::kNone;
    else if (mode == "required") request->tool_choice = ToolChoice::kRequired;
    else return InvalidArgumentError("'tool_choice' must be \"auto\", \"none\", \"required\" or "
                                     "{\"type\": \"function\", \"function\": {\"name\": ...}} (got \"" + mode + "\")");
  } else {
    const Json* function = choice->is_object() ? FindField(*choice, "function") : nullptr;
    const Json* name = function && function->is_object() ? FindField(*function, "name") : nullptr;
    if (!name || !name->is_string()) {
      return InvalidArgumentError("'tool_choice.function.name' must name one of the tools");
    }
    request->tool_choice = ToolChoice::kNamed;
    request->tool_name = name->get<std::string>();
  }
  if (request->tool_choice == ToolChoice::kNone) return OkStatus();
  if (request->tools.empty() && request->tool_choice != ToolChoice::kAuto) {
    return InvalidArgumentError("'tool_choice' needs 'tools'");
  }
  if (request->tool_choice == ToolChoice::kNamed) {
    for (const ToolSpec& tool : request->tools) {
      if (tool.name == request->tool_name) return OkStatus();
    }
    return InvalidArgumentError("'tool_choice.function.name': no tool named '" + request->tool_name + "'");
  }
  return OkStatus();
}

}  // namespace

Result<ToolSpec> ParseFunction(const Json& object, const std::string& where,
                               std::string_view schema_key, bool schema_required) {
  ToolSpec spec;
  MODELRT_ASSIGN_OR_RETURN(spec.name, RequiredString(object, "name"));
  if (!ValidFunctionName(spec.name)) {
    return InvalidArgumentError("'" + where + ".name' must be 1 to 64 letters, digits, '_' or '-' "
                                "(got '" + spec.name + "')");
  }
  MODELRT_ASSIGN_OR_RETURN(std::optional<std::string> description, OptionalString(object, "description"));
  spec.description = description.value_or("");
  const std::string at = "'" + where + "." + std::string(schema_key) + "'";
  const Json* schema = FindField(object, schema_key);
  if (schema == nullptr && !schema_required) return spec;
  if (schema == nullptr || !schema->is_object()) return InvalidArgumentError(at + " must be a JSON Schema object");
  spec.parameters = schema->dump();
  // The call's arguments are sampled under this schema: one that cannot be enforced is refused
  // now, with the converter's reason.
  if (Result<std::string> grammar = llama::JsonSchemaToGrammar(spec.parameters); !grammar) {
    return InvalidArgumentError(at + ": " + grammar.error().message());
  }
  return spec;
}

Status ParseTools(const Json& body, GenerateRequest* request) {
  if (const Json* tools = FindField(body, "tools")) {
    if (!tools->is_array()) return InvalidArgumentError("'tools' must be an array");
    if (tools->size() > kMaxTools) {
      return InvalidArgumentError("'tools' has " + std::to_string(tools->size()) +
                                  " entries; at most " + std::to_string(kMaxTools));
    }
    for (size_t i = 0; i < tools->size(); ++i) {
      MODELRT_ASSIGN_OR_RETURN(ToolSpec tool, ParseTool((*tools)[i], "tools[" + std::to_string(i) + "]"));
      for (const ToolSpec& earlier : request->tools) {
        if (earlier.name == tool.name) {
          return InvalidArgumentError("'tools[" + std::to_string(i) + "].function.name': '" +
                                      tool.name + "' is defined twice");
        }
      }
      request->tools.push_back(std::move(tool));
    }
  }
  MODELRT_RETURN_IF_ERROR(ParseToolChoice(body, request));
  MODELRT_ASSIGN_OR_RETURN(std::optional<bool> parallel, OptionalBool(body, "parallel_tool_calls"));
  request->parallel_tool_calls = parallel.value_or(true);
  return OkStatus();
}

Result<std::vector<ToolCall>> ParseToolCalls(const Json& calls, const std::string& where) {
  if (!calls.is_array()) return InvalidArgumentError(where + ".tool_calls' must be an array");
  std::vector<ToolCall> out;
  for (size_t i = 0; i < calls.size(); ++i) {
    const std::string at = where + ".tool_calls[" + std::to_string(i) + "]";
    const Json& call = calls[i];
    const Json* function = call.is_object() ? FindField(call, "function") : nullptr;
    if (!function || !function->is_object()) return InvalidArgumentError(at + ".function' must be an object");
    ToolCall parsed;
    MODELRT_ASSIGN_OR_RETURN(std::optional<std::string> id, OptionalString(call, "id"));
    parsed.id = id.value_or("");
    MODELRT_ASSIGN_OR_RETURN(parsed.name, RequiredString(*function, "name"));
    const Json* arguments = FindField(*function, "arguments");
    if (arguments == nullptr) {
      parsed.arguments = "{}";
    } else if (arguments->is_string()) {
      parsed.arguments = arguments->get<std::string>();
      if (!Json::accept(parsed.arguments)) {
        return InvalidArgumentError(at + ".function.arguments' must be a JSON text");
      }
    } else if (arguments->is_object()) {
      parsed.arguments = arguments->dump();  // some clients send the object itself
    } else {
      return InvalidArgumentError(at + ".function.arguments' must be a JSON string");
    }
    out.push_back(std::move(parsed));
  }
  return out;
}

}  // namespace modelrt::server
