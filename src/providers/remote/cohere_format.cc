#include "providers/remote/cohere_format.h"

#include "providers/remote/answer_json.h"
#include "providers/remote/sse_chat_stream.h"
#include "providers/remote/scored_results.h"

namespace modelrt::remote {
namespace {

FinishReason ReadFinish(const Json& value) {
  if (value.is_string() && value.get<std::string>() == "MAX_TOKENS") return FinishReason::kLength;
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
  Json messages = Json::array();
  for (const ChatMessage& m : request.messages) {
    messages.push_back({{"role", m.role}, {"content", m.content}});
  }
  if (request.messages.empty()) messages.push_back({{"role", "user"}, {"content", request.prompt}});
  Json body = {{"model", model}, {"messages", std::move(messages)}, {"stream", stream}};
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
  return result;
}

std::unique_ptr<ChatStream> CohereFormat::NewChatStream() const {
  return std::make_unique<CohereChatStream>();
}

}  // namespace modelrt::remote
