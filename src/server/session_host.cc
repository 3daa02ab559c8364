#include "server/session_host.h"

#include "core/logging.h"
#include "server/http_session.h"

namespace modelrt::server {

SessionHost::SessionHost(const ApiService& api, BlockingExecutor& executor,
                         BlockingExecutor& dispatch, ServerMetrics& metrics,
                         SessionOptions options)
    : api_(api),
      executor_(executor),
      dispatch_(dispatch),
      metrics_(metrics),
      options_(options),
      access_log_(Log("http")) {}

void SessionHost::AddSession(const std::shared_ptr<HttpSession>& session) {
  MutexLock lock(mu_);
  // Prune closed sessions now and then so the list tracks live connections.
  if (sessions_.size() >= 64 && sessions_.size() % 64 == 0) {
    std::erase_if(sessions_, [](const auto& w) { return w.expired(); });
  }
  sessions_.push_back(session);
}

void SessionHost::ForEachSession(const std::function<void(HttpSession&)>& fn) {
  std::vector<std::shared_ptr<HttpSession>> live;
  {
    MutexLock lock(mu_);
    for (const auto& w : sessions_) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
  }
  for (const auto& s : live) fn(*s);
}

void SessionHost::RequestStarted() {
  MutexLock lock(mu_);
  ++in_flight_;
  metrics_.in_flight().Set(static_cast<double>(in_flight_));
}

void SessionHost::RequestFinished(const RequestRecord& r) {
  metrics_.RecordRequest(r);
  access_log_->info(
      "method={} path={} status={} model={} duration_ms={:.1f} request_id={} prompt_tokens={} "
      "completion_tokens={}",
      r.method, r.path, r.status, r.model.empty() ? "-" : r.model, r.seconds * 1000.0,
      r.request_id, r.prompt_tokens, r.completion_tokens);
  MutexLock lock(mu_);
  --in_flight_;
  metrics_.in_flight().Set(static_cast<double>(in_flight_));
  if (in_flight_ == 0 && holds_ == 0) idle_cv_.notify_all();
}

void SessionHost::HoldTaken() {
  MutexLock lock(mu_);
  ++holds_;
}

void SessionHost::HoldDropped() {
  MutexLock lock(mu_);
  --holds_;
  if (in_flight_ == 0 && holds_ == 0) idle_cv_.notify_all();
}

int64_t SessionHost::in_flight() const {
  MutexLock lock(mu_);
  return in_flight_;
}

void SessionHost::PostIfRunning(const std::function<void()>& post) {
  std::shared_lock lock(posts_mu_);
  if (!posts_stopped_) post();
}

void SessionHost::StopPosts() {
  std::unique_lock lock(posts_mu_);
  posts_stopped_ = true;
}

void SessionHost::BeginDrain() {
  MutexLock lock(mu_);
  draining_ = true;
}

bool SessionHost::draining() const {
  MutexLock lock(mu_);
  return draining_;
}

bool SessionHost::WaitIdle(std::chrono::steady_clock::time_point deadline) {
  MutexLock lock(mu_);
  return idle_cv_.wait_until(lock.native(), deadline,
                             [&]() REQUIRES(mu_) { return in_flight_ == 0 && holds_ == 0; });
}

}  // namespace modelrt::server
