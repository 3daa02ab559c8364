// BlockingExecutor: runs blocking work (model calls) off the Asio I/O threads, so a slow model
// never stalls the listener or other connections. Threads are started on demand up to
// `max_threads` and then reused; work beyond that waits in a FIFO queue. A thread idle for
// `idle_timeout` exits, so a burst's threads (each holds a stack) do not stay for the life of the
// process; the next burst starts new ones. The server sizes
// `max_threads` above the sum of its per-model admission limits, so admitted requests do not
// wait behind each other here.
//
//   BlockingExecutor pool(512, std::chrono::seconds(30));
//   pool.Post([] { handle.Embed(...); });
//   pool.Shutdown();  // runs what is queued, then joins
//
// Thread-safety: Post and Shutdown are thread-safe; Shutdown must not run on a pool thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <thread>
#include <vector>

#include "core/thread_annotations.h"

namespace modelrt::server {

class BlockingExecutor {
 public:
  explicit BlockingExecutor(size_t max_threads,
                            std::chrono::milliseconds idle_timeout = std::chrono::seconds(30));
  ~BlockingExecutor();
  BlockingExecutor(const BlockingExecutor&) = delete;
  BlockingExecutor& operator=(const BlockingExecutor&) = delete;

  // Queues `task`; returns false (and drops it) after Shutdown.
  bool Post(std::function<void()> task);
  // Stops accepting work, finishes what is queued and joins every thread. Idempotent.
  void Shutdown();

  // Threads alive now (running a task or idle within their timeout).
  size_t thread_count() const;

 private:
  void WorkerLoop(uint64_t id) NO_THREAD_SAFETY_ANALYSIS;  // unlocks around each task
  // Joins the threads that exited on their idle timeout (they have returned or are returning).
  void JoinExited();

  const size_t max_threads_;
  const std::chrono::milliseconds idle_timeout_;
  mutable Mutex mu_;
  CondVar cv_;
  std::deque<std::function<void()>> queue_ GUARDED_BY(mu_);
  std::map<uint64_t, std::thread> threads_ GUARDED_BY(mu_);
  std::vector<std::thread> exited_ GUARDED_BY(mu_);  // joined by the next Post or Shutdown
  uint64_t next_id_ GUARDED_BY(mu_) = 0;
  size_t idle_ GUARDED_BY(mu_) = 0;
  bool stopping_ GUARDED_BY(mu_) = false;
};

}  // namespace modelrt::server
