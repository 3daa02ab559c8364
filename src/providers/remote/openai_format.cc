#include "providers/remote/openai_format.h"

#include <algorithm>

#include "providers/remote/answer_json.h"
#include "providers/remote/sse_chat_stream.h"
#include "providers/remote/scored_results.h"
#include "providers/remote/tool_json.h"

namespace modelrt::remote {
namespace {

Json MessagesJson(const GenerateRequest& request) {
  Json messages = Json::array();
  for (const ChatMessage& m : request.messages) {
    Json message = {{"role", m.role}, {"content", m.content}};
    if (!m.tool_calls.empty()) {
      // An assistant turn that only called functions has null content in OpenAI's shape.
      if (m.content.empty()) message["content"] = nullptr;
      message["tool_calls"] = OpenAiToolCalls(m.tool_calls);
    }
    if (m.role == "tool") message["tool_call_id"] = m.tool_call_id;
    messages.push_back(std::move(message));
  }
  return messages;
}

// tools, tool_choice and parallel_tool_calls; none of them without tools (OpenAI refuses a
// tool_choice or parallel_tool_calls that has no tools to apply to).
void AddTools(const GenerateRequest& request, Json* body) {
  if (request.tools.empty()) return;
  (*body)["tools"] = OpenAiTools(request.tools);
  switch (request.tool_choice) {
    case ToolChoice::kAuto: break;
    case ToolChoice::kNone: (*body)["tool_choice"] = "none"; break;
    case ToolChoice::kRequired: (*body)["tool_choice"] = "required"; break;
    case ToolChoice::kNamed:
      (*body)["tool_choice"] = {{"type", "function"}, {"function", {{"name", request.tool_name}}}};
      break;
  }
  if (!request.parallel_tool_calls) (*body)["parallel_tool_calls"] = false;
}

// llama-server collects no probabilities at all for top_logprobs 0 (and 20 when it is absent),
// so at least one alternative is asked for; RemoteGenerator trims to what the caller asked.
void AddLogprobs(const GenerateRequest& request, bool chat, Json* body) {
  if (!request.logprobs) return;
  const int alternatives = std::max(1, request.top_logprobs);
  if (chat) {
    (*body)["logprobs"] = true;
    (*body)["top_logprobs"] = alternatives;
  } else {
    (*body)["logprobs"] = alternatives;
  }
}

void AddSampling(const GenerateRequest& request, Json* body) {
  const SamplingParams& s = request.sampling;
  (*body)["temperature"] = s.temperature;
  (*body)["top_p"] = s.top_p;
  if (s.seed) (*body)["seed"] = *s.seed;
  if (request.max_tokens > 0) (*body)["max_tokens"] = request.max_tokens;
  if (!request.stop.empty()) (*body)["stop"] = request.stop;
}

FinishReason ReadFinish(const Json& value) {
  const std::string reason = value.is_string() ? value.get<std::string>() : "";
  if (reason == "length") return FinishReason::kLength;
  if (reason == "tool_calls") return FinishReason::kToolCalls;
  return FinishReason::kStop;
}

void ReadUsage(const Json& answer, GenerateResult* result) {
  auto usage = answer.find("usage");
  if (usage == answer.end() || !usage->is_object()) return;
  result->prompt_tokens = IntOr(*usage, "prompt_tokens", result->prompt_tokens);
  result->completion_tokens = IntOr(*usage, "completion_tokens", result->completion_tokens);
  if (const Json* details = Find(*usage, {"prompt_tokens_details"}))
    result->cached_tokens = IntOr(*details, "cached_tokens", result->cached_tokens);
}

// A choice's text: message.content for chat, text for completions, delta.content in a stream.
std::string ChoiceText(const Json& choice) {
  for (const char* key : {"message", "delta"}) {
    auto it = choice.find(key);
    if (it != choice.end() && it->is_object()) {
      auto content = it->find("content");
      if (content != it->end() && content->is_string()) return content->get<std::string>();
      return {};
    }
  }
  auto text = choice.find("text");
  if (text != choice.end() && text->is_string()) return text->get<std::string>();
  return {};
}

Status StreamError(const Json& error) {
  const std::string message = StringOr(error, "message", error.dump());
  return UpstreamFailedError("upstream stream error: " + message.substr(0, 500));
}

class OpenAiChatStream : public SseChatStream {
 public:
  OpenAiChatStream() : SseChatStream("[DONE]") {}

