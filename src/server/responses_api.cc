#include "server/responses_api.h"

#include <chrono>
#include <utility>

#include "server/json_fields.h"
#include "server/request_id.h"

namespace modelrt::server {
namespace {

std::string Where(std::string_view base, size_t i) {
  return std::string(base) + "[" + std::to_string(i) + "]";
}

// `key` of a request object when it is a string, else `fallback`. (Json::value throws when the
// key holds another type: {"type": 1} must be a 400 naming the field, not an exception.)
std::string StringOr(const Json& object, const char* key, const std::string& fallback = "") {
  const Json* value = FindField(object, key);
  return value && value->is_string() ? value->get<std::string>() : fallback;
}

// A message's or a tool output's content: a string, or text parts (input_text, output_text).
Result<std::string> ContentText(const Json& content, const std::string& where) {
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) return InvalidArgumentError(where + " must be a string or an array of content parts");
  std::string text;
  for (size_t i = 0; i < content.size(); ++i) {
    const Json& part = content[i];
    const std::string at = Where(where, i);
    if (!part.is_object()) return InvalidArgumentError(at + " must be an object");
    const std::string type = StringOr(part, "type");
    if (type == "refusal") continue;  // an earlier answer's refusal says nothing to the model
    if (type != "input_text" && type != "output_text" && type != "text") {
      return InvalidArgumentError(at + ".type \"" + type +
                                  "\" is not supported (input_text and output_text only)");
    }
    MODELRT_ASSIGN_OR_RETURN(std::string value, RequiredString(part, "text", /*allow_empty=*/true));
    text += value;
  }
  return text;
}

// One input item as chat messages: messages as they are, function calls joined onto the
// assistant message before them, call outputs as tool messages.
Status AppendItem(const Json& item, size_t index, Json* messages) {
  const std::string where = Where("input", index);
  if (!item.is_object()) return InvalidArgumentError(where + " must be an object");
  std::string type = StringOr(item, "type");
  if (type.empty() && FindField(item, "role")) type = "message";
  if (type == "message") {
    MODELRT_ASSIGN_OR_RETURN(std::string role, RequiredString(item, "role"));
    if (role != "user" && role != "system" && role != "developer" && role != "assistant") {
      return InvalidArgumentError(where + ".role must be user, system, developer or assistant (got \"" +
                                  role + "\")");
    }
    const Json* content = FindField(item, "content");
    if (!content) return InvalidArgumentError(where + ".content is required");
    MODELRT_ASSIGN_OR_RETURN(std::string text, ContentText(*content, where + ".content"));
    messages->push_back({{"role", role}, {"content", std::move(text)}});
  } else if (type == "function_call") {
    MODELRT_ASSIGN_OR_RETURN(std::string call_id, RequiredString(item, "call_id"));
    MODELRT_ASSIGN_OR_RETURN(std::string name, RequiredString(item, "name"));
    MODELRT_ASSIGN_OR_RETURN(std::string arguments, RequiredString(item, "arguments", true));
    Json call = {{"id", call_id},
                 {"type", "function"},
                 {"function", {{"name", name}, {"arguments", arguments}}}};
    if (messages->empty() || messages->back().value("role", "") != "assistant") {
      messages->push_back({{"role", "assistant"}, {"content", nullptr}, {"tool_calls", Json::array()}});
    }
    Json& assistant = messages->back();
    if (!assistant.contains("tool_calls")) assistant["tool_calls"] = Json::array();
    assistant["tool_calls"].push_back(std::move(call));
  } else if (type == "function_call_output") {
    MODELRT_ASSIGN_OR_RETURN(std::string call_id, RequiredString(item, "call_id"));
    const Json* output = FindField(item, "output");
    if (!output) return InvalidArgumentError(where + ".output is required");
    MODELRT_ASSIGN_OR_RETURN(std::string text, ContentText(*output, where + ".output"));
    messages->push_back({{"role", "tool"}, {"tool_call_id", call_id}, {"content", std::move(text)}});
  } else if (type == "reasoning") {
    // Earlier thinking: templates drop it from past turns; nothing to render it from here.
  } else {
    return InvalidArgumentError(where + ".type \"" + type + "\" is not supported (message, "
                                "function_call, function_call_output, reasoning)");
  }
  return OkStatus();
}

Status TranslateTools(const Json& body, Json* chat) {
  if (const Json* tools = FindField(body, "tools")) {
    if (!tools->is_array()) return InvalidArgumentError("tools must be an array");
    Json out = Json::array();
    for (size_t i = 0; i < tools->size(); ++i) {
      const Json& tool = (*tools)[i];
      const std::string where = Where("tools", i);
      if (!tool.is_object()) return InvalidArgumentError(where + " must be an object");
      const std::string type = StringOr(tool, "type");
      if (type != "function") {
        return InvalidArgumentError(where + ".type: only function tools are supported (got \"" + type + "\")");
      }
      Json function = Json::object();
      for (const char* key : {"name", "description", "parameters", "strict"}) {
        if (const Json* v = FindField(tool, key)) function[key] = *v;
      }
      out.push_back({{"type", "function"}, {"function", std::move(function)}});
    }
    (*chat)["tools"] = std::move(out);
  }
  if (const Json* choice = FindField(body, "tool_choice")) {
    if (choice->is_string()) {
      (*chat)["tool_choice"] = *choice;
    } else if (choice->is_object() && StringOr(*choice, "type") == "function") {
      MODELRT_ASSIGN_OR_RETURN(std::string name, RequiredString(*choice, "name"));
      (*chat)["tool_choice"] = {{"type", "function"}, {"function", {{"name", name}}}};
    } else {
      return InvalidArgumentError("tool_choice must be \"auto\", \"none\", \"required\" or "
                                  "{\"type\": \"function\", \"name\": ...}");
    }
  }
  return OkStatus();
}

// text.format as chat's response_format.
Status TranslateFormat(const Json& body, Json* chat) {
  const Json* text = FindField(body, "text");
  if (!text) return OkStatus();
  if (!text->is_object()) return InvalidArgumentError("text must be an object");
  const Json* format = FindField(*text, "format");
  if (!format) return OkStatus();
  if (!format->is_object()) return InvalidArgumentError("text.format must be an object");
  const std::string type = StringOr(*format, "type");
  if (type == "text") return OkStatus();
  if (type == "json_object") {
    (*chat)["response_format"] = {{"type", "json_object"}};
  } else if (type == "json_schema") {
    const Json* schema = FindField(*format, "schema");
    if (!schema || !schema->is_object()) {
      return InvalidArgumentError("text.format.schema must be a JSON schema object");
    }
    (*chat)["response_format"] = {
        {"type", "json_schema"},
        {"json_schema", {{"name", StringOr(*format, "name", "response")}, {"schema", *schema}}}};
  } else {
    return InvalidArgumentError("text.format.type must be \"text\", \"json_object\" or "
                                "\"json_schema\" (got \"" + type + "\")");
  }
  return OkStatus();
}

Json Usage(const GenerateResult& result) {
  return {{"input_tokens", result.prompt_tokens},
          {"input_tokens_details", {{"cached_tokens", result.cached_tokens}}},
          {"output_tokens", result.completion_tokens},
          {"output_tokens_details", {{"reasoning_tokens", 0}}},
          {"total_tokens", result.prompt_tokens + result.completion_tokens}};
}

Json FunctionCallItem(const ToolCall& call, bool done) {
  return {{"type", "function_call"},
          {"id", "fc_" + call.id},
          {"call_id", call.id},
          {"name", call.name},
          {"arguments", done ? call.arguments : ""},
          {"status", done ? "completed" : "in_progress"}};
}

Json ReasoningItem(const std::string& id, const std::string& text) {
  return {{"type", "reasoning"},
          {"id", id},
          {"summary", Json::array()},
          {"content", Json::array({{{"type", "reasoning_text"}, {"text", text}}})}};
}

Json OutputText(const std::string& text) {
  return {{"type", "output_text"}, {"text", text}, {"annotations", Json::array()}, {"logprobs", Json::array()}};
}

bool Incomplete(const GenerateResult& result) { return result.finish_reason == FinishReason::kLength; }

}  // namespace

