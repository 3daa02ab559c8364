#include "server/blocking_executor.h"

#include <algorithm>

namespace modelrt::server {

BlockingExecutor::BlockingExecutor(size_t max_threads, std::chrono::milliseconds idle_timeout)
    : max_threads_(std::max<size_t>(1, max_threads)),
      idle_timeout_(std::max(std::chrono::milliseconds(1), idle_timeout)) {}

BlockingExecutor::~BlockingExecutor() { Shutdown(); }

bool BlockingExecutor::Post(std::function<void()> task) {
  bool wake = false;
  bool reap = false;
  {
    MutexLock lock(mu_);
    if (stopping_) return false;
    queue_.push_back(std::move(task));
    // Start a thread only when nobody idle will pick the task up.
    if (idle_ < queue_.size() && threads_.size() < max_threads_) {
      uint64_t id = next_id_++;
      threads_.emplace(id, std::thread([this, id] { WorkerLoop(id); }));
    } else {
      wake = true;
    }
    reap = !exited_.empty();
  }
  // Notified after unlocking, so the woken thread does not block on mu_ at once (a futex round
  // trip per request otherwise). The executor outlives every Post: the server posts from its
  // I/O threads and joins them before destroying the executor.
  if (wake) cv_.notify_one();
  if (reap) JoinExited();
  return true;
}

void BlockingExecutor::JoinExited() {
  std::vector<std::thread> exited;
  {
    MutexLock lock(mu_);
    exited.swap(exited_);
  }
  for (std::thread& t : exited) t.join();
}

void BlockingExecutor::WorkerLoop(uint64_t id) {
  MutexLock lock(mu_);
  for (;;) {
    if (queue_.empty()) {
      if (stopping_) return;
      ++idle_;
      bool woken = cv_.wait_for(lock.native(), idle_timeout_,
                                [&]() REQUIRES(mu_) { return stopping_ || !queue_.empty(); });
      --idle_;
      if (!woken) {
        // Idle past the timeout: leave. The std::thread is handed to exited_ for a later join
        // (a thread cannot join itself); Shutdown joins it if no Post does.
        auto it = threads_.find(id);
        if (it != threads_.end()) {
          exited_.push_back(std::move(it->second));
          threads_.erase(it);
        }
        return;
      }
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
    for (auto& [id, t] : threads_) threads.push_back(std::move(t));
    threads_.clear();
    for (std::thread& t : exited_) threads.push_back(std::move(t));
    exited_.clear();
    cv_.notify_all();
  }
  for (std::thread& t : threads) t.join();
}

size_t BlockingExecutor::thread_count() const {
  MutexLock lock(mu_);
  return threads_.size();
}

}  // namespace modelrt::server
