// What a rerank request means beyond the model's scores (RerankRequest::top_n and
// ::return_documents): the ranking, best first. RerankerHandle calls both functions, so the HTTP
// shapes and the CLI rank the same way.
//
//   MODELRT_RETURN_IF_ERROR(CheckRanking(request));          // before the model runs
//   MODELRT_ASSIGN_OR_RETURN(RerankResult result, model.Rerank(request, ctx));
//   MODELRT_RETURN_IF_ERROR(RankDocuments(request, result));  // fills result.ranked
//
// Thread-safety: pure functions.
#pragma once

#include "modelrt/model.h"
#include "modelrt/status.h"

namespace modelrt::internal {

// InvalidArgument when request.top_n is set and below 1.
Status CheckRanking(const RerankRequest& request);

// Fills result.ranked: documents by descending score, equal scores in document order (a stable
// sort, so the answer does not depend on the sort's implementation), cut to top_n, with the
// document text when asked. Internal when the model returned a score count other than the
// document count (the ranking would point at the wrong documents).
Status RankDocuments(const RerankRequest& request, RerankResult& result);

}  // namespace modelrt::internal
