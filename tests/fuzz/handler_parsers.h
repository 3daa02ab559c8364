// The request parsers that live inside handlers, reached without changing their headers:
//
// - EmbeddingsHandler::Parse and RerankHandler::Parse are private members; an explicit template
//   instantiation may name a private member ([temp.spec.general]: access is not checked there),
//   which hands handler_parsers.cc a pointer to each. The real code runs, over the fake resolver.
// - Ollama's are server::ParseOllamaGenerate and ParseOllamaEmbed (ollama_parsers.cc).
//
//   Status s = fuzz::ParseRerankBody(body, fuzz::RerankShape::kTei);
//
// Thread-safety: free functions over values.
#pragma once

#include <string>

#include "core/json.h"
#include "modelrt/status.h"

namespace modelrt::fuzz {

Status ParseEmbeddingsBody(const std::string& body);

enum class RerankShape { kV1, kCohereV2, kTei };
Status ParseRerankBody(const std::string& body, RerankShape shape);

// POST /api/chat (chat) or /api/generate, and POST /api/embed.
Status ParseOllamaGenerateBody(const Json& body, bool chat);
Status ParseOllamaEmbedBody(const Json& body);

}  // namespace modelrt::fuzz
