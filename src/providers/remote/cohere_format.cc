#include "providers/remote/cohere_format.h"

#include "providers/remote/answer_json.h"
#include "providers/remote/sse_chat_stream.h"
#include "providers/remote/scored_results.h"
#include "providers/remote/tool_json.h"

namespace modelrt::remote {
namespace {

FinishReason ReadFinish(const Json& value) {
  const std::string reason = value.is_string() ? value.get<std::string>() : "";
  if (reason == "MAX_TOKENS") return FinishReason::kLength;
  if (reason == "TOOL_CALL") return FinishReason::kToolCalls;
  return FinishReason::kStop;
}

// usage.tokens (what the model read and wrote), else usage.billed_units.
void ReadUsage(const Json& usage, GenerateResult* result) {
  for (const char* key : {"tokens", "billed_units"}) {
    if (const Json* counts = Find(usage, {key}); counts && counts->is_object()) {
      result->prompt_tokens = IntOr(*counts, "input_tokens", 0);
      result->completion_tokens = IntOr(*counts, "output_tokens", 0);
      return;
    }
  }
}

class CohereChatStream : public SseChatStream {
 public:
  CohereChatStream() : SseChatStream("message-end") {}

 private:
  Status OnEvent(const net::SseEvent& event,
                 const std::function<bool(std::string_view)>& on_piece) override {
    MODELRT_ASSIGN_OR_RETURN(Json json, ParseAnswer(event.data));
    const std::string type = StringOr(json, "type", event.event);
    if (type == "content-delta") {
      const Json* text = Find(json, {"delta", "message", "content", "text"});
      if (text && text->is_string()) {
        Emit(text->get<std::string>(), on_piece);
      }
    } else if (type == "tool-plan-delta") {
      const Json* plan = Find(json, {"delta", "message", "tool_plan"});
      if (plan && plan->is_string()) result_.reasoning_content += plan->get<std::string>();
    } else if (type == "tool-call-start" || type == "tool-call-delta") {
      if (const Json* call = Find(json, {"delta", "message", "tool_calls"})) {
        const Json* function = Find(*call, {"function"});
        tool_calls_.Add(IntOr(json, "index", 0), StringOr(*call, "id"),
                        function ? StringOr(*function, "name") : "",
                        function ? StringOr(*function, "arguments") : "");
      }
    } else if (type == "message-end") {
      if (const Json* finish = Find(json, {"delta", "finish_reason"})) {
        result_.finish_reason = ReadFinish(*finish);
      }
      if (const Json* usage = Find(json, {"delta", "usage"})) ReadUsage(*usage, &result_);
      if (const Json* error = Find(json, {"delta", "error"}); error && error->is_string()) {
        return UpstreamFailedError("upstream stream error: " + error->get<std::string>());
      }
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

std::vector<net::HttpHeader> CohereFormat::BaseHeaders(const std::string& api_key) const {
  std::vector<net::HttpHeader> headers = {{"content-type", "application/json"},
                                          {"accept", "application/json"}};
  if (!api_key.empty()) headers.push_back({"authorization", "Bearer " + api_key});
  return headers;
}

std::optional<UpstreamRequest> CohereFormat::Probe(const std::string&) const {
  return UpstreamRequest{.method = "GET", .path = "/v1/models"};
}

Result<UpstreamRequest> CohereFormat::Embed(const std::string& model,
                                            const EmbedRequest& request) const {
  Json texts = Json::array();
  for (const EmbedInput& in : request.inputs) {
    if (!in.tokens.empty()) return InvalidArgumentError("Cohere embeds text, not token ids");
    texts.push_back(in.text);
  }
  // Cohere's v3+ models require an input type; documents are the common case (indexing).
  const char* input_type =
      request.input_type == EmbedInputType::kQuery ? "search_query" : "search_document";
  Json body = {{"model", model},
               {"texts", std::move(texts)},
               {"input_type", input_type},
               {"embedding_types", {"float"}}};
  return UpstreamRequest{.path = "/v2/embed", .body = body.dump()};
}

Result<EmbedResult> CohereFormat::ReadEmbed(std::string_view text, size_t inputs) const {
  MODELRT_ASSIGN_OR_RETURN(Json answer, ParseAnswer(text));
  MODELRT_ASSIGN_OR_RETURN(const Json* embeddings, Member(answer, "embeddings", "embeddings"));
  MODELRT_ASSIGN_OR_RETURN(const Json* floats, Member(*embeddings, "float", "embeddings.float"));
  EmbedResult result;
  MODELRT_ASSIGN_OR_RETURN(result.embeddings, FloatLists(*floats, "embeddings.float", inputs));
  if (const Json* billed = Find(answer, {"meta", "billed_units"})) {
    result.prompt_tokens = IntOr(*billed, "input_tokens", 0);
  }
  return result;
}

Result<UpstreamRequest> CohereFormat::Rerank(const std::string& model,
                                             const RerankRequest& request) const {
  Json body = {{"model", model},
               {"query", request.query},
               {"documents", request.documents},
               {"top_n", request.documents.size()}};
  return UpstreamRequest{.path = "/v2/rerank", .body = body.dump()};
}

Result<RerankResult> CohereFormat::ReadRerank(std::string_view text, size_t documents) const {
  MODELRT_ASSIGN_OR_RETURN(Json answer, ParseAnswer(text));
  MODELRT_ASSIGN_OR_RETURN(const Json* results, Member(answer, "results", "results"));
  RerankResult result;
  MODELRT_ASSIGN_OR_RETURN(result.scores,
                           ScoresByIndex(*results, "results", "relevance_score", documents));
  return result;
}

Result<UpstreamRequest> CohereFormat::Chat(const std::string& model,
                                           const GenerateRequest& request, bool stream) const {
  // v2 chat takes OpenAI's shapes for tools, an assistant's tool_calls and tool messages.
  Json messages = Json::array();
  for (const ChatMessage& m : request.messages) {
    Json message = {{"role", m.role}, {"content", m.content}};
    if (!m.tool_calls.empty()) {
      message.erase("content");
      if (!m.content.empty()) message["tool_plan"] = m.content;
      message["tool_calls"] = OpenAiToolCalls(m.tool_calls);
    }
    if (m.role == "tool") message["tool_call_id"] = m.tool_call_id;
    messages.push_back(std::move(message));
  }
  if (request.messages.empty()) messages.push_back({{"role", "user"}, {"content", request.prompt}});
  Json body = {{"model", model}, {"messages", std::move(messages)}, {"stream", stream}};
  if (!request.tools.empty()) {
    // No named choice in Cohere's API: a named function is the only one offered, and required.
    std::vector<ToolSpec> offered = request.tools;
    if (request.tool_choice == ToolChoice::kNamed) {
      std::erase_if(offered, [&](const ToolSpec& t) { return t.name != request.tool_name; });
    }
    body["tools"] = OpenAiTools(offered);
    if (request.tool_choice == ToolChoice::kNone) body["tool_choice"] = "NONE";
    if (request.tool_choice == ToolChoice::kRequired || request.tool_choice == ToolChoice::kNamed) {
      body["tool_choice"] = "REQUIRED";
    }
  }
  body["temperature"] = request.sampling.temperature;
  if (request.sampling.top_p < 1) body["p"] = request.sampling.top_p;
  if (request.sampling.top_k > 0) body["k"] = request.sampling.top_k;
  if (request.sampling.seed) body["seed"] = *request.sampling.seed;
  if (request.max_tokens > 0) body["max_tokens"] = request.max_tokens;
  if (!request.stop.empty()) body["stop_sequences"] = request.stop;
  return UpstreamRequest{.path = "/v2/chat", .body = body.dump()};
}

Result<GenerateResult> CohereFormat::ReadChat(std::string_view text) const {
  MODELRT_ASSIGN_OR_RETURN(Json answer, ParseAnswer(text));
  MODELRT_ASSIGN_OR_RETURN(const Json* message, Member(answer, "message", "message"));
  GenerateResult result;
  if (const Json* content = Find(*message, {"content"}); content && content->is_array()) {
    for (const Json& block : *content) {
      if (StringOr(block, "type") == "text") result.text += StringOr(block, "text");
    }
  }
  if (const Json* finish = Find(answer, {"finish_reason"})) result.finish_reason = ReadFinish(*finish);
  if (const Json* usage = Find(answer, {"usage"})) ReadUsage(*usage, &result);
  result.reasoning_content = StringOr(*message, "tool_plan");
  if (const Json* calls = Find(*message, {"tool_calls"})) {
    result.tool_calls = ReadOpenAiToolCalls(*calls);
  }
  return result;
}

std::unique_ptr<ChatStream> CohereFormat::NewChatStream() const {
  return std::make_unique<CohereChatStream>();
}

}  // namespace modelrt::remote
