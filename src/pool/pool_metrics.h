// PoolMetrics: the modelrt_pool_* series of one EnginePool, looked up once so that updates on the
// checkout path are lock-free.
//
//   PoolMetrics metrics(registry);
//   metrics.hits->Increment();
//   metrics.Eviction(EvictionReason::kLru).Increment();
//
// Series: modelrt_pool_hits_total, _misses_total, _loads_total, _load_failures_total,
// _evictions_total{reason}, and gauges modelrt_pool_hit_rate, _bytes_in_use, _bytes_reserved,
// _budget_bytes, _max_loaded, _engines{state=live|draining}, _loads_waiting.
//
// Thread-safety: thread-safe (series updates are atomic; the pointers are fixed).
#pragma once

#include <map>
#include <memory>

#include "modelrt/metrics.h"
#include "modelrt/pool.h"

namespace modelrt::internal {

struct PoolMetrics {
  explicit PoolMetrics(std::shared_ptr<MetricsRegistry> registry);
  Counter& Eviction(EvictionReason reason) const { return *evictions.at(reason); }

  std::shared_ptr<MetricsRegistry> registry;
  Counter* hits;
  Counter* misses;
  Counter* loads;
  Counter* load_failures;
  std::map<EvictionReason, Counter*> evictions;
  Gauge* hit_rate;
  Gauge* bytes_in_use;
  Gauge* bytes_reserved;
  Gauge* budget_bytes;
  Gauge* max_loaded;
  Gauge* engines_live;
  Gauge* engines_draining;
  Gauge* loads_waiting;
};

}  // namespace modelrt::internal
