// SharedWhileHeld: a process-wide instance that lives while someone holds it, and is made again
// by the next caller once the last holder let go (so an idle process keeps no threads around).
//
//   std::shared_ptr<Pools> Pools::Shared() {
//     return SharedWhileHeld<Pools>([] { return std::make_shared<Pools>(); });
//   }
//
// One instance per call site (the lambda's type). Thread-safety: thread-safe.
#pragma once

#include <memory>

#include "core/thread_annotations.h"

namespace modelrt {

template <typename T, typename Make>
std::shared_ptr<T> SharedWhileHeld(Make make) {
  static Mutex mu;
  static std::weak_ptr<T> current;
  MutexLock lock(mu);
  std::shared_ptr<T> instance = current.lock();
  if (!instance) {
    instance = make();
    current = instance;
  }
  return instance;
}

}  // namespace modelrt
