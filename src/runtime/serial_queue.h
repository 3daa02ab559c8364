// SerialQueue: runs closures one after another on a thread of its own, started on first use.
// The runtime hands it what an engine's thread must not do itself: drop what an asynchronous
// call held once it finished there. Its lease may be the last reference to an engine that a
// reload or eviction replaced, and its runtime reference the last one to the runtime; destroying
// either joins the engine's thread, which cannot join itself. The process-wide queue outlives
// every runtime, so even a runtime's destructor may run on it.
//
//   SerialQueue::AfterCalls().Post([held = std::move(held)] {});  // dropped on the queue's thread
//
// Thread-safety: thread-safe. The destructor runs what is queued, then joins.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <thread>

#include "core/thread_annotations.h"

namespace modelrt::internal {

class SerialQueue {
 public:
  SerialQueue() = default;
  ~SerialQueue();
  SerialQueue(const SerialQueue&) = delete;
  SerialQueue& operator=(const SerialQueue&) = delete;

  // The process-wide queue for what asynchronous calls leave behind.
  static SerialQueue& AfterCalls();

  // Queues `fn`; after the destructor began it runs `fn` on the caller's thread instead.
  void Post(std::function<void()> fn) EXCLUDES(mu_);
  // Whether the caller is running on the queue's thread.
  bool OnQueueThread() const { return std::this_thread::get_id() == thread_id_.load(); }

 private:
  void Loop() EXCLUDES(mu_);

  Mutex mu_;
  CondVar cv_;
  std::deque<std::function<void()>> queue_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread thread_;  // started by the first Post, under mu_
  std::atomic<std::thread::id> thread_id_{};
};

}  // namespace modelrt::internal
