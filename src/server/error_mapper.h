// The one mapping from Status to an HTTP status and an OpenAI-shaped error body:
//
//   {"error": {"message": "...", "type": "invalid_request_error", "param": null, "code": "..."}}
//
//   if (!result) return ErrorResponse(result.error());          // 4xx/5xx per the table below
//   return ErrorResponse(PayloadTooLargeError(limit));          // errors with no Status code
//
// Status code          HTTP  type                    code
// NotFound             404   invalid_request_error   model_not_found
// InvalidArgument      400   invalid_request_error   invalid_request
// OutOfRange           400   invalid_request_error   invalid_request
// FailedPrecondition   400   invalid_request_error   failed_precondition
// CapabilityMismatch   400   invalid_request_error   unsupported_task
// Unauthenticated      401   invalid_request_error   invalid_api_key   (+ WWW-Authenticate)
// PermissionDenied     403   permission_error        permission_denied
// AlreadyExists        409   invalid_request_error   already_exists
// ResourceExhausted    429   rate_limit_error        queue_full        (+ Retry-After)
// Cancelled            499   invalid_request_error   cancelled         (client closed)
// Unimplemented        501   server_error            unimplemented
// UpstreamFailed       502   server_error            upstream_error
// UpstreamAuthFailed   502   server_error            upstream_auth_failed
// Unavailable          503   server_error            unavailable       (+ Retry-After)
// DeadlineExceeded     504   timeout_error           timeout
// anything else        500   server_error            internal_error
//
// Thread-safety: free functions over values.
#pragma once

#include <functional>

#include <string>
#include <string_view>

#include "core/json.h"
#include "modelrt/status.h"
#include "server/http_message.h"

namespace modelrt::server {

struct ApiError {
  int http_status = 500;
  std::string type;
  std::string code;
  std::string message;
  std::string param;    // the request field at fault; "" = null
  int retry_after_s = 0;  // > 0 adds a Retry-After header
};

// Seconds a client is asked to wait after a 429 or 503.
inline constexpr int kRetryAfterSeconds = 1;

ApiError MapStatus(const Status& status, std::string_view param = {});

// Errors that do not come from a library Status.
ApiError PayloadTooLargeError(int64_t limit_bytes);
ApiError RouteNotFoundError(std::string_view method, std::string_view path);
ApiError MethodNotAllowedError(std::string_view method, std::string_view path);

Json ErrorBody(const ApiError& error);
HttpResponse ErrorResponse(const ApiError& error);

// An error response made in OpenAI's shape (by the helpers here, admission or availability) in
// another API's: `shape` makes the body from its status and message; headers (Retry-After)
// are kept. The front doors that speak Anthropic's and Ollama's APIs answer through it.
HttpResponse ReshapeError(const HttpResponse& openai_shaped,
                          const std::function<Json(int status, const std::string& message)>& shape);
inline HttpResponse ErrorResponse(const Status& status, std::string_view param = {}) {
  return ErrorResponse(MapStatus(status, param));
}

}  // namespace modelrt::server
