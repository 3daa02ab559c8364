#include "providers/remote/anthropic_format.h"

#include "providers/remote/answer_json.h"
#include "providers/remote/sse_chat_stream.h"

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
  if (value.is_string() && value.get<std::string>() == "max_tokens") return FinishReason::kLength;
  return FinishReason::kStop;
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
    } else if (type == "content_block_delta") {
      const Json* delta = Find(json, {"delta"});
      const Json* text = Find(json, {"delta", "text"});
      if (delta && StringOr(*delta, "type") == "text_delta" && text && text->is_string()) {
        Emit(text->get<std::string>(), on_piece);
      }
    } else if (type == "message_delta") {
      if (const Json* stop = Find(json, {"delta", "stop_reason"})) {
        result_.finish_reason = ReadStopReason(*stop);
      }
      if (const Json* usage = Find(json, {"usage"})) {
        result_.completion_tokens = IntOr(*usage, "output_tokens", 0);
      }
    } else if (type == "message_stop") {
      ended_ = true;
    }
    return OkStatus();
  }
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
  Json messages = Json::array();
  for (const ChatMessage& m : request.messages) {
    if (m.role == "system") {
      system += (system.empty() ? "" : "\n\n") + m.content;
    } else {
      messages.push_back({{"role", m.role}, {"content", m.content}});
    }
  }
  if (request.messages.empty()) messages.push_back({{"role", "user"}, {"content", request.prompt}});
  Json body = {{"model", model},
               {"max_tokens", request.max_tokens > 0 ? request.max_tokens : kDefaultMaxTokens},
               {"messages", std::move(messages)}};
  if (!system.empty()) body["system"] = system;
  body["temperature"] = request.sampling.temperature;
  if (request.sampling.top_p < 1) body["top_p"] = request.sampling.top_p;
  if (!request.stop.empty()) body["stop_sequences"] = request.stop;
  if (stream) body["stream"] = true;
  return UpstreamRequest{.path = "/v1/messages", .body = body.dump()};
}

Result<GenerateResult> AnthropicFormat::ReadChat(std::string_view text) const {
  MODELRT_ASSIGN_OR_RETURN(Json answer, ParseAnswer(text));
  MODELRT_ASSIGN_OR_RETURN(const Json* content, Member(answer, "content", "content"));
  if (!content->is_array()) return AnswerError("content", "must be a list of blocks");
  GenerateResult result;
  for (const Json& block : *content) {
    if (StringOr(block, "type") == "text") result.text += StringOr(block, "text");
  }
  if (const Json* stop = Find(answer, {"stop_reason"})) result.finish_reason = ReadStopReason(*stop);
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
