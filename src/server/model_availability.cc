#include "server/model_availability.h"

namespace modelrt::server {

Status EnsureLoaded(const ModelHandle& handle) {
  Result<ModelInfo> loaded = handle.Load();
  if (loaded) return OkStatus();
  const Status& error = loaded.error();
  // The client's own limits, and an alias removed meanwhile (still the client's 404).
  if (error.code() == StatusCode::kCancelled || error.code() == StatusCode::kDeadlineExceeded ||
      (error.code() == StatusCode::kNotFound && error.message().rfind("unknown model", 0) == 0)) {
    return error;
  }
  return UnavailableError("model '" + handle.alias() +
                          "' is not available: it failed to load (the server log has the cause)");
}

}  // namespace modelrt::server
