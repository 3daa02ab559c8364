// EnginePool (internal: the runtime owns one): the loaded engines of a process, keyed by model and device, under a memory budget, a
// maximum count, an idle TTL and health checks.
//
//   MODELRT_ASSIGN_OR_RETURN(auto pool, EnginePool::Create({.memory_budget_bytes = 2LL << 30}));
//   Result<EnginePool::Lease> lease = pool->Checkout(key);        // hit: use lease->model()
//   if (!lease) {                                                  // miss: load one
//     MODELRT_ASSIGN_OR_RETURN(auto room, pool->Reserve(key, estimate, ctx));      // may wait
//     MODELRT_ASSIGN_OR_RETURN(auto model, provider->Load(spec, ctx));
//     MODELRT_RETURN_IF_ERROR(room.Resize(model->Info().memory_bytes, ctx));       // may wait
//     MODELRT_ASSIGN_OR_RETURN(auto done, pool->Install(std::move(room), {model, epoch}));
//   }
//
// An engine's life in the pool (all transitions under the pool's lock):
//
//   Reserve ──► reserved ──Install──► live ◄── Checkout / Release (in_flight up, down)
//                  │                   │
//                  │                   ├── LRU (room needed) / TTL / keep-alive 0 ──► gone
//                  │                   │     (only when in_flight == 0 and not pinned)
//                  │                   │
//                  │                   └── Evict (manual) / health / replaced by Install
//                  │                              │
//                  ▼                              ▼
//                 gone (a load failure)       draining (no new checkouts) ──last Release──► gone
//
// "gone" means the pool dropped its reference: the model is freed once the last lease (or any other
// holder) lets go, outside the pool's lock. Memory is accounted from Reserve (the estimate) through
// Install (the engine's reported ModelInfo.memory_bytes) until gone, so a draining engine still
// counts: the memory is really in use until its last call ends.
//
// Eviction never touches an engine with a lease out (in_flight > 0): a reservation that cannot fit
// waits for leases to end (or for other reservations to go) until its context's deadline, then
// fails with Unavailable. Pinned engines are never evicted for room or by TTL. An engine's
// keep-alive overrides the pool's idle TTL (0 = unload as soon as its last lease ends, negative =
// never by TTL). Health: Checkout asks Model::Health() and a periodic pass asks every live engine;
// an unhealthy engine is dropped (draining if busy) and the next Checkout misses.
//
// Each key has a fence (`epoch`): Install refuses an engine whose epoch is older than the key's,
// which is how a hot reload keeps a slow load started before it from overwriting the new engine.
// Each key also counts generations: every Install gets the next one (and a pool-wide one).
//
// Eviction callbacks run on the thread that caused the eviction with no pool lock held, so they may
// call back into the pool.
//
// Thread-safety: thread-safe. Leases and reservations must end before the pool is destroyed.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "modelrt/model.h"
#include "modelrt/pool.h"
#include "modelrt/status.h"

namespace modelrt {

namespace internal {
class PoolCore;
struct PooledEngine;
}  // namespace internal

// Per-engine policy, given at Install.
struct EngineOptions {
  // Never evicted for room or by TTL (a manual unload, a failed health check and a replacement
  // still take it out).
  bool pinned = false;
  // Idle time before TTL eviction: nullopt = the pool's idle_ttl, 0 = as soon as the last lease
  // ends, negative = never by TTL.
  std::optional<std::chrono::milliseconds> keep_alive;
  std::string description;  // ModelInfo.description, for listings
  std::string source;       // where it came from (file path), for listings
};

// What the pool knows about one key.
struct KeyStatus {
  std::optional<EngineStatus> live;
  int draining = 0;              // retired engines still held by calls
  int64_t in_flight = 0;         // leases out on all of the key's engines
  uint64_t last_generation = 0;  // the newest generation installed for the key (0 = never)
  std::optional<int64_t> last_memory_bytes;  // reported by the newest engine, for estimates
  std::shared_ptr<Model> live_model;  // the live engine, to ask what it holds (Occupancy)
};

class EnginePool {
 public:
  using Options = PoolOptions;

  // One engine held for one call: counts as in flight until destroyed, which keeps the engine from
  // eviction and keeps it alive (shared ownership) if it is replaced or evicted manually.
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();

    Model& model() const { return *model_; }
    const std::shared_ptr<Model>& shared_model() const { return model_; }
    const EngineKey& key() const;
    uint64_t generation() const;
    // Ends the call now (the engine counts as idle again) but hands back what keeps the engine
    // alive, to be dropped elsewhere: on an engine's own thread, dropping the last reference to
    // a replaced engine would join that very thread. The lease is empty afterwards.
    std::shared_ptr<const void> CheckIn();