Result<Json> ResponsesToChatBody(const Json& body) {
  for (const char* key : {"previous_response_id", "conversation"}) {
    if (FindField(body, key)) {
      return InvalidArgumentError(std::string(key) + ": responses are not stored here; send the "
                                  "whole conversation as input");
    }
  }
  MODELRT_ASSIGN_OR_RETURN(std::optional<bool> background, OptionalBool(body, "background"));
  if (background.value_or(false)) return InvalidArgumentError("background: not supported");
  MODELRT_ASSIGN_OR_RETURN(std::optional<int64_t> top_logprobs, OptionalInt(body, "top_logprobs", 0, 20));
  if (top_logprobs.value_or(0) > 0) return InvalidArgumentError("top_logprobs: not supported on /v1/responses");
  Json chat = Json::object();
  if (const Json* model = FindField(body, "model")) chat["model"] = *model;
  Json messages = Json::array();
  MODELRT_ASSIGN_OR_RETURN(std::optional<std::string> instructions, OptionalString(body, "instructions"));
  if (instructions && !instructions->empty()) messages.push_back({{"role", "system"}, {"content", *instructions}});
  const Json* input = FindField(body, "input");
  if (!input) return InvalidArgumentError("input is required");
  if (input->is_string()) {
    messages.push_back({{"role", "user"}, {"content", *input}});
  } else if (input->is_array()) {
    if (input->empty()) return InvalidArgumentError("input must not be empty");
    for (size_t i = 0; i < input->size(); ++i) {
      MODELRT_RETURN_IF_ERROR(AppendItem((*input)[i], i, &messages));
    }
  } else {
    return InvalidArgumentError("input must be a string or an array of items");
  }
  chat["messages"] = std::move(messages);
  MODELRT_RETURN_IF_ERROR(TranslateTools(body, &chat));
  MODELRT_RETURN_IF_ERROR(TranslateFormat(body, &chat));
  for (const char* key : {"temperature", "top_p", "parallel_tool_calls", "stream"}) {
    if (const Json* v = FindField(body, key)) chat[key] = *v;
  }
  if (const Json* max = FindField(body, "max_output_tokens")) chat["max_completion_tokens"] = *max;
  return chat;
}

