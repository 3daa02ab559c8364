#include "server/admission_control.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "server/error_mapper.h"

namespace modelrt::server {
namespace {

// How fast old measurements fade: a rate from a minute ago says little about now.
constexpr double kRateTimeConstantS = 30.0;
// Less busy time than this is too little to divide by.
constexpr double kMinBusySeconds = 0.05;
// Fewer finished requests than this do not make a rate: the first ones of a process ran alone
// or nearly (a generation engine's parallel slots were mostly empty), so their rate says what
// one request takes, not what the engine does under load (the demo's chat has 8 slots).
constexpr int64_t kMinFinished = 8;
constexpr int kMaxRetryAfterS = 3600;

int RetryAfter(double seconds) {
  if (!(seconds > 1)) return 1;
  return static_cast<int>(std::min<double>(std::ceil(seconds), kMaxRetryAfterS));
}

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", s);
  return buf;
}

}  // namespace

AdmissionControl::Ticket& AdmissionControl::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    Release();
    owner_ = other.owner_;
    alias_ = std::move(other.alias_);
    work_ = other.work_;
    other.owner_ = nullptr;
  }
  return *this;
}

void AdmissionControl::Ticket::Release() {
  if (owner_) owner_->Release(alias_, work_);
  owner_ = nullptr;
}

AdmissionControl::AdmissionControl(Options options, MetricsRegistry& metrics)
    : options_([&] {
        options.max_requests = std::max(1, options.max_requests);
        options.max_work = std::max<int64_t>(1, options.max_work);
        options.max_wait = std::max(std::chrono::milliseconds(0), options.max_wait);
        return options;
      }()),
      metrics_(metrics) {}

AdmissionControl::Queue& AdmissionControl::QueueFor(const std::string& alias) {
  Queue& q = queues_[alias];
  if (!q.depth_gauge) {
    q.depth_gauge = &metrics_.GetGauge("modelrt_queue_depth",
                                       "Requests admitted per model, waiting or running",
                                       {{"model", alias}});
    q.work_gauge = &metrics_.GetGauge(
        "modelrt_queue_work", "Estimated work (tokens) admitted per model, waiting or running",
        {{"model", alias}});
    q.wait_gauge = &metrics_.GetGauge(
        "modelrt_queue_estimated_wait_seconds",
        "How long a request admitted now would wait: the work held over the measured rate",
        {{"model", alias}});
    q.last_update = Now();
  }
  return q;
}

void AdmissionControl::Advance(Queue& q, Clock::time_point now) {
  double dt = std::chrono::duration<double>(now - q.last_update).count();
  if (dt <= 0) return;
  q.last_update = now;
  double keep = std::exp(-dt / kRateTimeConstantS);
  q.done_work *= keep;
  // Busy time decays like the work it measured; the time just passed counts in full.
  q.busy_seconds = q.busy_seconds * keep + (q.depth > 0 ? dt : 0);
}

std::optional<double> AdmissionControl::Rate(const Queue& q) {
  if (q.finished < kMinFinished || q.busy_seconds < kMinBusySeconds || q.done_work <= 0) {
    return std::nullopt;
  }
  return q.done_work / q.busy_seconds;
}

void AdmissionControl::Publish(Queue& q) {
  q.depth_gauge->Set(static_cast<double>(q.depth));
  q.work_gauge->Set(static_cast<double>(q.work));
  std::optional<double> rate = Rate(q);
  q.wait_gauge->Set(rate ? static_cast<double>(q.work) / *rate : 0.0);
}

