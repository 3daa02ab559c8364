#include "providers/remote/vertex_format.h"

#include "providers/remote/answer_json.h"

namespace modelrt::remote {

std::vector<net::HttpHeader> VertexFormat::BaseHeaders(const std::string& token) const {
  std::vector<net::HttpHeader> headers = {{"content-type", "application/json"}};
  if (!token.empty()) headers.push_back({"authorization", "Bearer " + token});
  return headers;
}

std::optional<UpstreamRequest> VertexFormat::Probe(const std::string&) const {
  return std::nullopt;
}

Result<UpstreamRequest> VertexFormat::Embed(const std::string& model,
                                            const EmbedRequest& request) const {
  Json instances = Json::array();
  for (const EmbedInput& in : request.inputs) {
    if (!in.tokens.empty()) return InvalidArgumentError("Vertex AI embeds text, not token ids");
    Json one = {{"content", in.text}};
    if (request.input_type == EmbedInputType::kQuery) one["task_type"] = "RETRIEVAL_QUERY";
    if (request.input_type == EmbedInputType::kDocument) one["task_type"] = "RETRIEVAL_DOCUMENT";
    instances.push_back(std::move(one));
  }
  Json body = {{"instances", std::move(instances)}};
  return UpstreamRequest{.path = "/models/" + model + ":predict", .body = body.dump()};
}

Result<EmbedResult> VertexFormat::ReadEmbed(std::string_view text, size_t inputs) const {
  MODELRT_ASSIGN_OR_RETURN(Json answer, ParseAnswer(text));
  MODELRT_ASSIGN_OR_RETURN(const Json* predictions, Member(answer, "predictions", "predictions"));
  if (!predictions->is_array() || predictions->size() != inputs) {
    return AnswerError("predictions", "expected " + std::to_string(inputs) + " predictions");
  }
  EmbedResult result;
  for (size_t i = 0; i < inputs; ++i) {
    const std::string path = "predictions[" + std::to_string(i) + "].embeddings";
    const Json* values = Find((*predictions)[i], {"embeddings", "values"});
    if (values == nullptr) return AnswerError(path + ".values", "missing");
    MODELRT_ASSIGN_OR_RETURN(auto v, FloatList(*values, path + ".values"));
    result.embeddings.push_back(std::move(v));
    if (const Json* stats = Find((*predictions)[i], {"embeddings", "statistics"})) {
      result.prompt_tokens += IntOr(*stats, "token_count", 0);
    }
  }
  return result;
}

}  // namespace modelrt::remote
