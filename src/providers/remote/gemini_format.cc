#include "providers/remote/gemini_format.h"

#include "providers/remote/answer_json.h"
#include "providers/remote/sse_chat_stream.h"
#include "providers/remote/tool_json.h"

namespace modelrt::remote {
namespace {

Json TextParts(const std::string& text) { return Json::array({{{"text", text}}}); }

FinishReason ReadFinish(const std::string& reason) {
  return reason == "MAX_TOKENS" ? FinishReason::kLength : FinishReason::kStop;
}

// One GenerateContentResponse: its text (the first candidate's parts), thoughts, function calls
// (each arrives whole, in a part of its own), finish reason and usage. Returns the text; sets
// `finished` when the candidate says why it stopped.
std::string ReadResponse(const Json& answer, GenerateResult* result, StreamedToolCalls* calls,
                         bool* finished) {
  std::string text;
  const Json* candidates = Find(answer, {"candidates"});
  if (candidates && candidates->is_array() && !candidates->empty()) {
    const Json& first = (*candidates)[0];
    if (const Json* parts = Find(first, {"content", "parts"}); parts && parts->is_array()) {
      for (const Json& part : *parts) {
        if (const Json* call = Find(part, {"functionCall"})) {
          const Json* args = Find(*call, {"args"});
          calls->AddWhole(StringOr(*call, "id"), StringOr(*call, "name"),
                          args ? args->dump() : "");
        } else if (const Json* thought = Find(part, {"thought"}); thought && *thought == true) {
          result->reasoning_content += StringOr(part, "text");
        } else {
          text += StringOr(part, "text");
        }
      }
    }
    const std::string reason = StringOr(first, "finishReason");
    if (!reason.empty()) {
      result->finish_reason = ReadFinish(reason);
      *finished = true;
    }
  }
  if (const Json* usage = Find(answer, {"usageMetadata"})) {
    result->prompt_tokens = IntOr(*usage, "promptTokenCount", result->prompt_tokens);
    result->completion_tokens = IntOr(*usage, "candidatesTokenCount", result->completion_tokens);
    result->cached_tokens = IntOr(*usage, "cachedContentTokenCount", result->cached_tokens);
  }
  return text;
}


// No terminal event: the stream ends with its body (read to the end, for keep-alive), and the
// last response carries the finishReason that says it was whole.
class GeminiChatStream : public SseChatStream {
 public:
  GeminiChatStream() : SseChatStream("a finishReason") {}
 private:
  Status OnEvent(const net::SseEvent& event,
                 const std::function<bool(std::string_view)>& on_piece) override {
    MODELRT_ASSIGN_OR_RETURN(Json json, ParseAnswer(event.data));
    if (const Json* error = Find(json, {"error"})) {
      return UpstreamFailedError("upstream stream error: " + StringOr(*error, "message", error->dump()));
    }
    Emit(ReadResponse(json, &result_, &tool_calls_, &finished_), on_piece);
    return OkStatus();
  }

  Result<GenerateResult> Finish() override {
    if (!finished_ && !ended_) {
      return UpstreamFailedError("upstream stream ended before a finishReason");
    }
    GenerateResult result = result_;
    tool_calls_.MoveInto(&result);
    return result;
  }