Result<GenerationCall> ParseResponsesRequest(const Json& body, const ModelNames& resolver,
                                             const ServerConfig& limits) {
  MODELRT_ASSIGN_OR_RETURN(std::optional<int64_t> max,
                           OptionalInt(body, "max_output_tokens", 1, INT64_MAX));
  if (max && *max > limits.max_tokens_limit) {
    return InvalidArgumentError("max_output_tokens is " + std::to_string(*max) +
                                " but this server allows at most " +
                                std::to_string(limits.max_tokens_limit) + " (server.max_tokens_limit)");
  }
  MODELRT_ASSIGN_OR_RETURN(Json chat, ResponsesToChatBody(body));
  return ParseChatRequest(chat, resolver, limits);
}

ResponsesFormatter::ResponsesFormatter(std::string model, const Json& request)
    : model_(std::move(model)),
      id_(NewResponseId("resp_")),
      message_id_(NewResponseId("msg_")),
      created_at_(std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count()),
      echo_(Json::object()) {
  for (const char* key : {"instructions", "max_output_tokens", "parallel_tool_calls", "temperature",
                          "top_p", "tool_choice", "tools", "text", "metadata", "user"}) {
    if (const Json* v = FindField(request, key)) echo_[key] = *v;
  }
}

Json ResponsesFormatter::Envelope(std::string_view status) const {
  auto echoed = [&](const char* key, Json fallback) {
    auto it = echo_.find(key);
    return it == echo_.end() ? fallback : *it;
  };
  return {{"id", id_},
          {"object", "response"},
          {"created_at", created_at_},
          {"status", status},
          {"error", nullptr},
          {"incomplete_details", nullptr},
          {"instructions", echoed("instructions", nullptr)},
          {"max_output_tokens", echoed("max_output_tokens", nullptr)},
          {"model", model_},
          {"output", Json::array()},
          {"parallel_tool_calls", echoed("parallel_tool_calls", true)},
          {"previous_response_id", nullptr},
          {"reasoning", {{"effort", nullptr}, {"summary", nullptr}}},
          {"store", false},
          {"temperature", echoed("temperature", 1.0)},
          {"text", echoed("text", {{"format", {{"type", "text"}}}})},
          {"tool_choice", echoed("tool_choice", "auto")},
          {"tools", echoed("tools", Json::array())},
          {"top_p", echoed("top_p", 1.0)},
          {"truncation", "disabled"},
          {"usage", nullptr},
          {"user", echoed("user", nullptr)},
          {"metadata", echoed("metadata", Json::object())}};
}

Json ResponsesFormatter::MessageItem(const std::string& text, std::string_view status) const {
  Json content = status == "completed" ? Json::array({OutputText(text)}) : Json::array();
  return {{"type", "message"},
          {"id", message_id_},
          {"status", status},
          {"role", "assistant"},
          {"content", std::move(content)}};
}

