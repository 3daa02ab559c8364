#include "providers/remote/ollama_format.h"

#include "net/line_splitter.h"
#include "providers/remote/answer_json.h"
#include "providers/remote/tool_json.h"

namespace modelrt::remote {
namespace {

FinishReason ReadDoneReason(const Json& answer) {
  return StringOr(answer, "done_reason") == "length" ? FinishReason::kLength : FinishReason::kStop;
}

// The text of one answer object: message.content (chat) or response (generate).
std::string AnswerText(const Json& answer) {
  if (const Json* content = Find(answer, {"message", "content"}); content && content->is_string()) {
    return content->get<std::string>();
  }
  return StringOr(answer, "response");
}

// One answer object's thinking and tool calls (each call arrives whole). Ollama says "stop"
// when the model called functions: a reply with calls finished for them.
void ReadMessageExtras(const Json& answer, GenerateResult* result, StreamedToolCalls* calls) {
  const Json* message = Find(answer, {"message"});
  if (!message) return;
  result->reasoning_content += StringOr(*message, "thinking");
  if (const Json* list = Find(*message, {"tool_calls"}); list && list->is_array()) {
    for (ToolCall& call : ReadOpenAiToolCalls(*list)) {
      calls->AddWhole("", call.name, std::move(call.arguments));  // Ollama's ids are per answer
    }
  }
}

void ReadCounts(const Json& answer, GenerateResult* result) {
  result->prompt_tokens = IntOr(answer, "prompt_eval_count", result->prompt_tokens);
  result->completion_tokens = IntOr(answer, "eval_count", result->completion_tokens);
}

class OllamaChatStream : public ChatStream {
 public:
  Status Feed(std::string_view chunk,
              const std::function<bool(std::string_view)>& on_piece) override {
    Status status;
    MODELRT_RETURN_IF_ERROR(lines_.Feed(chunk, [&](std::string_view line) {
      if (!status.ok() || ended_) return;
      status = OnLine(line, on_piece);
    }));
    return status;
  }
  bool ended() const override { return ended_; }
  Result<GenerateResult> Finish() override {
    if (!ended_) {
      if (std::optional<std::string> last = lines_.Finish()) {
        MODELRT_RETURN_IF_ERROR(OnLine(*last, [](std::string_view) { return true; }));
      }
    }
    if (!ended_) return UpstreamFailedError("upstream stream ended before its done line");
    GenerateResult result = result_;
    tool_calls_.MoveInto(&result);
    return result;
  }

 private:
  Status OnLine(std::string_view line, const std::function<bool(std::string_view)>& on_piece) {
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) return OkStatus();
    MODELRT_ASSIGN_OR_RETURN(Json json, ParseAnswer(line));
    if (const Json* error = Find(json, {"error"})) {
      return UpstreamFailedError("upstream stream error: " +
                                 (error->is_string() ? error->get<std::string>() : error->dump()));
    }
    ReadMessageExtras(json, &result_, &tool_calls_);
    const std::string piece = AnswerText(json);
    if (!piece.empty()) {
      result_.text += piece;
      if (!on_piece(piece)) {
        result_.finish_reason = FinishReason::kCancelled;
        ended_ = true;
        return OkStatus();
      }
    }
    if (const Json* done = Find(json, {"done"}); done && done->is_boolean() && done->get<bool>()) {
      result_.finish_reason = ReadDoneReason(json);
      ReadCounts(json, &result_);
      ended_ = true;
    }
    return OkStatus();
  }

  net::LineSplitter lines_;
  GenerateResult result_;
  StreamedToolCalls tool_calls_;
  bool ended_ = false;
};

}  // namespace

std::vector<net::HttpHeader> OllamaFormat::BaseHeaders(const std::string& api_key) const {
  std::vector<net::HttpHeader> headers = {{"content-type", "application/json"}};
  if (!api_key.empty()) headers.push_back({"authorization", "Bearer " + api_key});
  return headers;
}

std::optional<UpstreamRequest> OllamaFormat::Probe(const std::string&) const {
  return UpstreamRequest{.method = "GET", .path = "/api/tags"};
}

