#include "providers/remote/anthropic_format.h"

#include "providers/remote/answer_json.h"
#include "providers/remote/sse_chat_stream.h"
#include "providers/remote/tool_json.h"

namespace modelrt::remote {
namespace {

constexpr int kDefaultMaxTokens = 1024;

// Anthropic's input_tokens leaves out the tokens read from and written to its prompt cache.
void ReadInputUsage(const Json& usage, GenerateResult* result) {
  const int64_t read = IntOr(usage, "cache_read_input_tokens", 0);
  result->prompt_tokens =
      IntOr(usage, "input_tokens", 0) + read + IntOr(usage, "cache_creation_input_tokens", 0);
  result->cached_tokens = read;
}

FinishReason ReadStopReason(const Json& value) {
  const std::string reason = value.is_string() ? value.get<std::string>() : "";
  if (reason == "max_tokens") return FinishReason::kLength;
  if (reason == "tool_use") return FinishReason::kToolCalls;
  return FinishReason::kStop;
}

// messages[] in Anthropic's shape: the system prompt apart, an assistant's calls as tool_use
// blocks after its text, and tool results as tool_result blocks of a user turn (consecutive
// results share one, as the API wants turns to alternate).
Result<Json> MessagesJson(const GenerateRequest& request, std::string* system) {
  Json messages = Json::array();
  for (const ChatMessage& m : request.messages) {
    if (m.role == "system") {
      *system += (system->empty() ? "" : "\n\n") + m.content;
    } else if (m.role == "tool") {
      Json result = {{"type", "tool_result"}, {"tool_use_id", m.tool_call_id},
                     {"content", m.content}};
      Json* last = messages.empty() ? nullptr : &messages.back();
      const bool joins = last && (*last)["role"] == "user" && (*last)["content"].is_array() &&
                         !(*last)["content"].empty() &&
                         (*last)["content"].back().value("type", "") == "tool_result";
      if (joins) {
        (*last)["content"].push_back(std::move(result));
      } else {
        messages.push_back({{"role", "user"}, {"content", Json::array({std::move(result)})}});
      }
    } else if (!m.tool_calls.empty()) {
      Json blocks = Json::array();
      if (!m.content.empty()) blocks.push_back({{"type", "text"}, {"text", m.content}});
      for (const ToolCall& call : m.tool_calls) {
        MODELRT_ASSIGN_OR_RETURN(Json input, ArgumentsObject(call));
        blocks.push_back({{"type", "tool_use"},
                          {"id", call.id},
                          {"name", call.name},
                          {"input", std::move(input)}});
      }
      messages.push_back({{"role", m.role}, {"content", std::move(blocks)}});
    } else {
      messages.push_back({{"role", m.role}, {"content", m.content}});
    }
  }
  if (request.messages.empty()) messages.push_back({{"role", "user"}, {"content", request.prompt}});
  return messages;
}

void AddTools(const GenerateRequest& request, Json* body) {
  if (request.tools.empty()) return;
  Json tools = Json::array();
  for (const ToolSpec& tool : request.tools) {
    tools.push_back(FunctionDeclaration(tool, "input_schema"));
  }
  (*body)["tools"] = std::move(tools);
  Json choice;
  switch (request.tool_choice) {
    case ToolChoice::kAuto: choice = {{"type", "auto"}}; break;
    case ToolChoice::kNone: choice = {{"type", "none"}}; break;
    case ToolChoice::kRequired: choice = {{"type", "any"}}; break;
    case ToolChoice::kNamed: choice = {{"type", "tool"}, {"name", request.tool_name}}; break;
  }
  if (!request.parallel_tool_calls && request.tool_choice != ToolChoice::kNone) {
    choice["disable_parallel_tool_use"] = true;
  }
  if (request.tool_choice != ToolChoice::kAuto || !request.parallel_tool_calls) {
    (*body)["tool_choice"] = std::move(choice);
  }
}

Status ErrorEvent(const Json& event) {
  const Json* found = Find(event, {"error"});
  const Json& error = found ? *found : event;
  const std::string message = StringOr(error, "message", error.dump());
  const std::string type = StringOr(error, "type", "error");
  const std::string said = "upstream stream error (" + type + "): " + message.substr(0, 500);
  if (type == "overloaded_error") return UnavailableError(said);
  return UpstreamFailedError(said);
}

class AnthropicChatStream : public SseChatStream {
 public:
  AnthropicChatStream() : SseChatStream("message_stop") {}