Json ResponsesFormatter::Response(const GenerateResult& result) const {
  Json response = Envelope(Incomplete(result) ? "incomplete" : "completed");
  if (Incomplete(result)) response["incomplete_details"] = {{"reason", "max_output_tokens"}};
  Json& output = response["output"];
  if (!result.text.empty() || result.tool_calls.empty()) output.push_back(MessageItem(result.text, "completed"));
  for (const ToolCall& call : result.tool_calls) output.push_back(FunctionCallItem(call, true));
  if (!result.reasoning_content.empty()) {
    output.push_back(ReasoningItem("rs_" + id_.substr(5), result.reasoning_content));
  }
  response["usage"] = Usage(result);
  return response;
}

std::string ResponsesFormatter::Event(std::string_view type, Json data) {
  data["type"] = type;
  data["sequence_number"] = sequence_++;
  return "event: " + std::string(type) + "\ndata: " +
         data.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n\n";
}

// Events are numbered as they are made: one statement each, never two operands of one `+`.
std::string ResponsesFormatter::Created() {
  std::string out = Event("response.created", {{"response", Envelope("in_progress")}});
  out += Event("response.in_progress", {{"response", Envelope("in_progress")}});
  return out;
}

std::string ResponsesFormatter::TextStart() {
  std::string out =
      Event("response.output_item.added", {{"output_index", 0}, {"item", MessageItem("", "in_progress")}});
  out += Event("response.content_part.added",
               {{"item_id", message_id_},
                {"output_index", 0},
                {"content_index", 0},
                {"part", {{"type", "output_text"}, {"text", ""}, {"annotations", Json::array()}}}});
  return out;
}

std::string ResponsesFormatter::TextDelta(std::string_view text) {
  return Event("response.output_text.delta", {{"item_id", message_id_},
                                              {"output_index", 0},
                                              {"content_index", 0},
                                              {"delta", text},
                                              {"logprobs", Json::array()}});
}

std::string ResponsesFormatter::Finish(const GenerateResult& result, bool text_started) {
  std::string out;
  int index = 0;
  if (text_started || result.tool_calls.empty()) {
    if (!text_started) out += TextStart();
    out += Event("response.output_text.done", {{"item_id", message_id_},
                                               {"output_index", 0},
                                               {"content_index", 0},
                                               {"text", result.text},
                                               {"logprobs", Json::array()}});
    out += Event("response.content_part.done", {{"item_id", message_id_},
                                                {"output_index", 0},
                                                {"content_index", 0},
                                                {"part", OutputText(result.text)}});
    out += Event("response.output_item.done", {{"output_index", 0}, {"item", MessageItem(result.text, "completed")}});
    index = 1;
  }
  for (const ToolCall& call : result.tool_calls) {
    const std::string item_id = "fc_" + call.id;
    out += Event("response.output_item.added", {{"output_index", index}, {"item", FunctionCallItem(call, false)}});
    out += Event("response.function_call_arguments.delta",
                 {{"item_id", item_id}, {"output_index", index}, {"delta", call.arguments}});
    out += Event("response.function_call_arguments.done",
                 {{"item_id", item_id}, {"output_index", index}, {"name", call.name}, {"arguments", call.arguments}});
    out += Event("response.output_item.done", {{"output_index", index}, {"item", FunctionCallItem(call, true)}});
    ++index;
  }
  if (!result.reasoning_content.empty()) {
    const Json item = ReasoningItem("rs_" + id_.substr(5), result.reasoning_content);
    out += Event("response.output_item.added", {{"output_index", index}, {"item", item}});
    out += Event("response.output_item.done", {{"output_index", index}, {"item", item}});
  }
  out += Event(Incomplete(result) ? "response.incomplete" : "response.completed", {{"response", Response(result)}});
  return out;
}

std::string ResponsesFormatter::Error(const HttpResponse& openai_shaped) {
  const Json body = Json::parse(openai_shaped.body, nullptr, false);
  const Json* error = body.is_object() ? FindField(body, "error") : nullptr;
  auto field = [&](const char* key) {
    const Json* v = error && error->is_object() ? FindField(*error, key) : nullptr;
    return v ? *v : Json(nullptr);
  };
  Json code = field("code");
  if (code.is_null()) code = field("type");
  return Event("error", {{"code", code}, {"message", field("message")}, {"param", field("param")}});
}

}  // namespace modelrt::server
