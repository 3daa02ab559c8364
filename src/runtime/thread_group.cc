#include "runtime/thread_group.h"

#include <system_error>
#include <utility>
#include <vector>

namespace modelrt::internal {

ThreadGroup::~ThreadGroup() { JoinAll(); }

bool ThreadGroup::Spawn(std::function<void()> fn) {
  Reap();
  MutexLock lock(mu_);
  if (closed_) return false;
  const uint64_t id = ++next_id_;
  ++running_;
  // The thread registers itself as finished under mu_ as its last touch of the group; the
  // std::thread object is joined later (Reap/JoinAll), which waits for the thread's exit.
  std::thread thread;
  try {
    thread = std::thread([this, id, fn = std::move(fn)]() mutable {
      fn();
      fn = nullptr;  // release captures while the group is certainly alive
      MutexLock done(mu_);
      auto it = threads_.find(id);
      if (it != threads_.end()) {
        finished_.emplace(id, std::move(it->second));
        threads_.erase(it);
      }
      --running_;
      idle_cv_.notify_all();
    });
  } catch (const std::system_error&) {  // out of threads: report it as a refusal
    --running_;
    return false;
  }
  threads_.emplace(id, std::move(thread));
  return true;
}

void ThreadGroup::Reap() {
  std::map<uint64_t, std::thread> done;
  {
    MutexLock lock(mu_);
    done.swap(finished_);
  }
  for (auto& [id, thread] : done) thread.join();
}

void ThreadGroup::WaitIdle() {
  {
    MutexLock lock(mu_);
    idle_cv_.wait(lock.native(), [this]() REQUIRES(mu_) { return running_ == 0; });
  }
  Reap();
}

void ThreadGroup::JoinAll() {
  {
    MutexLock lock(mu_);
    closed_ = true;
  }
  WaitIdle();
  std::vector<std::thread> rest;
  {
    MutexLock lock(mu_);
    for (auto& [id, thread] : threads_) rest.push_back(std::move(thread));
    threads_.clear();
  }
  for (std::thread& thread : rest) thread.join();
  Reap();
}

size_t ThreadGroup::Running() const {
  MutexLock lock(mu_);
  return running_;
}

}  // namespace modelrt::internal
