// Cohere's v2 API (https://docs.cohere.com/reference): POST /v2/embed (`texts`, `input_type`
// search_query | search_document, `embedding_types: ["float"]`), /v2/rerank, /v2/chat (SSE events
// message-start, content-start, content-delta, content-end, message-end with finish_reason and
// usage). Bearer authentication; base URL https://api.cohere.com; GET /v1/models is the probe.
//
// Thread-safety: immutable.
#pragma once

#include "providers/remote/wire_format.h"

namespace modelrt::remote {

class CohereFormat : public WireFormat {
 public:
  bool Supports(Task) const override { return true; }
  std::vector<net::HttpHeader> BaseHeaders(const std::string& api_key) const override;
  std::optional<UpstreamRequest> Probe(const std::string& model) const override;
  Result<UpstreamRequest> Embed(const std::string& model,
                                const EmbedRequest& request) const override;
  Result<EmbedResult> ReadEmbed(std::string_view body, size_t inputs) const override;
  Result<UpstreamRequest> Rerank(const std::string& model,
                                 const RerankRequest& request) const override;
  Result<RerankResult> ReadRerank(std::string_view body, size_t documents) const override;
  Result<UpstreamRequest> Chat(const std::string& model, const GenerateRequest& request,
                               bool stream) const override;
  Result<GenerateResult> ReadChat(std::string_view body) const override;
  std::unique_ptr<ChatStream> NewChatStream() const override;
};

}  // namespace modelrt::remote