Result<UpstreamRequest> OllamaFormat::Embed(const std::string& model,
                                            const EmbedRequest& request) const {
  Json input = Json::array();
  for (const EmbedInput& in : request.inputs) {
    if (!in.tokens.empty()) return InvalidArgumentError("Ollama embeds text, not token ids");
    input.push_back(in.text);
  }
  Json body = {{"model", model}, {"input", std::move(input)}};
  if (request.truncate) body["truncate"] = *request.truncate;
  return UpstreamRequest{.path = "/api/embed", .body = body.dump()};
}

Result<EmbedResult> OllamaFormat::ReadEmbed(std::string_view text, size_t inputs) const {
  MODELRT_ASSIGN_OR_RETURN(Json answer, ParseAnswer(text));
  MODELRT_ASSIGN_OR_RETURN(const Json* embeddings, Member(answer, "embeddings", "embeddings"));
  EmbedResult result;
  MODELRT_ASSIGN_OR_RETURN(result.embeddings, FloatLists(*embeddings, "embeddings", inputs));
  result.prompt_tokens = IntOr(answer, "prompt_eval_count", 0);
  return result;
}

Result<UpstreamRequest> OllamaFormat::Chat(const std::string& model,
                                           const GenerateRequest& request, bool stream) const {
  Json options = {{"temperature", request.sampling.temperature},
                  {"top_p", request.sampling.top_p},
                  {"top_k", request.sampling.top_k}};
  if (request.sampling.seed) options["seed"] = *request.sampling.seed;
  if (request.max_tokens > 0) options["num_predict"] = request.max_tokens;
  if (!request.stop.empty()) options["stop"] = request.stop;
  Json body = {{"model", model}, {"stream", stream}, {"options", std::move(options)}};
  if (request.messages.empty()) {
    body["prompt"] = request.prompt;
    return UpstreamRequest{.path = "/api/generate", .body = body.dump()};
  }
  Json messages = Json::array();
  for (const ChatMessage& m : request.messages) {
    Json message = {{"role", m.role}, {"content", m.content}};
    if (!m.tool_calls.empty()) {
      Json calls = Json::array();
      for (const ToolCall& call : m.tool_calls) {
        MODELRT_ASSIGN_OR_RETURN(Json arguments, ArgumentsObject(call));
        calls.push_back({{"function", {{"name", call.name}, {"arguments", std::move(arguments)}}}});
      }
      message["tool_calls"] = std::move(calls);
    }
    if (m.role == "tool") {
      const std::string name = m.name.empty() ? CalledFunction(request.messages, m.tool_call_id)
                                              : m.name;
      if (!name.empty()) message["tool_name"] = name;
    }
    messages.push_back(std::move(message));
  }
  body["messages"] = std::move(messages);
  if (!request.tools.empty() && request.tool_choice != ToolChoice::kNone) {
    // Ollama's API has no tool_choice: what it cannot be told, it is not sent.
    if (request.tool_choice != ToolChoice::kAuto) {
      return InvalidArgumentError(
          "tool_choice 'required' or a named function is not offered by this provider type "
          "(Ollama's API has no tool_choice)");
    }
    body["tools"] = OpenAiTools(request.tools);
  }
  return UpstreamRequest{.path = "/api/chat", .body = body.dump()};
}

Result<GenerateResult> OllamaFormat::ReadChat(std::string_view text) const {
  MODELRT_ASSIGN_OR_RETURN(Json answer, ParseAnswer(text));
  if (const Json* error = Find(answer, {"error"})) {
    return UpstreamFailedError("upstream error: " +
                               (error->is_string() ? error->get<std::string>() : error->dump()));
  }
  GenerateResult result;
  result.text = AnswerText(answer);
  result.finish_reason = ReadDoneReason(answer);
  ReadCounts(answer, &result);
  StreamedToolCalls calls;
  ReadMessageExtras(answer, &result, &calls);
  calls.MoveInto(&result);
  return result;
}

std::unique_ptr<ChatStream> OllamaFormat::NewChatStream() const {
  return std::make_unique<OllamaChatStream>();
}

}  // namespace modelrt::remote
