// Hugging Face text-embeddings-inference (https://huggingface.github.io/text-embeddings-inference):
// POST /embed (`inputs`, `normalize`, `truncate`; the answer is a bare list of vectors),
// POST /rerank (`query`, `texts`, `raw_scores`; a bare list of {index, score}), GET /info as the
// probe. Errors are {error, error_type} with 413, 422, 424 and 429. Bearer authentication when
// the server was started with --api-key. No chat; no default base URL.
//
// Thread-safety: immutable.
#pragma once

#include "providers/remote/wire_format.h"

namespace modelrt::remote {

class TeiFormat : public WireFormat {
 public:
  bool Supports(Task task) const override { return task != Task::kGenerate; }
  std::vector<net::HttpHeader> BaseHeaders(const std::string& api_key) const override;
  std::optional<UpstreamRequest> Probe(const std::string& model) const override;
  Result<UpstreamRequest> Embed(const std::string& model,
                                const EmbedRequest& request) const override;
  Result<EmbedResult> ReadEmbed(std::string_view body, size_t inputs) const override;
  Result<UpstreamRequest> Rerank(const std::string& model,
                                 const RerankRequest& request) const override;
  Result<RerankResult> ReadRerank(std::string_view body, size_t documents) const override;
};

}  // namespace modelrt::remote
