// Google's Vertex AI (https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest): the
// Gemini API's generateContent and streamGenerateContent?alt=sse shapes (gemini_format.h) under
//   https://{location}-aiplatform.googleapis.com/v1/projects/{project}/locations/{location}/publishers/google
// (the base URL built from the `project` and `location` options; `global` is
// aiplatform.googleapis.com), with an OAuth access token as Bearer, which expires: from
// `token_command` or `token_file`, refreshed by remote/token_source.h. Embeddings go through the
// text-embedding models' :predict:
//   {"instances": [{"content": "...", "task_type": "RETRIEVAL_QUERY"}]}
//   -> {"predictions": [{"embeddings": {"values": [...], "statistics": {"token_count": 6}}}]}
// No probe: the publisher-model path has no cheap GET, and Create has fetched the token already.
//
// Thread-safety: immutable.
#pragma once

#include "providers/remote/gemini_format.h"

namespace modelrt::remote {

class VertexFormat : public GeminiFormat {
 public:
  std::vector<net::HttpHeader> BaseHeaders(const std::string& token) const override;
  std::optional<UpstreamRequest> Probe(const std::string& model) const override;
  Result<UpstreamRequest> Embed(const std::string& model,
                                const EmbedRequest& request) const override;
  Result<EmbedResult> ReadEmbed(std::string_view body, size_t inputs) const override;
};

}  // namespace modelrt::remote
