#include "runtime/serial_queue.h"

#include <utility>

namespace modelrt::internal {

SerialQueue& SerialQueue::AfterCalls() {
  static SerialQueue* queue = new SerialQueue();  // never destroyed: it may run at exit
  return *queue;
}

SerialQueue::~SerialQueue() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SerialQueue::Post(std::function<void()> fn) {
  {
    MutexLock lock(mu_);
    if (!stopping_) {
      queue_.push_back(std::move(fn));
      if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
      cv_.notify_one();
      return;
    }
  }
  fn();
}

void SerialQueue::Loop() {
  thread_id_.store(std::this_thread::get_id());
  MutexLock lock(mu_);
  while (true) {
    cv_.wait(lock.native(), [&]() REQUIRES(mu_) { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything queued has run
    std::function<void()> fn = std::move(queue_.front());
    queue_.pop_front();
    lock.Unlock();
    fn();
    fn = nullptr;  // what it captured is released here, outside the lock
    lock.Lock();
  }
}

}  // namespace modelrt::internal
