// Clang thread-safety annotations (no-ops elsewhere) and an annotated mutex wrapper, so a clang
// build with -Wthread-safety (scripts/build --clang, where violations are errors) checks that
// GUARDED_BY state is touched only under its lock.
//
//   Mutex mu_;
//   int count_ GUARDED_BY(mu_);
//   void Add() { MutexLock lock(mu_); ++count_; }
//
// Condition-variable predicates run with the lock held, but the analysis sees a lambda as a
// function of its own: annotate them, `cv_.wait(lock.native(), [&]() REQUIRES(mu_) {...})`.
// Code that drops the lock for a while uses lock.Unlock() / lock.Lock(), never native(), so the
// analysis knows the state is unguarded in between.
//
// Thread-safety: Mutex is a std::mutex.
#pragma once

#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define MODELRT_TSA(x) __attribute__((x))
#else
#define MODELRT_TSA(x)
#endif

#define CAPABILITY(x) MODELRT_TSA(capability(x))
#define SCOPED_CAPABILITY MODELRT_TSA(scoped_lockable)
#define GUARDED_BY(x) MODELRT_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) MODELRT_TSA(pt_guarded_by(x))
#define REQUIRES(...) MODELRT_TSA(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) MODELRT_TSA(locks_excluded(__VA_ARGS__))
#define ACQUIRE(...) MODELRT_TSA(acquire_capability(__VA_ARGS__))
#define RELEASE(...) MODELRT_TSA(release_capability(__VA_ARGS__))
#define NO_THREAD_SAFETY_ANALYSIS MODELRT_TSA(no_thread_safety_analysis)

namespace modelrt {

class CAPABILITY("mutex") Mutex {
 public:
  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }
  std::mutex& native() { return mu_; }

 private:
  std::mutex mu_;
};

// RAII lock; also usable with CondVar.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : lock_(mu.native()) {}
  ~MutexLock() RELEASE() = default;
  // Drops and retakes the lock inside the scope (e.g. around a callback).
  void Unlock() RELEASE() { lock_.unlock(); }
  void Lock() ACQUIRE() { lock_.lock(); }
  // For std::condition_variable's waits only: they unlock and relock behind the analysis' back,
  // which is fine because the lock is held again when they return.
  std::unique_lock<std::mutex>& native() { return lock_; }

 private:
  std::unique_lock<std::mutex> lock_;
};

using CondVar = std::condition_variable;

}  // namespace modelrt
