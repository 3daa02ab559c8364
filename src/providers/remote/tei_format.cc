#include "providers/remote/tei_format.h"

#include "providers/remote/answer_json.h"
#include "providers/remote/scored_results.h"

namespace modelrt::remote {

std::vector<net::HttpHeader> TeiFormat::BaseHeaders(const std::string& api_key) const {
  std::vector<net::HttpHeader> headers = {{"content-type", "application/json"},
                                          {"accept", "application/json"}};
  if (!api_key.empty()) headers.push_back({"authorization", "Bearer " + api_key});
  return headers;
}

std::optional<UpstreamRequest> TeiFormat::Probe(const std::string&) const {
  return UpstreamRequest{.method = "GET", .path = "/info"};
}

Result<UpstreamRequest> TeiFormat::Embed(const std::string&, const EmbedRequest& request) const {
  Json inputs = Json::array();
  for (const EmbedInput& in : request.inputs) {
    if (!in.tokens.empty()) {
      inputs.push_back(in.tokens);  // TEI takes token ids as well as text
    } else {
      inputs.push_back(in.text);
    }
  }
  Json body = {{"inputs", std::move(inputs)}};
  if (request.normalize) body["normalize"] = *request.normalize;
  if (request.truncate) body["truncate"] = *request.truncate;
  return UpstreamRequest{.path = "/embed", .body = body.dump()};
}

Result<EmbedResult> TeiFormat::ReadEmbed(std::string_view text, size_t inputs) const {
  MODELRT_ASSIGN_OR_RETURN(Json answer, ParseAnswer(text));
  EmbedResult result;
  MODELRT_ASSIGN_OR_RETURN(result.embeddings, FloatLists(answer, "", inputs));
  return result;
}

Result<UpstreamRequest> TeiFormat::Rerank(const std::string&, const RerankRequest& request) const {
  Json body = {{"query", request.query}, {"texts", request.documents}, {"raw_scores", false}};
  if (request.truncate) body["truncate"] = *request.truncate;
  return UpstreamRequest{.path = "/rerank", .body = body.dump()};
}

Result<RerankResult> TeiFormat::ReadRerank(std::string_view text, size_t documents) const {
  MODELRT_ASSIGN_OR_RETURN(Json answer, ParseAnswer(text));
  RerankResult result;
  MODELRT_ASSIGN_OR_RETURN(result.scores, ScoresByIndex(answer, "", "score", documents));
  return result;
}

}  // namespace modelrt::remote
