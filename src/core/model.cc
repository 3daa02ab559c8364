#include "modelrt/model.h"

namespace modelrt {

void CancelSignal::Cancel() {
  std::map<uint64_t, std::function<void()>> run;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (flag_.exchange(true)) return;
    run.swap(callbacks_);
  }
  for (auto& [key, fn] : run) fn();
}

uint64_t CancelSignal::OnCancel(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!flag_.load()) {
      const uint64_t key = next_key_++;
      callbacks_.emplace(key, std::move(fn));
      return key;
    }
  }
  fn();
  return 0;
}

void CancelSignal::Forget(uint64_t key) {
  std::lock_guard<std::mutex> lock(mu_);
  callbacks_.erase(key);
}

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
    case FinishReason::kToolCalls: return "tool_calls";
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
