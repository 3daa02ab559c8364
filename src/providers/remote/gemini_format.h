// Google's Gemini API (https://ai.google.dev/api): POST models/{m}:generateContent, and
// :streamGenerateContent?alt=sse for streams (SSE whose every event is a whole
// GenerateContentResponse, and no [DONE]: the last one carries finishReason), and
// :batchEmbedContents for embeddings (taskType RETRIEVAL_QUERY | RETRIEVAL_DOCUMENT from the
// request's input type). `x-goog-api-key`; base URL https://generativelanguage.googleapis.com/v1beta;
// GET models/{m} is the probe. A 429 carries RetryInfo.retryDelay (net/upstream_error.h reads it).
// System messages go to systemInstruction; the assistant's role is "model". No rerank.
//
// Thread-safety: immutable.
#pragma once

#include "providers/remote/wire_format.h"

namespace modelrt::remote {

class GeminiFormat : public WireFormat {
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
