#include "server/error_mapper.h"

#include "core/json.h"

namespace modelrt::server {
namespace {

ApiError Make(int http_status, std::string type, std::string code, const Status& status) {
  ApiError e;
  e.http_status = http_status;
  e.type = std::move(type);
  e.code = std::move(code);
  e.message = status.message().empty() ? std::string(ToString(status.code())) : status.message();
  return e;
}

}  // namespace

ApiError MapStatus(const Status& status, std::string_view param) {
  ApiError e;
  switch (status.code()) {
    case StatusCode::kNotFound:
      e = Make(404, "invalid_request_error", "model_not_found", status);
      break;
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
      e = Make(400, "invalid_request_error", "invalid_request", status);
      break;
    case StatusCode::kFailedPrecondition:
      e = Make(400, "invalid_request_error", "failed_precondition", status);
      break;
    case StatusCode::kCapabilityMismatch:
      e = Make(400, "invalid_request_error", "unsupported_task", status);
      break;
    case StatusCode::kUnauthenticated:
      e = Make(401, "invalid_request_error", "invalid_api_key", status);
      break;
    case StatusCode::kPermissionDenied:
      e = Make(403, "permission_error", "permission_denied", status);
      break;
    case StatusCode::kAlreadyExists:
      e = Make(409, "invalid_request_error", "already_exists", status);
      break;
    case StatusCode::kResourceExhausted:
      e = Make(429, "rate_limit_error", "queue_full", status);
      e.retry_after_s = kRetryAfterSeconds;
      break;
    case StatusCode::kCancelled:
      e = Make(499, "invalid_request_error", "cancelled", status);
      break;
    case StatusCode::kUnimplemented:
      e = Make(501, "server_error", "unimplemented", status);
      break;
    case StatusCode::kUnavailable:
      e = Make(503, "server_error", "unavailable", status);
      e.retry_after_s = kRetryAfterSeconds;
      break;
    case StatusCode::kUpstreamFailed:
      e = Make(502, "server_error", "upstream_error", status);
      break;
    case StatusCode::kUpstreamAuthFailed:
      e = Make(502, "server_error", "upstream_auth_failed", status);
      break;
    case StatusCode::kDeadlineExceeded:
      e = Make(504, "timeout_error", "timeout", status);
      break;
    case StatusCode::kOk:  // A bug in the caller; still answer something well-formed.
    default:
      e = Make(500, "server_error", "internal_error", status);
      break;
  }
  e.param = std::string(param);
  return e;
}

ApiError PayloadTooLargeError(int64_t limit_bytes) {
  ApiError e;
  e.http_status = 413;
  e.type = "invalid_request_error";
  e.code = "request_too_large";
  e.message = "request body exceeds the limit of " + std::to_string(limit_bytes) + " bytes";
  return e;
}

ApiError RouteNotFoundError(std::string_view method, std::string_view path) {
  ApiError e;
  e.http_status = 404;
  e.type = "invalid_request_error";
  e.code = "not_found";
  e.message = "no route for " + std::string(method) + " " + std::string(path);
  return e;
}

ApiError MethodNotAllowedError(std::string_view method, std::string_view path) {
  ApiError e;
  e.http_status = 405;
  e.type = "invalid_request_error";
  e.code = "method_not_allowed";
  e.message = "method " + std::string(method) + " is not allowed on " + std::string(path);
  return e;
}

Json ErrorBody(const ApiError& error) {
  Json body = {{"message", error.message},
               {"type", error.type},
               {"param", error.param.empty() ? Json(nullptr) : Json(error.param)},
               {"code", error.code.empty() ? Json(nullptr) : Json(error.code)}};
  return Json{{"error", std::move(body)}};
}

HttpResponse ErrorResponse(const ApiError& error) {
  HttpResponse response = JsonResponse(error.http_status, ErrorBody(error));
  if (error.retry_after_s > 0) response.SetHeader("Retry-After", std::to_string(error.retry_after_s));
  if (error.http_status == 401) response.SetHeader("WWW-Authenticate", "Bearer");
  return response;
}

HttpResponse ReshapeError(const HttpResponse& openai_shaped,
                          const std::function<Json(int status, const std::string& message)>& shape) {
  Json parsed = Json::parse(openai_shaped.body, nullptr, false);
  std::string message = "request failed";
  if (parsed.is_object() && parsed.contains("error") && parsed["error"].is_object())
    message = parsed["error"].value("message", message);
  HttpResponse out = JsonResponse(openai_shaped.status, shape(openai_shaped.status, message));
  for (const auto& [name, value] : openai_shaped.headers.fields()) {
    if (name != "Content-Type" && name != "Content-Length") out.headers.Set(name, value);
  }
  return out;
}

}  // namespace modelrt::server
