// The `dimensions` of an embedding request (EmbedRequest::dimensions): checked before the model
// runs, applied to its result. EmbeddingHandle calls both, so every front end (HTTP, CLI, an
// embedding application) gets the same semantics.
//
//   MODELRT_RETURN_IF_ERROR(CheckDimensions(request, model.Info().dimensions, alias));
//   MODELRT_ASSIGN_OR_RETURN(EmbedResult result, model.Embed(request, ctx));
//   ApplyDimensions(request, result);
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "modelrt/model.h"
#include "modelrt/status.h"

namespace modelrt::internal {

// InvalidArgument when request.dimensions is set and below 1, or above `model_dimensions`
// (nullopt: not known yet, only the lower bound is checked). `alias` names the model.
Status CheckDimensions(const EmbedRequest& request, std::optional<int> model_dimensions,
                       std::string_view alias);

// Keeps the first `dimensions` values of `v` and scales them to unit length (a zero vector stays
// zero). Scaling matters: a prefix of a unit vector is shorter than 1, and cosine scores on it
// would not be comparable with those of full vectors.
void TruncateAndNormalize(std::vector<float>& v, size_t dimensions);

// With request.dimensions set: truncates every embedding of `result`, then renormalizes it unless
// the request turned normalization off. A no-op otherwise.
void ApplyDimensions(const EmbedRequest& request, EmbedResult& result);

}  // namespace modelrt::internal
