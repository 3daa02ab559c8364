#include "modelrt/model.h"

namespace modelrt {

std::string_view ToString(Task task) {
  switch (task) {
    case Task::kEmbed: return "embed";
    case Task::kRerank: return "rerank";
    case Task::kGenerate: return "generate";
  }
  return "unknown";
}

std::string_view ToString(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kCancelled: return "cancelled";
  }
  return "unknown";
}

CallContext CallContext::WithTimeout(std::chrono::milliseconds timeout) {
  CallContext ctx;
  if (timeout.count() > 0) ctx.deadline = Clock::now() + timeout;
  return ctx;
}

Status CallContext::Check() const {
  if (cancelled()) return CancelledError("cancelled");
  if (expired()) return DeadlineExceededError("deadline exceeded");
  return OkStatus();
}

namespace {
constexpr std::string_view kLateStart =
    "overloaded: the request waited its whole queue limit without starting; retry later";
}  // namespace

Status CallContext::CheckStart() const {
  MODELRT_RETURN_IF_ERROR(Check());
  if (Clock::now() >= start_by) return UnavailableError(std::string(kLateStart));
  return OkStatus();
}

bool CallContext::IsLateStart(const Status& status) {
  return status.code() == StatusCode::kUnavailable && status.message() == kLateStart;
}

}  // namespace modelrt