  StreamedToolCalls tool_calls_;
  bool finished_ = false;
};

// contents[] in Gemini's shape: the system prompt apart, an assistant's calls as functionCall
// parts of a "model" turn, and tool results as functionResponse parts of one user turn (a
// function's response is an object: a result that is not one is wrapped as {"content": ...}).
Json ContentsJson(const GenerateRequest& request, std::string* system) {
  Json contents = Json::array();
  bool in_results = false;  // the last turn holds function responses
  for (const ChatMessage& m : request.messages) {
    if (m.role == "system") {
      *system += (system->empty() ? "" : "\n\n") + m.content;
      in_results = false;
      continue;
    }
    if (m.role == "tool") {
      Json response = Json::parse(m.content, nullptr, /*allow_exceptions=*/false);
      if (!response.is_object()) response = {{"content", m.content}};
      const std::string name = m.name.empty() ? CalledFunction(request.messages, m.tool_call_id)
                                              : m.name;
      Json part = {{"functionResponse", {{"name", name}, {"response", std::move(response)}}}};
      if (!in_results) contents.push_back({{"role", "user"}, {"parts", Json::array()}});
      contents.back()["parts"].push_back(std::move(part));
      in_results = true;
      continue;
    }
    in_results = false;
    Json parts = m.content.empty() && !m.tool_calls.empty() ? Json::array() : TextParts(m.content);
    for (const ToolCall& call : m.tool_calls) {
      Json args = Json::parse(call.arguments, nullptr, /*allow_exceptions=*/false);
      if (!args.is_object()) args = Json::object();
      Json function = {{"name", call.name}, {"args", std::move(args)}};
      parts.push_back({{"functionCall", std::move(function)}});
    }
    contents.push_back(
        {{"role", m.role == "assistant" ? "model" : "user"}, {"parts", std::move(parts)}});
  }
  if (request.messages.empty()) {
    contents.push_back({{"role", "user"}, {"parts", TextParts(request.prompt)}});
  }
  return contents;
}

void AddTools(const GenerateRequest& request, Json* body) {
  if (request.tools.empty()) return;
  Json declarations = Json::array();
  for (const ToolSpec& tool : request.tools) {
    declarations.push_back(FunctionDeclaration(tool, "parameters"));
  }
  (*body)["tools"] = Json::array({{{"functionDeclarations", std::move(declarations)}}});
  Json config = {{"mode", "AUTO"}};
  if (request.tool_choice == ToolChoice::kNone) config["mode"] = "NONE";
  if (request.tool_choice == ToolChoice::kRequired) config["mode"] = "ANY";
  if (request.tool_choice == ToolChoice::kNamed) {
    config = {{"mode", "ANY"}, {"allowedFunctionNames", Json::array({request.tool_name})}};
  }
  (*body)["toolConfig"] = {{"functionCallingConfig", std::move(config)}};
}

}  // namespace

std::vector<net::HttpHeader> GeminiFormat::BaseHeaders(const std::string& api_key) const {
  std::vector<net::HttpHeader> headers = {{"content-type", "application/json"}};
  if (!api_key.empty()) headers.push_back({"x-goog-api-key", api_key});
  return headers;
}

std::optional<UpstreamRequest> GeminiFormat::Probe(const std::string& model) const {
  return UpstreamRequest{.method = "GET", .path = "/models/" + model};
}

Result<UpstreamRequest> GeminiFormat::Embed(const std::string& model,
                                            const EmbedRequest& request) const {
  Json requests = Json::array();
  for (const EmbedInput& in : request.inputs) {
    if (!in.tokens.empty()) return InvalidArgumentError("Gemini embeds text, not token ids");
    Json one = {{"model", "models/" + model}, {"content", {{"parts", TextParts(in.text)}}}};
    if (request.input_type == EmbedInputType::kQuery) one["taskType"] = "RETRIEVAL_QUERY";
    if (request.input_type == EmbedInputType::kDocument) one["taskType"] = "RETRIEVAL_DOCUMENT";
    requests.push_back(std::move(one));
  }
  Json body = {{"requests", std::move(requests)}};
  return UpstreamRequest{.path = "/models/" + model + ":batchEmbedContents", .body = body.dump()};
}

Result<EmbedResult> GeminiFormat::ReadEmbed(std::string_view text, size_t inputs) const {
  MODELRT_ASSIGN_OR_RETURN(Json answer, ParseAnswer(text));
  MODELRT_ASSIGN_OR_RETURN(const Json* embeddings, Member(answer, "embeddings", "embeddings"));
  if (!embeddings->is_array() || embeddings->size() != inputs) {
    return AnswerError("embeddings", "expected " + std::to_string(inputs) + " embeddings");
  }
  EmbedResult result;
  for (size_t i = 0; i < inputs; ++i) {
    const std::string path = "embeddings[" + std::to_string(i) + "].values";
    MODELRT_ASSIGN_OR_RETURN(const Json* values, Member((*embeddings)[i], "values", path));
    MODELRT_ASSIGN_OR_RETURN(auto v, FloatList(*values, path));
    result.embeddings.push_back(std::move(v));
  }
  return result;
}

Result<UpstreamRequest> GeminiFormat::Chat(const std::string& model,
                                           const GenerateRequest& request, bool stream) const {
  std::string system;
  Json contents = ContentsJson(request, &system);
  Json config = {{"temperature", request.sampling.temperature}, {"topP", request.sampling.top_p}};
  if (request.sampling.top_k > 0) config["topK"] = request.sampling.top_k;
  if (request.sampling.seed) config["seed"] = *request.sampling.seed;
  if (request.max_tokens > 0) config["maxOutputTokens"] = request.max_tokens;
  if (!request.stop.empty()) config["stopSequences"] = request.stop;
  Json body = {{"contents", std::move(contents)}, {"generationConfig", std::move(config)}};
  if (!system.empty()) body["systemInstruction"] = {{"parts", TextParts(system)}};
  AddTools(request, &body);
  const std::string path = "/models/" + model +
                           (stream ? ":streamGenerateContent?alt=sse" : ":generateContent");
  return UpstreamRequest{.path = path, .body = body.dump()};
}

Result<GenerateResult> GeminiFormat::ReadChat(std::string_view text) const {
  MODELRT_ASSIGN_OR_RETURN(Json answer, ParseAnswer(text));
  MODELRT_ASSIGN_OR_RETURN(const Json* candidates, Member(answer, "candidates", "candidates"));
  if (!candidates->is_array() || candidates->empty()) return AnswerError("candidates", "empty");
  GenerateResult result;
  StreamedToolCalls calls;
  bool finished = false;
  result.text = ReadResponse(answer, &result, &calls, &finished);
  calls.MoveInto(&result);
  return result;
}

std::unique_ptr<ChatStream> GeminiFormat::NewChatStream() const {
  return std::make_unique<GeminiChatStream>();
}

}  // namespace modelrt::remote
