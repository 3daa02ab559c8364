// The OpenAI API as OpenAI documents it, and as the servers that copy it speak it (llama-server,
// vLLM, LocalAI, Mistral): /embeddings, /chat/completions (SSE with stream_options.include_usage),
// /completions for a bare prompt, /rerank where the server has one (llama-server, Jina), and
// GET /models as the probe. Bearer authentication.
//
// Dialects of the same wire format:
// - Azure OpenAI (`azure-openai`): other paths and another header,
//   {base}/openai/deployments/{deployment}/{embeddings|chat/completions}?api-version=..., with
//   `api-key: KEY`; the alias's `model` names the deployment. No rerank.
// - Mistral: OpenAI's shapes at https://api.mistral.ai/v1. No rerank.
// - Voyage (https://docs.voyageai.com/reference): /embeddings with `input_type` query | document
//   (no encoding_format), /rerank with `top_k`, ranked results under `data`. No chat.
// - Jina (https://api.jina.ai/v1): /embeddings with `task` retrieval.query | retrieval.passage
//   when the request says which, /rerank as llama-server's. No chat.
//
// Only OpenAI's own request fields are sent (temperature, top_p, seed, stop, max_tokens): OpenAI
// refuses fields it does not know, and the servers that copy it read these the same way.
//
// Thread-safety: immutable.
#pragma once

#include "providers/remote/wire_format.h"

namespace modelrt::remote {

class OpenAiFormat : public WireFormat {
 public:
  enum class Kind { kOpenAi, kAzure, kMistral, kVoyage, kJina };
  struct Dialect {
    Kind kind = Kind::kOpenAi;
    std::string api_version;  // Azure's api-version query parameter
  };
  OpenAiFormat() = default;
  explicit OpenAiFormat(Dialect dialect) : dialect_(std::move(dialect)) {}

  bool Supports(Task task) const override;
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
  bool CarriesLogprobs() const override;

 private:
  // The path of `route` ("/embeddings") for `model`, in this dialect.
  std::string Path(const std::string& model, const std::string& route) const;
  const Dialect dialect_;
};

}  // namespace modelrt::remote
