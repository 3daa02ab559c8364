// ThreadGroup: owned worker threads that are joined, never detached. Loads that outlive their
// waiters (after a load timeout) and background warmups run here, so the runtime's destructor
// can wait for every one of them before freeing what they touch.
//
//   ThreadGroup threads;
//   if (!threads.Spawn([] { Work(); })) { /* shutting down */ }
//   threads.WaitIdle();   // every spawned function has returned
//   threads.JoinAll();    // refuses new work, joins everything (the destructor does too)
//
// Thread-safety: thread-safe. Spawned functions must not call JoinAll on their own group.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <thread>

#include "core/thread_annotations.h"

namespace modelrt::internal {

class ThreadGroup {
 public:
  ThreadGroup() = default;
  ~ThreadGroup();
  ThreadGroup(const ThreadGroup&) = delete;
  ThreadGroup& operator=(const ThreadGroup&) = delete;

  // Runs `fn` on a new thread. False (and `fn` is not run) after JoinAll began.
  bool Spawn(std::function<void()> fn);
  // Blocks until every function spawned so far has returned.
  void WaitIdle();
  // Refuses further Spawns and joins every thread.
  void JoinAll();
  // Functions running now.
  size_t Running() const;

 private:
  // Joins threads whose function has returned, so a long-lived group does not pile them up.
  void Reap();

  mutable Mutex mu_;
  CondVar idle_cv_;
  bool closed_ GUARDED_BY(mu_) = false;
  uint64_t next_id_ GUARDED_BY(mu_) = 0;
  size_t running_ GUARDED_BY(mu_) = 0;
  std::map<uint64_t, std::thread> threads_ GUARDED_BY(mu_);
  std::map<uint64_t, std::thread> finished_ GUARDED_BY(mu_);
};

}  // namespace modelrt::internal
