#include "server/model_availability.h"

#include "server/error_mapper.h"

namespace modelrt::server {

Status ForApiClient(const ModelRuntime& runtime, const std::string& alias, const Status& error) {
  // The client's own limits, and answers that name no file, pass through.
  switch (error.code()) {
    case StatusCode::kOk:
    case StatusCode::kCancelled:
    case StatusCode::kDeadlineExceeded:
    case StatusCode::kResourceExhausted:
      return error;
    default:
      break;
  }
  Result<ModelStatus> status = runtime.Describe(alias);
  // A load failure leaves the alias not loaded with this error as its last one.
  if (!status || status->state == ModelState::kLoaded || status->last_error.empty() ||
      status->last_error.find(error.message()) == std::string::npos) {
    return error;
  }
  return UnavailableError("model '" + alias +
                          "' is not available: it failed to load (the server log has the cause)");
}

HttpResponse CallFailureResponse(const HandlerDeps& deps, const std::string& alias,
                                 const Status& error) {
  if (CallContext::IsLateStart(error)) return deps.admission->LateStartResponse(alias, error);
  return ErrorResponse(ForApiClient(*deps.runtime, alias, error));
}

}  // namespace modelrt::server