AdmissionControl::Admission AdmissionControl::Admit(const std::string& alias, int64_t work,
                                                    Clock::time_point start_by) {
  work = std::max<int64_t>(1, work);
  MutexLock lock(mu_);
  Queue& q = QueueFor(alias);
  Advance(q, Now());
  Admission out;
  std::optional<double> rate = Rate(q);
  const double wait_s = rate ? static_cast<double>(q.work) / *rate : 0.0;
  if (Clock::now() >= start_by) {
    out.refusal = UnavailableError("model '" + alias + "' is overloaded: the request waited " +
                                   "its whole queue limit in the server before reaching the " +
                                   "model; retry later");
    out.retry_after_s = RetryAfter(wait_s);
    return out;
  }
  if (q.depth >= options_.max_requests) {
    out.refusal = ResourceExhaustedError(
        "model '" + alias + "' has " + std::to_string(q.depth) +
        " requests queued or running (the limit is " + std::to_string(options_.max_requests) +
        "); retry later");
    out.retry_after_s = RetryAfter(wait_s);
    return out;
  }
  if (q.depth > 0 && q.work + work > options_.max_work) {
    out.refusal = ResourceExhaustedError(
        "model '" + alias + "' holds " + std::to_string(q.work) +
        " tokens of queued or running work; this request's " + std::to_string(work) +
        " would pass the limit of " + std::to_string(options_.max_work) + "; retry later");
    // When enough has drained for this request to fit.
    double excess = static_cast<double>(q.work + work - options_.max_work);
    out.retry_after_s = RetryAfter(rate ? excess / *rate : 0.0);
    return out;
  }
  const double max_wait_s = std::chrono::duration<double>(options_.max_wait).count();
  if (options_.max_wait.count() > 0 && q.depth > 0 && wait_s > max_wait_s) {
    out.refusal = UnavailableError("model '" + alias + "' is overloaded: a request would wait about " +
                                   Seconds(wait_s) + " s to start (the limit is " +
                                   Seconds(max_wait_s) + " s); retry later");
    // When the queue will have drained to what can start within the limit.
    out.retry_after_s = RetryAfter(wait_s - max_wait_s);
    return out;
  }
  ++q.depth;
  q.work += work;
  Publish(q);
  Ticket ticket;
  ticket.owner_ = this;
  ticket.alias_ = alias;
  ticket.work_ = work;
  out.ticket = std::move(ticket);
  return out;
}

void AdmissionControl::Release(const std::string& alias, int64_t work) {
  MutexLock lock(mu_);
  auto it = queues_.find(alias);
  if (it == queues_.end()) return;
  Queue& q = it->second;
  Advance(q, Now());
  q.depth = std::max<int64_t>(0, q.depth - 1);
  q.work = std::max<int64_t>(0, q.work - work);
  q.done_work += static_cast<double>(work);
  ++q.finished;
  Publish(q);
}

int64_t AdmissionControl::Depth(const std::string& alias) const {
  MutexLock lock(mu_);
  auto it = queues_.find(alias);
  return it == queues_.end() ? 0 : it->second.depth;
}

int64_t AdmissionControl::Work(const std::string& alias) const {
  MutexLock lock(mu_);
  auto it = queues_.find(alias);
  return it == queues_.end() ? 0 : it->second.work;
}

std::optional<double> AdmissionControl::EstimatedWaitSeconds(const std::string& alias) const {
  MutexLock lock(mu_);
  auto it = queues_.find(alias);
  if (it == queues_.end()) return std::nullopt;
  Queue q = it->second;  // a copy: Advance it to now without touching the real one
  Advance(q, Now());
  std::optional<double> rate = Rate(q);
  if (!rate) return std::nullopt;
  return static_cast<double>(q.work) / *rate;
}

HttpResponse AdmissionControl::LateStartResponse(const std::string& alias,
                                                 const Status& error) const {
  Admission refused;
  refused.refusal = UnavailableError("model '" + alias + "' is " + error.message());
  refused.retry_after_s = RetryAfter(EstimatedWaitSeconds(alias).value_or(0.0));
  return RefusalResponse(refused);
}

HttpResponse RefusalResponse(const AdmissionControl::Admission& refused) {
  ApiError error = MapStatus(refused.refusal);
  if (error.http_status == 429 || error.http_status == 503) {
    error.retry_after_s = std::max(1, refused.retry_after_s);
    if (error.http_status == 503) error.code = "overloaded";
  }
  return ErrorResponse(error);
}

}  // namespace modelrt::server
