// Ordered delivery of registry changes; see change_notifier.h.
#include "registry/change_notifier.h"

#include <algorithm>
#include <vector>

namespace modelrt::registry {
namespace {

// Notifiers whose delivery loop runs on this thread (a listener may reach another registry).
thread_local std::vector<const ChangeNotifier*> t_delivering;

}  // namespace

bool ChangeNotifier::DeliveringOnThisThread() const {
  return std::find(t_delivering.begin(), t_delivering.end(), this) != t_delivering.end();
}

uint64_t ChangeNotifier::Subscribe(Registry::Listener listener) {
  MutexLock lock(mu_);
  uint64_t id = next_id_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void ChangeNotifier::Unsubscribe(uint64_t id) {
  {
    MutexLock lock(mu_);
    listeners_.erase(id);
  }
  if (DeliveringOnThisThread()) return;
  // Wait out a delivery that may still hold a copy of the listener.
  MutexLock barrier(delivery_mu_);
}

void ChangeNotifier::Enqueue(RegistryChange change, std::shared_ptr<const RegistrySnapshot> before,
                             std::shared_ptr<const RegistrySnapshot> after) {
  MutexLock lock(mu_);
  queue_.push_back({std::move(change), std::move(before), std::move(after)});
}

void ChangeNotifier::Deliver() {
  if (DeliveringOnThisThread()) return;
  MutexLock delivery(delivery_mu_);
  t_delivering.push_back(this);
  while (true) {
    Pending next;
    std::vector<Registry::Listener> listeners;
    {
      MutexLock lock(mu_);
      if (queue_.empty()) break;
      next = std::move(queue_.front());
      queue_.pop_front();
      listeners.reserve(listeners_.size());
      for (const auto& [id, listener] : listeners_) listeners.push_back(listener);
    }
    for (const Registry::Listener& listener : listeners) {
      listener(next.change, *next.before, *next.after);
    }
  }
  t_delivering.pop_back();
}

}  // namespace modelrt::registry
