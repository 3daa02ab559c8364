#include "pool/pool_metrics.h"

#include <string>

namespace modelrt::internal {

PoolMetrics::PoolMetrics(std::shared_ptr<MetricsRegistry> r)
    : registry(r ? std::move(r) : std::make_shared<MetricsRegistry>()) {
  MetricsRegistry& m = *registry;
  hits = &m.GetCounter("modelrt_pool_hits_total", "Checkouts that found a live, healthy engine");
  misses = &m.GetCounter("modelrt_pool_misses_total", "Checkouts that found no usable engine");
  loads = &m.GetCounter("modelrt_pool_loads_total", "Engines installed in the pool");
  load_failures = &m.GetCounter("modelrt_pool_load_failures_total",
                                "Loads that reserved room but installed no engine");
  for (EvictionReason reason : {EvictionReason::kLru, EvictionReason::kTtl, EvictionReason::kHealth,
                                EvictionReason::kManual, EvictionReason::kReplaced}) {
    evictions[reason] = &m.GetCounter("modelrt_pool_evictions_total", "Engines evicted by reason",
                                      {{"reason", std::string(ToString(reason))}});
  }
  hit_rate = &m.GetGauge("modelrt_pool_hit_rate", "hits / (hits + misses)");
  bytes_in_use = &m.GetGauge("modelrt_pool_bytes_in_use", "Memory of live and draining engines");
  bytes_reserved = &m.GetGauge("modelrt_pool_bytes_reserved", "Memory held for loads in progress");
  budget_bytes = &m.GetGauge("modelrt_pool_budget_bytes", "Memory budget (0 = unlimited)");
  max_loaded = &m.GetGauge("modelrt_pool_max_loaded", "Maximum engines held (0 = unlimited)");
  engines_live =
      &m.GetGauge("modelrt_pool_engines", "Engines in the pool by state", {{"state", "live"}});
  engines_draining =
      &m.GetGauge("modelrt_pool_engines", "Engines in the pool by state", {{"state", "draining"}});
  loads_waiting = &m.GetGauge("modelrt_pool_loads_waiting", "Loads waiting for room now");
}

}  // namespace modelrt::internal