 private:
  Status OnEvent(const net::SseEvent& event,
                 const std::function<bool(std::string_view)>& on_piece) override {
    if (event.event == "ping") return OkStatus();
    MODELRT_ASSIGN_OR_RETURN(Json json, ParseAnswer(event.data));
    const std::string type = StringOr(json, "type", event.event);
    if (type == "error") return ErrorEvent(json);
    if (type == "message_start") {
      if (const Json* usage = Find(json, {"message", "usage"})) ReadInputUsage(*usage, &result_);
    } else if (type == "content_block_start") {
      const Json* block = Find(json, {"content_block"});
      if (block && StringOr(*block, "type") == "tool_use") {
        // The input arrives as input_json_delta fragments; the start's "input" is an empty {}.
        tool_calls_.Add(IntOr(json, "index", 0), StringOr(*block, "id"), StringOr(*block, "name"),
                        "");
      }
    } else if (type == "content_block_delta") {
      const Json* delta = Find(json, {"delta"});
      const std::string kind = delta ? StringOr(*delta, "type") : "";
      if (kind == "text_delta") {
        Emit(StringOr(*delta, "text"), on_piece);
      } else if (kind == "input_json_delta") {
        tool_calls_.Add(IntOr(json, "index", 0), "", "", StringOr(*delta, "partial_json"));
      } else if (kind == "thinking_delta") {
        result_.reasoning_content += StringOr(*delta, "thinking");
      }
    } else if (type == "message_delta") {
      if (const Json* stop = Find(json, {"delta", "stop_reason"})) {
        result_.finish_reason = ReadStopReason(*stop);
      }
      if (const Json* delta = Find(json, {"delta"})) {
        result_.stop_sequence = StringOr(*delta, "stop_sequence");
      }
      if (const Json* usage = Find(json, {"usage"})) {
        result_.completion_tokens = IntOr(*usage, "output_tokens", 0);
      }
    } else if (type == "message_stop") {
      ended_ = true;
    }
    return OkStatus();
  }

  Result<GenerateResult> Finish() override {
    MODELRT_ASSIGN_OR_RETURN(GenerateResult result, SseChatStream::Finish());
    tool_calls_.MoveInto(&result);
    return result;
  }

  StreamedToolCalls tool_calls_;
};

}  // namespace

std::vector<net::HttpHeader> AnthropicFormat::BaseHeaders(const std::string& api_key) const {
  std::vector<net::HttpHeader> headers = {{"content-type", "application/json"},
                                          {"accept", "application/json"},
                                          {"anthropic-version", "2023-06-01"}};
  if (!api_key.empty()) headers.push_back({"x-api-key", api_key});
  return headers;
}

std::optional<UpstreamRequest> AnthropicFormat::Probe(const std::string&) const {
  return UpstreamRequest{.method = "GET", .path = "/v1/models"};
}

Result<UpstreamRequest> AnthropicFormat::Chat(const std::string& model,
                                              const GenerateRequest& request, bool stream) const {
  std::string system;
  MODELRT_ASSIGN_OR_RETURN(Json messages, MessagesJson(request, &system));
  Json body = {{"model", model},
               {"max_tokens", request.max_tokens > 0 ? request.max_tokens : kDefaultMaxTokens},
               {"messages", std::move(messages)}};
  if (!system.empty()) body["system"] = system;
  body["temperature"] = request.sampling.temperature;
  if (request.sampling.top_p < 1) body["top_p"] = request.sampling.top_p;
  if (!request.stop.empty()) body["stop_sequences"] = request.stop;
  AddTools(request, &body);
  if (stream) body["stream"] = true;
  return UpstreamRequest{.path = "/v1/messages", .body = body.dump()};
}

Result<GenerateResult> AnthropicFormat::ReadChat(std::string_view text) const {
  MODELRT_ASSIGN_OR_RETURN(Json answer, ParseAnswer(text));
  MODELRT_ASSIGN_OR_RETURN(const Json* content, Member(answer, "content", "content"));
  if (!content->is_array()) return AnswerError("content", "must be a list of blocks");
  GenerateResult result;
  StreamedToolCalls calls;
  for (size_t i = 0; i < content->size(); ++i) {
    const Json& block = (*content)[i];
    const std::string type = StringOr(block, "type");
    if (type == "text") result.text += StringOr(block, "text");
    if (type == "thinking") result.reasoning_content += StringOr(block, "thinking");
    if (type == "tool_use") {
      const Json* input = Find(block, {"input"});
      calls.Add(static_cast<int64_t>(i), StringOr(block, "id"), StringOr(block, "name"),
                input ? input->dump() : "");
    }
  }
  calls.MoveInto(&result);
  if (const Json* stop = Find(answer, {"stop_reason"})) result.finish_reason = ReadStopReason(*stop);
  result.stop_sequence = StringOr(answer, "stop_sequence");
  if (const Json* usage = Find(answer, {"usage"})) {
    ReadInputUsage(*usage, &result);
    result.completion_tokens = IntOr(*usage, "output_tokens", 0);
  }
  return result;
}

std::unique_ptr<ChatStream> AnthropicFormat::NewChatStream() const {
  return std::make_unique<AnthropicChatStream>();
}

}  // namespace modelrt::remote
