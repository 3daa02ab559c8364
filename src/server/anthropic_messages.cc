#include "server/anthropic_messages.h"

#include "server/error_mapper.h"
#include "server/json_fields.h"
#include "server/request_id.h"
#include "server/tool_request.h"

namespace modelrt::server {
namespace {

constexpr size_t kMaxStopSequences = 16;

// The text of a content that is a string or text blocks ("tool_result" contents too).
Result<std::string> TextOf(const Json& content, const std::string& where) {
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) return InvalidArgumentError(where + " must be a string or an array of content blocks");
  std::string text;
  for (size_t i = 0; i < content.size(); ++i) {
    const Json& block = content[i];
    const Json* type = block.is_object() ? FindField(block, "type") : nullptr;
    const Json* value = block.is_object() ? FindField(block, "text") : nullptr;
    if (!type || *type != "text" || !value || !value->is_string()) {
      return InvalidArgumentError(where + "[" + std::to_string(i) + "]: only text blocks are supported here");
    }
    text += value->get<std::string>();
  }
  return text;
}

// One Anthropic message as chat messages: a user message's tool_result blocks become tool
// messages (before its text), an assistant's tool_use blocks its tool calls.
Status AppendMessage(const Json& m, size_t index, std::vector<ChatMessage>* out) {
  const std::string where = "messages[" + std::to_string(index) + "]";
  if (!m.is_object()) return InvalidArgumentError(where + " must be an object");
  MODELRT_ASSIGN_OR_RETURN(std::string role, RequiredString(m, "role"));
  if (role != "user" && role != "assistant") {
    return InvalidArgumentError(where + ".role must be \"user\" or \"assistant\" (got \"" + role + "\")");
  }
  const Json* content = FindField(m, "content");
  if (!content) return InvalidArgumentError(where + ".content is required");
  ChatMessage message{.role = role};
  if (content->is_string()) {
    message.content = content->get<std::string>();
    out->push_back(std::move(message));
    return OkStatus();
  }
  if (!content->is_array()) return InvalidArgumentError(where + ".content must be a string or an array of content blocks");
  for (size_t i = 0; i < content->size(); ++i) {
    const Json& block = (*content)[i];
    const std::string at = where + ".content[" + std::to_string(i) + "]";
    const Json* type = block.is_object() ? FindField(block, "type") : nullptr;
    const std::string kind = type && type->is_string() ? type->get<std::string>() : "";
    if (kind == "text") {
      MODELRT_ASSIGN_OR_RETURN(std::string text, RequiredString(block, "text", /*allow_empty=*/true));
      message.content += text;
    } else if (kind == "tool_use" && role == "assistant") {
      ToolCall call;
      MODELRT_ASSIGN_OR_RETURN(call.id, RequiredString(block, "id"));
      MODELRT_ASSIGN_OR_RETURN(call.name, RequiredString(block, "name"));
      const Json* input = FindField(block, "input");
      if (input && !input->is_object()) return InvalidArgumentError(at + ".input must be an object");
      call.arguments = input ? input->dump() : "{}";
      message.tool_calls.push_back(std::move(call));
    } else if (kind == "tool_result" && role == "user") {
      ChatMessage result{.role = "tool"};
      MODELRT_ASSIGN_OR_RETURN(result.tool_call_id, RequiredString(block, "tool_use_id"));
      if (const Json* c = FindField(block, "content")) {
        MODELRT_ASSIGN_OR_RETURN(result.content, TextOf(*c, at + ".content"));
      }
      out->push_back(std::move(result));
    } else if (kind == "thinking" || kind == "redacted_thinking") {
      // Earlier thinking is context the template may drop; nothing to render it from here.
    } else {
      return InvalidArgumentError(at + ".type \"" + kind + "\" is not supported here (text, "
                                  "tool_use in assistant messages, tool_result in user messages)");
    }
  }
  if (!message.content.empty() || !message.tool_calls.empty()) out->push_back(std::move(message));
  return OkStatus();
}

Status ParseAnthropicTools(const Json& body, GenerateRequest* request) {
  if (const Json* tools = FindField(body, "tools")) {
    if (!tools->is_array()) return InvalidArgumentError("tools must be an array");
    for (size_t i = 0; i < tools->size(); ++i) {
      const Json& tool = (*tools)[i];
      const std::string where = "tools[" + std::to_string(i) + "]";
      if (!tool.is_object()) return InvalidArgumentError(where + " must be an object");
      if (const Json* type = FindField(tool, "type"); type && *type != "custom") {
        return InvalidArgumentError(where + ".type: only custom tools are supported (got " + type->dump() + ")");
      }
      MODELRT_ASSIGN_OR_RETURN(ToolSpec spec, ParseFunction(tool, where, "input_schema",
                                                            /*schema_required=*/true));
      request->tools.push_back(std::move(spec));
    }
  }
  const Json* choice = FindField(body, "tool_choice");
  if (!choice) return OkStatus();
  if (!choice->is_object()) return InvalidArgumentError("tool_choice must be an object");
  MODELRT_ASSIGN_OR_RETURN(std::string type, RequiredString(*choice, "type"));
  MODELRT_ASSIGN_OR_RETURN(std::optional<bool> no_parallel, OptionalBool(*choice, "disable_parallel_tool_use"));
  request->parallel_tool_calls = !no_parallel.value_or(false);
  if (type == "auto") {
    request->tool_choice = ToolChoice::kAuto;
  } else if (type == "any") {
    request->tool_choice = ToolChoice::kRequired;
  } else if (type == "none") {
    request->tool_choice = ToolChoice::kNone;
  } else if (type == "tool") {
    MODELRT_ASSIGN_OR_RETURN(request->tool_name, RequiredString(*choice, "name"));
    request->tool_choice = ToolChoice::kNamed;
    bool found = false;
    for (const ToolSpec& t : request->tools) found = found || t.name == request->tool_name;
    if (!found) return InvalidArgumentError("tool_choice.name: no tool named '" + request->tool_name + "'");
  } else {
    return InvalidArgumentError("tool_choice.type must be auto, any, tool or none (got \"" + type + "\")");
  }
  if (request->tool_choice != ToolChoice::kNone && request->tool_choice != ToolChoice::kAuto &&
      request->tools.empty()) {
    return InvalidArgumentError("tool_choice needs tools");
  }
  return OkStatus();
}

std::string ErrorType(int status) {
  switch (status) {
    case 400: return "invalid_request_error";
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 503: return "overloaded_error";
    default: return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

Json AnthropicErrorBody(int status, const std::string& message) {
  return {{"type", "error"}, {"error", {{"type", ErrorType(status)}, {"message", message}}}};
}

// Anthropic counts input read from its prompt cache apart from input_tokens.
Json AnthropicUsage(const GenerateResult& result) {
  return {{"input_tokens", result.prompt_tokens - result.cached_tokens},
          {"cache_creation_input_tokens", 0},
          {"cache_read_input_tokens", result.cached_tokens},
          {"output_tokens", result.completion_tokens}};
}

Json ToolUseBlock(const ToolCall& call, bool with_input) {
  Json input = with_input ? Json::parse(call.arguments, nullptr, false) : Json::object();
  if (!input.is_object()) input = Json::object();
  return {{"type", "tool_use"}, {"id", call.id}, {"name", call.name}, {"input", std::move(input)}};
}

}  // namespace

Result<GenerationCall> ParseAnthropicRequest(const Json& body, const ModelNames& resolver,
                                             const ServerConfig& limits, bool need_max_tokens) {
  GenerationCall call;
  MODELRT_ASSIGN_OR_RETURN(std::string name, RequiredString(body, "model"));
  GenerateRequest& r = call.request;
  if (const Json* system = FindField(body, "system")) {
    MODELRT_ASSIGN_OR_RETURN(std::string text, TextOf(*system, "system"));
    if (!text.empty()) r.messages.push_back({.role = "system", .content = std::move(text)});
  }
  const Json* messages = FindField(body, "messages");
  if (!messages || !messages->is_array() || messages->empty()) {
    return InvalidArgumentError("messages must be a non-empty array");
  }
  for (size_t i = 0; i < messages->size(); ++i) {
    MODELRT_RETURN_IF_ERROR(AppendMessage((*messages)[i], i, &r.messages));
  }
  // Thinking blocks are dropped: messages of nothing else leave no chat to answer (an empty
  // request, which the engines are never given through the other doors).
  if (r.messages.empty()) {
    return InvalidArgumentError("messages: nothing to answer (only thinking blocks)");
  }
  MODELRT_ASSIGN_OR_RETURN(call.model, resolver.Resolve(name, Task::kGenerate, "/v1/messages"));
  r.max_tokens = limits.max_tokens_limit;
  MODELRT_RETURN_IF_ERROR(ApplyProfileDefaults(call.model, limits, &r));  // the request's own win
  MODELRT_ASSIGN_OR_RETURN(std::optional<int64_t> max_tokens,
                           OptionalInt(body, "max_tokens", 1, limits.max_tokens_limit));
  if (!max_tokens && need_max_tokens) return InvalidArgumentError("max_tokens: field required");
  if (max_tokens) r.max_tokens = static_cast<int>(*max_tokens);
  MODELRT_ASSIGN_OR_RETURN(std::optional<double> temperature, OptionalNumber(body, "temperature", 0, 1));
  if (temperature) r.sampling.temperature = static_cast<float>(*temperature);
  MODELRT_ASSIGN_OR_RETURN(std::optional<double> top_p, OptionalNumber(body, "top_p", 0, 1));
  if (top_p) r.sampling.top_p = static_cast<float>(*top_p);
  MODELRT_ASSIGN_OR_RETURN(std::optional<int64_t> top_k, OptionalInt(body, "top_k", 0, 1 << 20));
  if (top_k) r.sampling.top_k = static_cast<int>(*top_k);
  if (FindField(body, "stop_sequences")) {
    MODELRT_ASSIGN_OR_RETURN(r.stop, OptionalStringList(body, "stop_sequences", kMaxStopSequences));
  }
  // (FindField, not Json::value: that throws when "type" is not a string.)
  if (const Json* thinking = FindField(body, "thinking"); thinking && thinking->is_object()) {
    if (const Json* type = FindField(*thinking, "type"); type && *type == "enabled") {
      return InvalidArgumentError("thinking: extended thinking budgets are not supported");
    }
  }
  MODELRT_RETURN_IF_ERROR(ParseAnthropicTools(body, &r));
  MODELRT_ASSIGN_OR_RETURN(std::optional<bool> stream, OptionalBool(body, "stream"));
  call.stream = stream.value_or(false);
  call.model.ApplyTo(r);
  return call;
}

HttpResponse AnthropicErrorResponse(HttpResponse openai_shaped) {
  return ReshapeError(openai_shaped, AnthropicErrorBody);
}

std::string_view AnthropicStopReason(const GenerateResult& result) {
  switch (result.finish_reason) {
    case FinishReason::kLength: return "max_tokens";
    case FinishReason::kToolCalls: return "tool_use";
    default: return result.stop_sequence.empty() ? "end_turn" : "stop_sequence";
  }
}

Json AnthropicStopSequence(const GenerateResult& result) {
  if (result.finish_reason != FinishReason::kStop || result.stop_sequence.empty()) return nullptr;
  return result.stop_sequence;
}

AnthropicFormatter::AnthropicFormatter(std::string model)
    : model_(std::move(model)), id_(NewResponseId("msg_")) {}

Json AnthropicFormatter::Message(const GenerateResult& result) const {
  Json content = Json::array();
  if (!result.text.empty() || result.tool_calls.empty())
    content.push_back({{"type", "text"}, {"text", result.text}});
  for (const ToolCall& call : result.tool_calls) content.push_back(ToolUseBlock(call, true));
  return {{"id", id_},
          {"type", "message"},
          {"role", "assistant"},
          {"model", model_},
          {"content", std::move(content)},
          {"stop_reason", AnthropicStopReason(result)},
          {"stop_sequence", AnthropicStopSequence(result)},
          {"usage", AnthropicUsage(result)}};
}

std::string AnthropicFormatter::Event(std::string_view name, const Json& data) {
  return "event: " + std::string(name) + "\ndata: " +
         data.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n\n";
}

std::string AnthropicFormatter::MessageStart(int64_t input_tokens) const {
  Json message = {{"id", id_},
                  {"type", "message"},
                  {"role", "assistant"},
                  {"model", model_},
                  {"content", Json::array()},
                  {"stop_reason", nullptr},
                  {"stop_sequence", nullptr},
                  {"usage", {{"input_tokens", input_tokens}, {"output_tokens", 0}}}};
  return Event("message_start", {{"type", "message_start"}, {"message", std::move(message)}});
}

std::string AnthropicFormatter::TextStart() const {
  return Event("content_block_start",
               {{"type", "content_block_start"}, {"index", 0}, {"content_block", {{"type", "text"}, {"text", ""}}}}) +
         Event("ping", {{"type", "ping"}});
}

std::string AnthropicFormatter::TextDelta(std::string_view text) const {
  return Event("content_block_delta", {{"type", "content_block_delta"},
                                       {"index", 0},
                                       {"delta", {{"type", "text_delta"}, {"text", text}}}});
}

std::string AnthropicFormatter::Finish(const GenerateResult& result, bool text_started) const {
  std::string out;
  int index = 0;
  if (text_started || result.tool_calls.empty()) {
    if (!text_started) out += TextStart();
    out += Event("content_block_stop", {{"type", "content_block_stop"}, {"index", 0}});
    index = 1;
  }
  for (const ToolCall& call : result.tool_calls) {
    out += Event("content_block_start", {{"type", "content_block_start"},
                                         {"index", index},
                                         {"content_block", ToolUseBlock(call, false)}});
    out += Event("content_block_delta",
                 {{"type", "content_block_delta"},
                  {"index", index},
                  {"delta", {{"type", "input_json_delta"}, {"partial_json", call.arguments}}}});
    out += Event("content_block_stop", {{"type", "content_block_stop"}, {"index", index}});
    ++index;
  }
  out += Event("message_delta",
               {{"type", "message_delta"},
                {"delta", {{"stop_reason", AnthropicStopReason(result)},
                           {"stop_sequence", AnthropicStopSequence(result)}}},
                {"usage", AnthropicUsage(result)}});
  out += Event("message_stop", {{"type", "message_stop"}});
  return out;
}

std::string AnthropicFormatter::ErrorEvent(const HttpResponse& openai_shaped) {
  return Event("error", Json::parse(AnthropicErrorResponse(openai_shaped).body));
}

}  // namespace modelrt::server
