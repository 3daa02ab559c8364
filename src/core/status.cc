#include "modelrt/status.h"

namespace modelrt {

std::string_view ToString(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kCancelled: return "Cancelled";
    case StatusCode::kUnknown: return "Unknown";
    case StatusCode::kInvalidArgument: return "InvalidArgument";
    case StatusCode::kDeadlineExceeded: return "DeadlineExceeded";
    case StatusCode::kNotFound: return "NotFound";
    case StatusCode::kAlreadyExists: return "AlreadyExists";
    case StatusCode::kPermissionDenied: return "PermissionDenied";
    case StatusCode::kResourceExhausted: return "ResourceExhausted";
    case StatusCode::kFailedPrecondition: return "FailedPrecondition";
    case StatusCode::kAborted: return "Aborted";
    case StatusCode::kOutOfRange: return "OutOfRange";
    case StatusCode::kUnimplemented: return "Unimplemented";
    case StatusCode::kInternal: return "Internal";
    case StatusCode::kUnavailable: return "Unavailable";
    case StatusCode::kUnauthenticated: return "Unauthenticated";
    case StatusCode::kCapabilityMismatch: return "CapabilityMismatch";
    case StatusCode::kUpstreamFailed: return "UpstreamFailed";
    case StatusCode::kUpstreamAuthFailed: return "UpstreamAuthFailed";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(modelrt::ToString(code_));
  out += ": ";
  out += message_;
  return out;
}

Status Status::WithPrefix(std::string_view prefix) const {
  if (ok()) return *this;
  return Status(code_, std::string(prefix) + ": " + message_);
}

bool IsRetryable(const Status& status) {
  // Unavailable and Aborted are transient by definition; ResourceExhausted here means a full
  // queue, which drains; UpstreamFailed is a remote provider's 5xx or broken answer, which a
  // fallback or a later call may not meet. DeadlineExceeded is not retried: the caller's time is
  // spent.
  switch (status.code()) {
    case StatusCode::kUnavailable:
    case StatusCode::kUpstreamFailed:
    case StatusCode::kAborted:
    case StatusCode::kResourceExhausted:
      return true;
    default:
      return false;
  }
}

}  // namespace modelrt