   private:
    friend class internal::PoolCore;
    Lease(internal::PoolCore* core, std::shared_ptr<internal::PooledEngine> engine,
          std::shared_ptr<Model> model);
    void Reset();
    internal::PoolCore* core_ = nullptr;
    std::shared_ptr<internal::PooledEngine> engine_;
    std::shared_ptr<Model> model_;
  };

  // Room held for a load in progress. Destroyed without Install: the room is given back and a load
  // failure is counted.
  class Reservation {
   public:
    Reservation(Reservation&& other) noexcept;
    Reservation& operator=(Reservation&& other) noexcept;
    Reservation(const Reservation&) = delete;
    Reservation& operator=(const Reservation&) = delete;
    ~Reservation();

    const EngineKey& key() const { return key_; }
    int64_t bytes() const { return bytes_; }
    // Changes the room held to `bytes` (the engine's real size once loaded). Growing waits for room
    // like Reserve; on an error the reservation keeps its old size.
    Status Resize(int64_t bytes, const CallContext& ctx);

   private:
    friend class internal::PoolCore;
    Reservation(internal::PoolCore* core, uint64_t id, EngineKey key, int64_t bytes)
        : core_(core), id_(id), key_(std::move(key)), bytes_(bytes) {}
    void Reset();
    internal::PoolCore* core_ = nullptr;
    uint64_t id_ = 0;
    EngineKey key_;
    int64_t bytes_ = 0;
  };

  struct InstallRequest {
    std::shared_ptr<Model> model;
    // Refused (Aborted) when older than the key's fence; the fence moves up to it otherwise.
    uint64_t epoch = 0;
    // The generation is max(key's last, min_generation) + 1: lets a caller keep one counter across
    // keys (an alias that moved device).
    uint64_t min_generation = 0;
    EngineOptions options;
  };
  struct Installed {
    uint64_t generation = 0;
    uint64_t global_generation = 0;
    std::optional<EvictionEvent> replaced;  // the engine it displaced, now draining or gone
  };

  static Result<std::unique_ptr<EnginePool>> Create(Options options);
  ~EnginePool();
  EnginePool(const EnginePool&) = delete;
  EnginePool& operator=(const EnginePool&) = delete;

  // A lease on the key's live engine. NotFound (a miss) when there is none or it failed its health
  // check (then it is dropped). `count` = false keeps this checkout out of hits/misses (a caller's
  // second look after its own load).
  Result<Lease> Checkout(const EngineKey& key, bool count = true);
  // The key's live engine without a lease (for Info()); null when none.
  std::shared_ptr<Model> Peek(const EngineKey& key) const;

  // Room for a load of about `bytes` for `key`. Evicts idle, unpinned engines (least recently used
  // first, never the key's own live engine) when that makes enough room, else waits for leases and
  // other reservations to end. Unavailable at ctx's deadline or when `bytes` alone exceeds the
  // budget; Cancelled when ctx is cancelled.
  Result<Reservation> Reserve(const EngineKey& key, int64_t bytes, const CallContext& ctx);
  // Makes `request.model` the key's live engine, in the room of `reservation` (which should already
  // be resized to the engine's size). The previous live engine is retired (replaced). Aborted when
  // request.epoch is older than the key's fence (the reservation is then dropped).
  Result<Installed> Install(Reservation reservation, InstallRequest request);

  // Retires the key's live engine (draining if busy). False when there was none.
  bool Evict(const EngineKey& key, EvictionReason reason = EvictionReason::kManual);
  // Raises the key's fence to `epoch` (Installs of older epochs are refused from now on).
  void Fence(const EngineKey& key, uint64_t epoch);
  // Changes a live engine's pin and keep-alive. False when there is none.
  bool SetEngineOptions(const EngineKey& key, bool pinned,
                        std::optional<std::chrono::milliseconds> keep_alive);
  // New limits (a config re-read). Takes effect for the next reservation and maintenance pass.
  void SetLimits(int64_t memory_budget_bytes, int max_loaded, std::chrono::milliseconds idle_ttl,
                 std::chrono::milliseconds health_check_interval);

  // One TTL pass and, when due, one health pass. The maintenance thread calls it; tests with
  // maintenance_period <= 0 call it after moving their clock.
  void RunMaintenance();
  // Forces a health pass over every live engine now.
  void CheckHealth();

  KeyStatus Describe(const EngineKey& key) const;
  PoolStats Stats() const;
  // Adds a listener besides Options.on_evict; returns an id for RemoveEvictionListener.
  uint64_t AddEvictionListener(std::function<void(const EvictionEvent&)> listener);
  void RemoveEvictionListener(uint64_t id);

  // Stops the maintenance thread and wakes waiting reservations (they fail Cancelled). Idempotent;
  // the destructor runs it.
  void Shutdown();

 private:
  explicit EnginePool(std::unique_ptr<internal::PoolCore> core);
  std::unique_ptr<internal::PoolCore> core_;
};

}  // namespace modelrt
