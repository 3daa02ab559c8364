// Status and Result<T>: the error currency of modelrt.
//
// A Status is a code plus a message; OK costs one enum and an empty string. Result<T> holds a
// value or a non-OK Status, with std::expected-like names so a later move to C++23 is mechanical.
//
//   Result<int> ParsePort(std::string_view s);
//   MODELRT_ASSIGN_OR_RETURN(int port, ParsePort(text));
//   MODELRT_RETURN_IF_ERROR(server.Listen(port));
//
// Thread-safety: value types; distinct objects may be used from distinct threads.
#pragma once

#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace modelrt {

// A subset of Abseil's codes, plus CapabilityMismatch (an alias asked for a task it lacks).
enum class StatusCode {
  kOk = 0,
  kCancelled,
  kUnknown,
  kInvalidArgument,
  kDeadlineExceeded,
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,
  kResourceExhausted,
  kFailedPrecondition,
  kAborted,
  kOutOfRange,
  kUnimplemented,
  kInternal,
  kUnavailable,
  kUnauthenticated,
  kCapabilityMismatch,
  // A remote provider failed, or answered what cannot be used, after its retries (HTTP 502).
  kUpstreamFailed,
  // A remote provider refused our credentials for it (its 401/403): the server's configuration
  // is at fault, not the client's key (HTTP 502).
  kUpstreamAuthFailed,
};

std::string_view ToString(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "NotFound: model 'x' is not in the catalog"
  std::string ToString() const;
  // Returns a copy whose message is "prefix: message".
  Status WithPrefix(std::string_view prefix) const;
  void IgnoreError() const {}

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status OkStatus() { return Status(); }
inline Status CancelledError(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
inline Status InvalidArgumentError(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status DeadlineExceededError(std::string m) { return {StatusCode::kDeadlineExceeded, std::move(m)}; }
inline Status NotFoundError(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExistsError(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status PermissionDeniedError(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }
inline Status ResourceExhaustedError(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
inline Status FailedPreconditionError(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status OutOfRangeError(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
inline Status UnimplementedError(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
inline Status InternalError(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status UnavailableError(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status UnauthenticatedError(std::string m) { return {StatusCode::kUnauthenticated, std::move(m)}; }
inline Status CapabilityMismatchError(std::string m) { return {StatusCode::kCapabilityMismatch, std::move(m)}; }
inline Status UpstreamFailedError(std::string m) { return {StatusCode::kUpstreamFailed, std::move(m)}; }
inline Status UpstreamAuthFailedError(std::string m) { return {StatusCode::kUpstreamAuthFailed, std::move(m)}; }

// Retryable errors are transient: a later identical call may succeed.
bool IsRetryable(const Status& status);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(const T& value) : v_(value) {}             // NOLINT: implicit by design
  Result(T&& value) : v_(std::move(value)) {}       // NOLINT
  Result(const Status& status) : v_(status) { CheckNotOk(); }  // NOLINT
  Result(Status&& status) : v_(std::move(status)) { CheckNotOk(); }  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  bool ok() const { return has_value(); }
  explicit operator bool() const { return has_value(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // The error; OK when a value is held.
  Status error() const { return has_value() ? Status() : std::get<1>(v_); }
  Status status() const { return error(); }

 private:
  void CheckNotOk() const {
    if (std::get<1>(v_).ok()) std::abort();  // An OK status carries no value: a bug.
  }
  std::variant<T, Status> v_;
};

namespace internal {
inline const Status& AsStatus(const Status& s) { return s; }
template <typename T>
Status AsStatus(const Result<T>& r) { return r.error(); }
}  // namespace internal

}  // namespace modelrt

#define MODELRT_CONCAT_INNER_(a, b) a##b
#define MODELRT_CONCAT_(a, b) MODELRT_CONCAT_INNER_(a, b)

#define MODELRT_RETURN_IF_ERROR(expr)                                      \
  do {                                                                     \
    auto&& modelrt_status_ = (expr);                                       \
    if (!modelrt_status_.ok()) return ::modelrt::internal::AsStatus(modelrt_status_); \
  } while (0)

#define MODELRT_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.has_value()) return tmp.error();            \
  lhs = std::move(tmp).value()

#define MODELRT_ASSIGN_OR_RETURN(lhs, expr) \
  MODELRT_ASSIGN_OR_RETURN_IMPL_(MODELRT_CONCAT_(modelrt_result_, __LINE__), lhs, expr)
