// Ollama's API (https://github.com/ollama/ollama/blob/main/docs/api.md): POST /api/embed
// (`input` list; `embeddings` back), /api/chat (messages) and /api/generate (a bare prompt), with
// sampling under `options` (temperature, top_p, top_k, seed, num_predict, stop). Streams are
// NDJSON: one JSON object per line, the last with `done: true`, `done_reason` and the counts; a
// failure mid-stream is an {"error": "..."} line under status 200. 503 when its queue is full.
// GET /api/tags is the probe; the base URL defaults to http://127.0.0.1:11434. No rerank.
//
// Thread-safety: immutable.
#pragma once

#include "providers/remote/wire_format.h"

namespace modelrt::remote {

class OllamaFormat : public WireFormat {
 public:
  bool Supports(Task task) const override { return task != Task::kRerank; }
  std::vector<net::HttpHeader> BaseHeaders(const std::string& api_key) const override;
  std::optional<UpstreamRequest> Probe(const std::string& model) const override;
  Result<UpstreamRequest> Embed(const std::string& model,
                                const EmbedRequest& request) const override;
  Result<EmbedResult> ReadEmbed(std::string_view body, size_t inputs) const override;
  Result<UpstreamRequest> Chat(const std::string& model, const GenerateRequest& request,
                               bool stream) const override;
  Result<GenerateResult> ReadChat(std::string_view body) const override;
  std::unique_ptr<ChatStream> NewChatStream() const override;
};

}  // namespace modelrt::remote
