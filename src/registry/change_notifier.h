// Delivers published registry changes to listeners in version order, one at a time, outside
// the writers' lock. Writers Enqueue under their lock (so the queue is in version order) and
// call Deliver after releasing it; whichever writer gets the delivery lock first delivers
// everything queued, so each writer returns only after its own change has been delivered.
//
//   notifier.Enqueue(change, before, after);   // under the writers' lock
//   notifier.Deliver();                        // after releasing it
//
// A listener may write to the registry: its nested Deliver returns at once and the outer
// delivery loop picks the change up after the listener returns.
//
// Thread-safety: thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>

#include "core/thread_annotations.h"
#include "modelrt/registry.h"

namespace modelrt::registry {

class ChangeNotifier {
 public:
  uint64_t Subscribe(Registry::Listener listener) EXCLUDES(mu_);
  // After it returns the listener is not called again, except when called from a listener.
  void Unsubscribe(uint64_t id) EXCLUDES(mu_, delivery_mu_);

  void Enqueue(RegistryChange change, std::shared_ptr<const RegistrySnapshot> before,
               std::shared_ptr<const RegistrySnapshot> after) EXCLUDES(mu_);
  void Deliver() EXCLUDES(mu_, delivery_mu_);

 private:
  struct Pending {
    RegistryChange change;
    std::shared_ptr<const RegistrySnapshot> before, after;
  };
  bool DeliveringOnThisThread() const;

  Mutex delivery_mu_;  // held while listeners run: one delivery at a time, in order
  Mutex mu_;
  std::deque<Pending> queue_ GUARDED_BY(mu_);
  std::map<uint64_t, Registry::Listener> listeners_ GUARDED_BY(mu_);
  uint64_t next_id_ GUARDED_BY(mu_) = 1;
};

}  // namespace modelrt::registry
