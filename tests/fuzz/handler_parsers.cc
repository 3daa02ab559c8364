#include "handler_parsers.h"

#include "fuzz_support.h"
#include "fuzz_util.h"
#include "server/embeddings_handler.h"
#include "server/rerank_handler.h"
#include "server/work_estimate.h"

namespace modelrt::fuzz {
namespace {

// Tag::Get() returns the member pointer M; the explicit instantiations below are allowed to name
// the private members.
template <typename Tag, auto M>
struct Expose {
  friend constexpr auto Get(Tag) { return M; }
};
struct EmbeddingsParse {
  friend constexpr auto Get(EmbeddingsParse);
};
struct RerankParse {
  friend constexpr auto Get(RerankParse);
};
template struct Expose<EmbeddingsParse, &server::EmbeddingsHandler::Parse>;
template struct Expose<RerankParse, &server::RerankHandler::Parse>;

server::HandlerDeps Deps() {
  server::HandlerDeps deps;
  deps.limits = &Limits();
  deps.resolver = &Resolver();
  return deps;
}

server::HttpRequest Request(const std::string& body) {
  server::HttpRequest request;
  request.method = "POST";
  request.body = body;
  return request;
}

}  // namespace

Status ParseEmbeddingsBody(const std::string& body) {
  static const server::EmbeddingsHandler handler(Deps());
  auto call = (handler.*Get(EmbeddingsParse{}))(Request(body));
  if (!call) return call.error();
  if (call->request.inputs.empty()) Fail("embeddings: a parsed request has no inputs");
  if (call->request.inputs.size() > static_cast<size_t>(Limits().max_batch_inputs) &&
      call->request.inputs.size() != 1) {
    Fail("embeddings: more inputs than server.max_batch_inputs");
  }
  (void)server::EstimateWork(call->request);
  return OkStatus();
}

Status ParseRerankBody(const std::string& body, RerankShape shape) {
  using Shape = server::RerankHandler::Shape;
  static const server::RerankHandler v1(Deps(), Shape::kV1);
  static const server::RerankHandler v2(Deps(), Shape::kCohereV2);
  static const server::RerankHandler tei(Deps(), Shape::kTei);
  const server::RerankHandler& handler =
      shape == RerankShape::kV1 ? v1 : shape == RerankShape::kCohereV2 ? v2 : tei;
  auto call = (handler.*Get(RerankParse{}))(Request(body));
  if (!call) return call.error();
  if (call->request.documents.empty() ||
      call->request.documents.size() > static_cast<size_t>(Limits().max_rerank_documents)) {
    Fail("rerank: a parsed request's documents are outside 1..server.max_rerank_documents");
  }
  (void)server::EstimateWork(call->request.query, call->request.documents);
  return OkStatus();
}

}  // namespace modelrt::fuzz
