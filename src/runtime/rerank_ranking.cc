#include "runtime/rerank_ranking.h"

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

namespace modelrt::internal {

Status CheckRanking(const RerankRequest& request) {
  if (request.top_n && *request.top_n < 1) {
    return InvalidArgumentError("'top_n' must be at least 1 (got " +
                                std::to_string(*request.top_n) + ")");
  }
  return OkStatus();
}

Status RankDocuments(const RerankRequest& request, RerankResult& result) {
  MODELRT_RETURN_IF_ERROR(CheckRanking(request));
  const std::vector<float>& scores = result.scores;
  if (scores.size() != request.documents.size()) {
    return InternalError("the reranker returned " + std::to_string(scores.size()) +
                         " scores for " + std::to_string(request.documents.size()) +
                         " documents");
  }
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  if (request.top_n && static_cast<size_t>(*request.top_n) < order.size()) {
    order.resize(static_cast<size_t>(*request.top_n));
  }
  result.ranked.clear();
  result.ranked.reserve(order.size());
  for (size_t index : order) {
    RankedDocument& ranked = result.ranked.emplace_back();
    ranked.index = index;
    ranked.score = scores[index];
    if (request.return_documents) ranked.document = request.documents[index];
  }
  return OkStatus();
}

}  // namespace modelrt::internal
