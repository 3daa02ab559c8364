// BlockingExecutor: runs blocking work (model calls) off the Asio I/O threads, so a slow model
// never stalls the listener or other connections. Threads are started on demand up to
// `max_threads` and then reused; work beyond that waits in a FIFO queue. The server sizes
// `max_threads` above the sum of its per-model admission limits, so admitted requests do not
// wait behind each other here.
//
//   BlockingExecutor pool(512);
//   pool.Post([] { handle.Embed(...); });
//   pool.Shutdown();  // runs what is queued, then joins
//
// Thread-safety: Post and Shutdown are thread-safe; Shutdown must not run on a pool thread.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "core/thread_annotations.h"

namespace modelrt::server {

class BlockingExecutor {
 public:
  explicit BlockingExecutor(size_t max_threads);
  ~BlockingExecutor();
  BlockingExecutor(const BlockingExecutor&) = delete;
  BlockingExecutor& operator=(const BlockingExecutor&) = delete;

  // Queues `task`; returns false (and drops it) after Shutdown.
  bool Post(std::function<void()> task);
  // Stops accepting work, finishes what is queued and joins every thread. Idempotent.
  void Shutdown();

  size_t thread_count() const;

 private:
  void WorkerLoop() EXCLUDES(mu_);  // takes mu_, and drops it around each task

  const size_t max_threads_;
  mutable Mutex mu_;
  CondVar cv_;
  std::deque<std::function<void()>> queue_ GUARDED_BY(mu_);
  std::vector<std::thread> threads_ GUARDED_BY(mu_);
  size_t idle_ GUARDED_BY(mu_) = 0;
  bool stopping_ GUARDED_BY(mu_) = false;
};

}  // namespace modelrt::server
