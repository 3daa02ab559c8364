// What the engine pool reports and how it is configured: engine keys, eviction events, per-engine
// status, pool statistics and the pool's options. The pool itself (src/pool/engine_pool.h) is
// internal: the runtime owns it and is the only way in (ModelRuntime::PoolStatus, the Builder's
// SetPoolConfig/SetPoolOptions, RuntimeLifecycle::SetPoolLimits).
//
// What the pool does, in short: engines keyed by model and device, under a memory budget, a
// maximum count and an idle TTL, least recently used first out; an engine with a call in flight is
// never evicted; pinned engines never for room or by TTL; unhealthy engines are dropped.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modelrt/catalog.h"
#include "modelrt/metrics.h"
#include "modelrt/model.h"

namespace modelrt {

// What identifies an engine: the model (the runtime uses the alias) and the device it runs on
// (the provider's LoadEstimate.device). Engines on the "remote" device (an HTTP API) take no
// max_loaded slot.
struct EngineKey {
  std::string model;
  std::string device = "cpu";

  std::string ToString() const { return model + "@" + device; }  // "chat@cpu"
  friend auto operator<=>(const EngineKey&, const EngineKey&) = default;
};

// Why an engine left the pool. kReplaced: a newer engine was installed for its key (hot reload).
enum class EvictionReason { kLru, kTtl, kHealth, kManual, kReplaced };
std::string_view ToString(EvictionReason reason);  // "lru", "ttl", "health", "manual", "replaced"

struct EvictionEvent {
  EngineKey key;
  EvictionReason reason = EvictionReason::kManual;
  uint64_t generation = 0;
  int64_t memory_bytes = 0;
  int64_t in_flight = 0;  // > 0: the engine drains; it is freed when its last lease ends
  std::string detail;     // e.g. the failed health status
};

enum class EngineState { kLive, kDraining };
std::string_view ToString(EngineState state);  // "live", "draining"

struct EngineStatus {
  EngineKey key;
  EngineState state = EngineState::kLive;
  uint64_t generation = 0;
  int64_t memory_bytes = 0;
  int64_t in_flight = 0;
  bool pinned = false;
  std::optional<std::chrono::milliseconds> keep_alive;
  std::string description;
  std::string source;
  std::chrono::system_clock::time_point loaded_at;
  std::chrono::system_clock::time_point last_used;
};

struct PoolStats {
  int64_t budget_bytes = 0;    // 0 = unlimited
  int64_t bytes_in_use = 0;    // live and draining engines
  int64_t bytes_reserved = 0;  // loads that have room but no engine yet
  int max_loaded = 0;          // 0 = unlimited
  int engines_live = 0;
  int engines_draining = 0;
  int loads_waiting = 0;  // reservations waiting for room now
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t loads = 0;          // engines installed
  uint64_t load_failures = 0;  // reservations dropped without an engine (failed, timed out)
  std::map<std::string, uint64_t> evictions;  // by reason name
  double hit_rate = 0;                        // hits / (hits + misses); 0 before any checkout
  uint64_t global_generation = 0;             // engines installed over the pool's life
  std::vector<EngineStatus> engines;          // live then draining, by key
};

struct PoolOptions {
  // Sum of the engines' memory_bytes (plus reservations) allowed; 0 = unlimited.
  int64_t memory_budget_bytes = int64_t{4096} << 20;
  // Engines held at once (live, draining and reserved); 0 = unlimited.
  int max_loaded = 8;
  // An idle engine (no lease out) older than this is evicted; <= 0 = no pool-wide TTL.
  std::chrono::milliseconds idle_ttl = std::chrono::seconds(600);
  // How often every live engine's Health() is asked; <= 0 = only on checkout.
  std::chrono::milliseconds health_check_interval = std::chrono::seconds(30);
  // How often the maintenance thread wakes for TTL and health passes; <= 0 = no thread (call
  // RunMaintenance yourself, e.g. with a test clock).
  std::chrono::milliseconds maintenance_period = std::chrono::seconds(1);
  // Where the modelrt_pool_* series go; null = a private registry.
  std::shared_ptr<MetricsRegistry> metrics;
  // The time source for TTLs and health intervals; null = Clock::now. Tests inject one.
  std::function<Clock::time_point()> clock;
  // Called once per engine leaving the pool, on the thread that caused it, with no pool lock held
  // (so it may call back into the runtime).
  std::function<void(const EvictionEvent&)> on_evict;

  // Budget, count, TTL and health interval from the config file's `pool` section.
  static PoolOptions FromConfig(const PoolConfig& config);
};

}  // namespace modelrt
