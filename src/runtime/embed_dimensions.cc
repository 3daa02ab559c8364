#include "runtime/embed_dimensions.h"

#include <cmath>
#include <string>

namespace modelrt::internal {

Status CheckDimensions(const EmbedRequest& request, std::optional<int> model_dimensions,
                       std::string_view alias) {
  if (!request.dimensions) return OkStatus();
  const int dimensions = *request.dimensions;
  if (dimensions < 1) {
    return InvalidArgumentError("'dimensions' must be at least 1 (got " +
                                std::to_string(dimensions) + ")");
  }
  if (model_dimensions && dimensions > *model_dimensions) {
    return InvalidArgumentError("'dimensions' is " + std::to_string(dimensions) + " but model '" +
                                std::string(alias) + "' has " +
                                std::to_string(*model_dimensions) + " dimensions");
  }
  return OkStatus();
}

void TruncateAndNormalize(std::vector<float>& v, size_t dimensions) {
  if (dimensions < v.size()) v.resize(dimensions);
  double norm = 0;  // in double: a sum of a few thousand squares loses digits in float
  for (float x : v) norm += static_cast<double>(x) * x;
  norm = std::sqrt(norm);
  if (norm > 0) {
    for (float& x : v) x = static_cast<float>(x / norm);
  }
}

void ApplyDimensions(const EmbedRequest& request, EmbedResult& result) {
  if (!request.dimensions || *request.dimensions < 1) return;
  const size_t dimensions = static_cast<size_t>(*request.dimensions);
  const bool normalize = request.normalize.value_or(true);
  for (std::vector<float>& e : result.embeddings) {
    if (normalize) {
      TruncateAndNormalize(e, dimensions);
    } else if (dimensions < e.size()) {
      e.resize(dimensions);
    }
  }
}

}  // namespace modelrt::internal