 private:
  Status OnEvent(const net::SseEvent& event,
                 const std::function<bool(std::string_view)>& on_piece) override {
    if (event.data == "[DONE]") {
      ended_ = true;
      return OkStatus();
    }
    MODELRT_ASSIGN_OR_RETURN(Json json, ParseAnswer(event.data));
    if (const Json* error = Find(json, {"error"})) return StreamError(*error);
    ReadUsage(json, &result_);
    auto choices = json.find("choices");
    if (choices == json.end() || !choices->is_array() || choices->empty()) return OkStatus();
    const Json& choice = (*choices)[0];
    if (const Json* delta = Find(choice, {"delta"})) {
      result_.reasoning_content += StringOr(*delta, "reasoning_content");
      if (const Json* calls = Find(*delta, {"tool_calls"}); calls && calls->is_array()) {
        for (const Json& call : *calls) {
          const Json* function = Find(call, {"function"});
          tool_calls_.Add(IntOr(call, "index", 0), StringOr(call, "id"),
                          function ? StringOr(*function, "name") : "",
                          function ? StringOr(*function, "arguments") : "");
        }
      }
    }
    if (const Json* logprobs = Find(choice, {"logprobs"})) ReadLogprobs(*logprobs, &result_.logprobs);
    if (!Emit(ChoiceText(choice), on_piece)) return OkStatus();
    auto finish = choice.find("finish_reason");
    if (finish != choice.end() && !finish->is_null()) result_.finish_reason = ReadFinish(*finish);
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

bool OpenAiFormat::Supports(Task task) const {
  switch (dialect_.kind) {
    case Kind::kOpenAi: return true;  // /rerank where the server has it (llama-server, vLLM)
    case Kind::kAzure:
    case Kind::kMistral: return task != Task::kRerank;
    case Kind::kVoyage:
    case Kind::kJina: return task != Task::kGenerate;
  }
  return false;
}

std::string OpenAiFormat::Path(const std::string& model, const std::string& route) const {
  if (dialect_.kind != Kind::kAzure) return route;
  return "/openai/deployments/" + model + route + "?api-version=" + dialect_.api_version;
}

std::vector<net::HttpHeader> OpenAiFormat::BaseHeaders(const std::string& api_key) const {
  std::vector<net::HttpHeader> headers = {{"content-type", "application/json"},
                                          {"accept", "application/json"}};
  if (!api_key.empty()) {
    if (dialect_.kind == Kind::kAzure) {
      headers.push_back({"api-key", api_key});
    } else {
      headers.push_back({"authorization", "Bearer " + api_key});
    }
  }
  return headers;
}

std::optional<UpstreamRequest> OpenAiFormat::Probe(const std::string& model) const {
  if (dialect_.kind == Kind::kVoyage || dialect_.kind == Kind::kJina) return std::nullopt;
  if (dialect_.kind == Kind::kAzure) {
    return UpstreamRequest{.method = "GET",
                           .path = "/openai/models?api-version=" + dialect_.api_version};
  }
  return UpstreamRequest{.method = "GET", .path = "/models"};
}

Result<UpstreamRequest> OpenAiFormat::Embed(const std::string& model,
                                            const EmbedRequest& request) const {
  Json input = Json::array();
  for (const EmbedInput& in : request.inputs) {
    if (!in.tokens.empty()) {
      input.push_back(in.tokens);
    } else {
      input.push_back(in.text);
    }
  }
  Json body = {{"model", model}, {"input", std::move(input)}};
  const bool query = request.input_type == EmbedInputType::kQuery;
  const bool given = request.input_type != EmbedInputType::kUnspecified;
  switch (dialect_.kind) {
    case Kind::kVoyage:
      if (given) body["input_type"] = query ? "query" : "document";
      break;
    case Kind::kJina:
      if (given) body["task"] = query ? "retrieval.query" : "retrieval.passage";
      break;
    default:
      body["encoding_format"] = "float";
  }
  return UpstreamRequest{.path = Path(model, "/embeddings"), .body = body.dump()};
}

Result<EmbedResult> OpenAiFormat::ReadEmbed(std::string_view text, size_t inputs) const {
  MODELRT_ASSIGN_OR_RETURN(Json answer, ParseAnswer(text));
  MODELRT_ASSIGN_OR_RETURN(const Json* data, Member(answer, "data", "data"));
  if (!data->is_array() || data->size() != inputs) {
    return AnswerError("data", "expected " + std::to_string(inputs) + " embeddings");
  }
  EmbedResult result;
  result.embeddings.resize(inputs);
  for (size_t i = 0; i < data->size(); ++i) {
    const std::string path = "data[" + std::to_string(i) + "]";
    const Json& item = (*data)[i];
    const size_t index = static_cast<size_t>(IntOr(item, "index", static_cast<int64_t>(i)));
    if (index >= inputs || !result.embeddings[index].empty()) {
      return AnswerError(path + ".index", "out of range or repeated");
    }
    MODELRT_ASSIGN_OR_RETURN(const Json* embedding, Member(item, "embedding", path + ".embedding"));
    MODELRT_ASSIGN_OR_RETURN(result.embeddings[index], FloatList(*embedding, path + ".embedding"));
    if (result.embeddings[index].empty()) return AnswerError(path + ".embedding", "empty");
  }
  if (auto usage = answer.find("usage"); usage != answer.end()) {
    result.prompt_tokens = IntOr(*usage, "prompt_tokens", IntOr(*usage, "total_tokens", 0));
  }
  return result;
}

Result<UpstreamRequest> OpenAiFormat::Rerank(const std::string& model,
                                             const RerankRequest& request) const {
  Json body = {{"model", model}, {"query", request.query}, {"documents", request.documents}};
  body[dialect_.kind == Kind::kVoyage ? "top_k" : "top_n"] = request.documents.size();
  return UpstreamRequest{.path = Path(model, "/rerank"), .body = body.dump()};
}

Result<RerankResult> OpenAiFormat::ReadRerank(std::string_view text, size_t documents) const {
  MODELRT_ASSIGN_OR_RETURN(Json answer, ParseAnswer(text));
  const char* list = dialect_.kind == Kind::kVoyage ? "data" : "results";
  MODELRT_ASSIGN_OR_RETURN(const Json* results, Member(answer, list, list));
  RerankResult result;
  MODELRT_ASSIGN_OR_RETURN(result.scores,
                           ScoresByIndex(*results, list, "relevance_score", documents));
  if (auto usage = answer.find("usage"); usage != answer.end()) {
    result.prompt_tokens = IntOr(*usage, "prompt_tokens", IntOr(*usage, "total_tokens", 0));
  }
  return result;
}

Result<UpstreamRequest> OpenAiFormat::Chat(const std::string& model,
                                           const GenerateRequest& request, bool stream) const {
  Json body = {{"model", model}};
  std::string path;
  if (!request.messages.empty()) {
    body["messages"] = MessagesJson(request);
    path = "/chat/completions";
  } else {
    body["prompt"] = request.prompt;
    path = "/completions";
  }
  AddSampling(request, &body);
  AddTools(request, &body);
  AddLogprobs(request, !request.messages.empty(), &body);
  if (stream) {
    body["stream"] = true;
    body["stream_options"] = {{"include_usage", true}};
  }
  return UpstreamRequest{.path = Path(model, path), .body = body.dump()};
}

Result<GenerateResult> OpenAiFormat::ReadChat(std::string_view text) const {
  MODELRT_ASSIGN_OR_RETURN(Json answer, ParseAnswer(text));
  MODELRT_ASSIGN_OR_RETURN(const Json* choices, Member(answer, "choices", "choices"));
  if (!choices->is_array() || choices->empty()) return AnswerError("choices", "empty");
  const Json& choice = (*choices)[0];
  GenerateResult result;
  result.text = ChoiceText(choice);
  if (const Json* message = Find(choice, {"message"})) {
    result.reasoning_content = StringOr(*message, "reasoning_content");
    if (const Json* calls = Find(*message, {"tool_calls"})) {
      result.tool_calls = ReadOpenAiToolCalls(*calls);
    }
  }
  if (const Json* logprobs = Find(choice, {"logprobs"})) ReadLogprobs(*logprobs, &result.logprobs);
  if (auto finish = choice.find("finish_reason"); finish != choice.end()) {
    result.finish_reason = ReadFinish(*finish);
  }
  ReadUsage(answer, &result);
  return result;
}

bool OpenAiFormat::CarriesLogprobs() const { return true; }

std::unique_ptr<ChatStream> OpenAiFormat::NewChatStream() const {
  return std::make_unique<OpenAiChatStream>();
}

}  // namespace modelrt::remote
