#include "server/blocking_executor.h"

#include <algorithm>

namespace modelrt::server {

BlockingExecutor::BlockingExecutor(size_t max_threads) : max_threads_(std::max<size_t>(1, max_threads)) {}

BlockingExecutor::~BlockingExecutor() { Shutdown(); }

bool BlockingExecutor::Post(std::function<void()> task) {
  bool wake = false;
  {
    MutexLock lock(mu_);
    if (stopping_) return false;
    queue_.push_back(std::move(task));
    // Start a thread only when nobody idle will pick the task up.
    if (idle_ < queue_.size() && threads_.size() < max_threads_) {
      threads_.emplace_back([this] { WorkerLoop(); });
    } else {
      wake = true;
    }
  }
  // Notified after unlocking, so the woken thread does not block on mu_ at once (a futex round
  // trip per request otherwise). The executor outlives every Post: the server posts from its
  // I/O threads and joins them before destroying the executor.
  if (wake) cv_.notify_one();
  return true;
}

void BlockingExecutor::WorkerLoop() {
  MutexLock lock(mu_);
  for (;;) {
    if (queue_.empty()) {
      if (stopping_) return;
      ++idle_;
      cv_.wait(lock.native(), [&]() REQUIRES(mu_) { return stopping_ || !queue_.empty(); });
      --idle_;
      continue;
    }
    std::function<void()> task = std::move(queue_.front());
    queue_.pop_front();
    lock.Unlock();
    task();
    task = nullptr;  // Destroy captures outside the lock too.
    lock.Lock();
  }
}

void BlockingExecutor::Shutdown() {
  std::vector<std::thread> threads;
  {
    MutexLock lock(mu_);
    stopping_ = true;
    threads.swap(threads_);
    cv_.notify_all();
  }
  for (std::thread& t : threads) t.join();
}

size_t BlockingExecutor::thread_count() const {
  MutexLock lock(mu_);
  return threads_.size();
}

}  // namespace modelrt::server
