// PoolCore's read side: per-key and pool-wide status, and the gauges that mirror them.
#include "pool/pool_core.h"

namespace modelrt::internal {

EngineStatus PoolCore::StatusOf(const PooledEngine& engine) const {
  EngineStatus status;
  status.key = engine.key;
  status.state = engine.state;
  status.generation = engine.generation;
  status.memory_bytes = engine.memory_bytes;
  status.in_flight = engine.in_flight;
  status.pinned = engine.options.pinned;
  status.keep_alive = engine.options.keep_alive;
  status.description = engine.options.description;
  status.source = engine.options.source;
  status.loaded_at = engine.loaded_at;
  status.last_used = engine.last_used_wall;
  return status;
}

KeyStatus PoolCore::Describe(const EngineKey& key) const {
  MutexLock lock(mu_);
  KeyStatus out;
  auto it = slots_.find(key);
  if (it == slots_.end()) return out;
  const Slot& slot = it->second;
  if (slot.live) {
    out.live = StatusOf(*slot.live);
    out.in_flight += slot.live->in_flight;
    out.live_model = slot.live->model;
  }
  out.draining = static_cast<int>(slot.draining.size());
  for (const auto& e : slot.draining) out.in_flight += e->in_flight;
  out.last_generation = slot.last_generation;
  out.last_memory_bytes = slot.last_memory_bytes;
  return out;
}

PoolStats PoolCore::Stats() const {
  MutexLock lock(mu_);
  PoolStats stats;
  stats.budget_bytes = options_.memory_budget_bytes;
  stats.bytes_in_use = bytes_in_use_;
  stats.bytes_reserved = bytes_reserved_;
  stats.max_loaded = options_.max_loaded;
  stats.engines_live = engines_ - draining_;
  stats.engines_draining = draining_;
  stats.loads_waiting = waiting_;
  stats.hits = hits_;
  stats.misses = misses_;
  stats.loads = loads_;
  stats.load_failures = load_failures_;
  stats.evictions = evictions_;
  stats.hit_rate = hits_ + misses_ == 0 ? 0.0 : static_cast<double>(hits_) / (hits_ + misses_);
  stats.global_generation = global_generation_;
  for (const auto& [key, slot] : slots_) {
    if (slot.live) stats.engines.push_back(StatusOf(*slot.live));
  }
  for (const auto& [key, slot] : slots_) {
    for (const auto& e : slot.draining) stats.engines.push_back(StatusOf(*e));
  }
  return stats;
}

void PoolCore::PublishLocked() {
  const uint64_t checkouts = hits_ + misses_;
  metrics_.hit_rate->Set(checkouts == 0 ? 0.0 : static_cast<double>(hits_) / checkouts);
  metrics_.bytes_in_use->Set(static_cast<double>(bytes_in_use_));
  metrics_.bytes_reserved->Set(static_cast<double>(bytes_reserved_));
  metrics_.budget_bytes->Set(static_cast<double>(options_.memory_budget_bytes));
  metrics_.max_loaded->Set(options_.max_loaded);
  metrics_.engines_live->Set(engines_ - draining_);
  metrics_.engines_draining->Set(draining_);
  metrics_.loads_waiting->Set(waiting_);
}

}  // namespace modelrt::internal
