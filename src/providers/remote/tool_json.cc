#include "providers/remote/tool_json.h"

#include <algorithm>

#include "core/tool_call_id.h"
#include "providers/remote/answer_json.h"

namespace modelrt::remote {

Json ToolParameters(const ToolSpec& tool) {
  Json parameters = Json::parse(tool.parameters, nullptr, /*allow_exceptions=*/false);
  return parameters.is_object() ? parameters : Json{{"type", "object"}};
}

Json FunctionDeclaration(const ToolSpec& tool, const char* schema_key) {
  Json function = {{"name", tool.name}, {schema_key, ToolParameters(tool)}};
  if (!tool.description.empty()) function["description"] = tool.description;
  return function;
}

Json OpenAiTools(const std::vector<ToolSpec>& tools) {
  Json out = Json::array();
  for (const ToolSpec& tool : tools) {
    out.push_back({{"type", "function"}, {"function", FunctionDeclaration(tool, "parameters")}});
  }
  return out;
}

Json OpenAiToolCalls(const std::vector<ToolCall>& calls) {
  Json out = Json::array();
  for (const ToolCall& call : calls) {
    out.push_back({{"id", call.id},
                   {"type", "function"},
                   {"function", {{"name", call.name}, {"arguments", call.arguments}}}});
  }
  return out;
}

std::vector<ToolCall> ReadOpenAiToolCalls(const Json& calls) {
  StreamedToolCalls read;
  if (!calls.is_array()) return {};
  for (const Json& call : calls) {
    const Json* function = Find(call, {"function"});
    if (!function) continue;
    const Json* arguments = Find(*function, {"arguments"});
    std::string text;
    if (arguments) {
      text = arguments->is_string() ? arguments->get<std::string>() : arguments->dump();
    }
    read.AddWhole(StringOr(call, "id"), StringOr(*function, "name"), std::move(text));
  }
  return read.Take();
}

Result<Json> ArgumentsObject(const ToolCall& call) {
  if (call.arguments.empty()) return Json::object();
  Json arguments = Json::parse(call.arguments, nullptr, /*allow_exceptions=*/false);
  if (!arguments.is_object()) {
    return InvalidArgumentError("the arguments of tool call '" + call.id +
                                "' must be a JSON object for this provider type");
  }
  return arguments;
}

std::string CalledFunction(const std::vector<ChatMessage>& messages,
                           const std::string& tool_call_id) {
  for (const ChatMessage& m : messages) {
    for (const ToolCall& call : m.tool_calls) {
      if (call.id == tool_call_id) return call.name;
    }
  }
  return "";
}

namespace {

float LogprobOf(const Json& entry) {
  const Json* value = Find(entry, {"logprob"});
  return value && value->is_number() ? value->get<float>() : 0.0f;
}

}  // namespace

void ReadLogprobs(const Json& logprobs, std::vector<TokenLogprob>* out) {
  if (const Json* content = Find(logprobs, {"content"}); content && content->is_array()) {
    for (const Json& entry : *content) {
      TokenLogprob token{.token = StringOr(entry, "token"), .logprob = LogprobOf(entry)};
      if (const Json* top = Find(entry, {"top_logprobs"}); top && top->is_array()) {
        for (const Json& alt : *top) token.top.emplace_back(StringOr(alt, "token"), LogprobOf(alt));
      }
      out->push_back(std::move(token));
    }
    return;
  }
  const Json* tokens = Find(logprobs, {"tokens"});
  const Json* values = Find(logprobs, {"token_logprobs"});
  if (!tokens || !values || !tokens->is_array() || !values->is_array()) return;
  const Json* tops = Find(logprobs, {"top_logprobs"});
  for (size_t i = 0; i < tokens->size() && i < values->size(); ++i) {
    TokenLogprob token;
    if ((*tokens)[i].is_string()) token.token = (*tokens)[i].get<std::string>();
    if ((*values)[i].is_number()) token.logprob = (*values)[i].get<float>();
    if (tops && tops->is_array() && i < tops->size() && (*tops)[i].is_object()) {
      for (const auto& [text, value] : (*tops)[i].items()) {
        if (value.is_number()) token.top.emplace_back(text, value.get<float>());
      }
      std::sort(token.top.begin(), token.top.end(),
                [](const auto& a, const auto& b) { return a.second > b.second; });
    }
    out->push_back(std::move(token));
  }
}

void StreamedToolCalls::Add(int64_t index, std::string_view id, std::string_view name,
                            std::string_view arguments) {
  ToolCall& call = calls_[index];
  if (!id.empty()) call.id = id;
  if (!name.empty()) call.name = name;
  call.arguments.append(arguments);
}

void StreamedToolCalls::AddWhole(std::string_view id, std::string_view name,
                                 std::string arguments) {
  const int64_t index = calls_.empty() ? 0 : calls_.rbegin()->first + 1;
  calls_[index] = ToolCall{.id = std::string(id), .name = std::string(name),
                           .arguments = std::move(arguments)};
}

std::vector<ToolCall> StreamedToolCalls::Take() {
  std::vector<ToolCall> out;
  for (auto& [index, call] : calls_) {
    if (call.name.empty()) continue;
    if (call.id.empty()) call.id = NewToolCallId();
    if (call.arguments.empty()) call.arguments = "{}";
    out.push_back(std::move(call));
  }
  calls_.clear();
  return out;
}

void StreamedToolCalls::MoveInto(GenerateResult* result) {
  result->tool_calls = Take();
  if (!result->tool_calls.empty() && result->finish_reason == FinishReason::kStop) {
    result->finish_reason = FinishReason::kToolCalls;
  }
}

}  // namespace modelrt::remote
