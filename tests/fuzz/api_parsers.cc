#include "api_parsers.h"

#include "fuzz_support.h"
#include "fuzz_util.h"
#include "handler_parsers.h"
#include "server/anthropic_messages.h"
#include "server/generation_request.h"
#include "server/json_fields.h"
#include "server/responses_api.h"
#include "server/tool_request.h"
#include "server/work_estimate.h"

namespace modelrt::fuzz {
namespace {

// What every accepted generation request promises the engine.
void CheckCall(const server::GenerationCall& call, const char* door) {
  const ServerConfig& limits = Limits();
  const GenerateRequest& r = call.request;
  auto check = [door](bool ok, const char* what) {
    if (ok) return;
    std::fprintf(stderr, "%s: %s\n", door, what);
    Fail("an accepted request breaks a limit its parser promises");
  };
  check(call.n >= 1 && call.n <= limits.max_choices, "n outside 1..max_choices");
  check(r.max_tokens >= 1 && r.max_tokens <= limits.max_tokens_limit,
        "max_tokens outside 1..max_tokens_limit");
  check(r.stop.size() <= 16, "more than 16 stop strings");
  for (const std::string& s : r.stop) check(!s.empty(), "an empty stop string");
  check(r.top_logprobs >= 0 && r.top_logprobs <= 20, "top_logprobs outside 0..20");
  check(!r.messages.empty() || !r.prompt.empty(), "neither messages nor a prompt");
  check(call.model.task == Task::kGenerate, "a model of another task");
  (void)server::EstimateWork(r);
}

}  // namespace

void RunApiParsers(const std::string& text) {
  Result<Json> parsed = server::ParseJsonObject(text);
  if (!parsed) return;
  const Json& body = *parsed;
  const ModelNames& names = Resolver();
  const ServerConfig& limits = Limits();

  // POST /v1/chat/completions, /apply-template; POST /v1/completions.
  if (auto call = server::ParseChatRequest(body, names, limits)) CheckCall(*call, "chat");
  if (auto call = server::ParseCompletionRequest(body, names, limits)) {
    CheckCall(*call, "completions");
  }
  (void)server::ParseMessages(body);
  GenerateRequest tools_only;
  (void)server::ParseTools(body, &tools_only);

  // POST /v1/responses; the handler's formatter echoes fields of the body.
  (void)server::ResponsesToChatBody(body);
  if (auto call = server::ParseResponsesRequest(body, names, limits)) {
    CheckCall(*call, "responses");
    server::ResponsesFormatter format(call->model.name, body);
    GenerateResult result;
    result.text = "ok";
    (void)format.Response(result).dump();
    (void)format.Created();
    (void)format.Finish(result, /*text_started=*/false);
  }

  // POST /v1/messages (max_tokens required) and /v1/messages/count_tokens.
  for (bool need_max_tokens : {true, false}) {
    if (auto call = server::ParseAnthropicRequest(body, names, limits, need_max_tokens)) {
      CheckCall(*call, "messages");
    }
  }

  // Ollama.
  (void)ParseOllamaGenerateBody(body, /*chat=*/true);
  (void)ParseOllamaGenerateBody(body, /*chat=*/false);
  (void)ParseOllamaEmbedBody(body);

  // Embeddings and rerank parse the text themselves (their handlers' Parse).
  (void)ParseEmbeddingsBody(text);
  (void)ParseRerankBody(text, RerankShape::kV1);
  (void)ParseRerankBody(text, RerankShape::kCohereV2);
  (void)ParseRerankBody(text, RerankShape::kTei);
}

}  // namespace modelrt::fuzz
