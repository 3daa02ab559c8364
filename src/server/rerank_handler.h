// Rerank in three wire shapes, one engine call:
//
//   POST /v1/rerank  {model, query, documents: [str | {text}], top_n, return_documents}
//                    -> {id, model, results: [{index, relevance_score, document?}], usage}
//   POST /v2/rerank  Cohere v2: {model, query, documents: [str], top_n, max_tokens_per_doc}
//                    -> {id, results: [{index, relevance_score}], meta}
//   POST /rerank     TEI: {query, texts, raw_scores, return_text, model?}
//                    -> [{index, score, text?}]
//
// Results are sorted best first and cut to top_n by the library (RerankerHandle); this handler
// parses the three shapes and formats the ranking. relevance_score is the engine's score; TEI's `score` is
// sigmoid(score) unless raw_scores is true, as TEI does. A TEI request without `model` uses the
// first rerank model of the catalog.
//
// Thread-safety: stateless between calls; safe from many threads.
#pragma once

#include "server/handler_deps.h"
#include "server/http_message.h"
#include "server/request_context.h"

namespace modelrt::server {

class RerankHandler {
 public:
  enum class Shape { kV1, kCohereV2, kTei };

  RerankHandler(HandlerDeps deps, Shape shape) : deps_(deps), shape_(shape) {}
  HttpResponse operator()(const HttpRequest& request, RequestContext& ctx) const;

 private:
  // What the body asks for, its model resolved.
  struct Call {
    ResolvedModel model;
    RerankRequest request;
    bool raw_scores = false;
  };
  Result<Call> Parse(const HttpRequest& request) const;
  // The response body in this handler's shape.
  HttpResponse Format(RerankResult& result, const std::string& model, bool with_text,
                      bool raw_scores) const;
  HandlerDeps deps_;
  Shape shape_;
};

}  // namespace modelrt::server
