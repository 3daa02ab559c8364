// Ollama's request parsers (server/ollama_api.h: the handler's own parsing, up to admission).
#include "fuzz_support.h"
#include "handler_parsers.h"
#include "server/ollama_api.h"
#include "server/work_estimate.h"

namespace modelrt::fuzz {

Status ParseOllamaGenerateBody(const Json& body, bool chat) {
  Result<server::GenerationCall> call = server::ParseOllamaGenerate(body, chat, Resolver(), Limits());
  if (!call) return call.error();
  (void)server::EstimateWork(call->request);
  return OkStatus();
}

Status ParseOllamaEmbedBody(const Json& body) {
  EmbedRequest request;
  Result<ResolvedModel> model = server::ParseOllamaEmbed(body, Resolver(), Limits(), &request);
  if (!model) return model.error();
  (void)server::EstimateWork(request);
  return OkStatus();
}

}  // namespace modelrt::fuzz
