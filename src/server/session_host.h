// SessionHost: what every HTTP session shares with the server — the API, the blocking executor,
// the transport limits — and the bookkeeping the server needs to drain: the in-flight request
// count, the draining flag and the live sessions. It also writes the access log and the request
// metrics when a request finishes.
//
//   host->RequestStarted(session);
//   ...
//   host->RequestFinished(record);     // one access-log line + metrics
//   host->WaitIdle(deadline);          // drain: true when no request is left in flight
//
// Thread-safety: thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <vector>

#include <spdlog/logger.h>

#include "core/thread_annotations.h"
#include "server/api_service.h"
#include "server/blocking_executor.h"
#include "server/server_metrics.h"

namespace modelrt::server {

class HttpSession;

struct SessionOptions {
  int64_t max_body_bytes = 8 << 20;  // 413 past this
  uint32_t max_header_bytes = 64 << 10;
  std::chrono::seconds idle_timeout{60};    // keep-alive wait for the next request
  std::chrono::seconds header_timeout{10};  // a request's header section, from its first byte
  std::chrono::seconds read_timeout{60};    // a request's body, once its header is read
  std::chrono::seconds write_timeout{60};   // one write; a stalled reader is dropped after it
  size_t max_stream_buffer_bytes = 8 << 20;  // SSE bytes queued for a slow client before dropping it
  // A request's queue deadline (CallContext::start_by), from when it was read in full; 0 = none.
  std::chrono::milliseconds max_queue_wait{0};
  // Requests that answer later with a body this small run their handler on the I/O thread.
  int64_t inline_body_bytes = 0;
};

class SessionHost {
 public:
  // `dispatch`: the small pool for handlers that answer later (RouteOptions::answers_later).
  SessionHost(const ApiService& api, BlockingExecutor& executor, BlockingExecutor& dispatch,
              ServerMetrics& metrics,
              SessionOptions options);
  SessionHost(const SessionHost&) = delete;
  SessionHost& operator=(const SessionHost&) = delete;

  const ApiService& api() const { return api_; }
  BlockingExecutor& executor() { return executor_; }
  BlockingExecutor& dispatch() { return dispatch_; }
  const SessionOptions& options() const { return options_; }

  void AddSession(const std::shared_ptr<HttpSession>& session);
  void ForEachSession(const std::function<void(HttpSession&)>& fn);

  void RequestStarted();
  // Logs the access line, records metrics and wakes WaitIdle.
  void RequestFinished(const RequestRecord& record);
  int64_t in_flight() const;

  // A reference to a session held off the I/O threads (the `finish` of an asynchronous handler,
  // which an engine thread may drop after the request was answered). WaitIdle waits for these
  // too: a session destroyed after the io_context would use its freed strand.
  void HoldTaken();
  void HoldDropped();

  // Runs `post` (a net::post to a session's strand) unless the I/O threads were stopped. Engine
  // threads finish asynchronous requests, possibly late: they must not post to an io_context
  // that is gone. StopPosts is called before the server stops its io_context.
  void PostIfRunning(const std::function<void()>& post);
  void StopPosts();

  void BeginDrain();
  bool draining() const;
  // Waits until no request is in flight and no hold is left, or `deadline` passes; true when idle.
  bool WaitIdle(std::chrono::steady_clock::time_point deadline);

 private:
  const ApiService& api_;
  BlockingExecutor& executor_;
  BlockingExecutor& dispatch_;
  ServerMetrics& metrics_;
  const SessionOptions options_;
  // Looked up once: Log() takes a global mutex and a registry lookup, once per request otherwise.
  const std::shared_ptr<spdlog::logger> access_log_;

  mutable Mutex mu_;
  CondVar idle_cv_;
  int64_t in_flight_ GUARDED_BY(mu_) = 0;
  int64_t holds_ GUARDED_BY(mu_) = 0;
  bool draining_ GUARDED_BY(mu_) = false;
  std::vector<std::weak_ptr<HttpSession>> sessions_ GUARDED_BY(mu_);
  // Its own lock: taken for every chunk an engine thread posts.
  std::shared_mutex posts_mu_;
  bool posts_stopped_ = false;  // under posts_mu_
};

}  // namespace modelrt::server
