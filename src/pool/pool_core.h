// PoolCore: the state and rules behind EnginePool — slots per key (live engine, draining engines,
// fence, generation), reservations, room-making (LRU), TTL and health passes, the maintenance
// thread, metrics and eviction listeners. EnginePool, its Lease and its Reservation are thin
// wrappers over it (see pool/engine_pool.h for the semantics and the state diagram).
//
//   auto core = std::make_unique<PoolCore>(options);
//   Result<EnginePool::Lease> lease = core->Checkout(key, /*count=*/true);
//
// Everything that leaves the pool under the lock is collected in an Aftermath and dealt with after
// the lock is released: engines are freed (a model's destructor joins its threads) and then
// listeners are told, so that neither runs under the pool's lock.
//
// Thread-safety: thread-safe; every PooledEngine field that changes is guarded by mu_.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "core/thread_annotations.h"
#include "pool/engine_pool.h"
#include "pool/pool_metrics.h"

namespace modelrt::internal {

// One engine as the pool holds it. Fixed after Install except where marked.
struct PooledEngine {
  EngineKey key;
  std::shared_ptr<Model> model;
  uint64_t generation = 0;
  int64_t memory_bytes = 0;
  std::chrono::system_clock::time_point loaded_at;
  // Guarded by the owning PoolCore's mu_.
  EngineOptions options;
  EngineState state = EngineState::kLive;
  bool gone = false;  // no longer in the pool (freed once the last holder lets go)
  int64_t in_flight = 0;
  Clock::time_point last_used;  // pool clock
  std::chrono::system_clock::time_point last_used_wall;
};

class PoolCore {
 public:
  explicit PoolCore(EnginePool::Options options);
  ~PoolCore();
  PoolCore(const PoolCore&) = delete;
  PoolCore& operator=(const PoolCore&) = delete;

  Result<EnginePool::Lease> Checkout(const EngineKey& key, bool count);
  std::shared_ptr<Model> Peek(const EngineKey& key) const;
  void Release(const std::shared_ptr<PooledEngine>& engine);

  Result<EnginePool::Reservation> Reserve(const EngineKey& key, int64_t bytes,
                                          const CallContext& ctx);
  Status Resize(uint64_t id, const EngineKey& key, int64_t* bytes, int64_t new_bytes,
                const CallContext& ctx);
  // Gives a reservation's room back; `failed`: count a load failure.
  void DropReservation(uint64_t id, bool failed);
  Result<EnginePool::Installed> Install(EnginePool::Reservation reservation,
                                        EnginePool::InstallRequest request);

  bool Evict(const EngineKey& key, EvictionReason reason, const std::string& detail = {});
  void Fence(const EngineKey& key, uint64_t epoch);
  bool SetEngineOptions(const EngineKey& key, bool pinned,
                        std::optional<std::chrono::milliseconds> keep_alive);
  void SetLimits(int64_t budget, int max_loaded, std::chrono::milliseconds idle_ttl,
                 std::chrono::milliseconds health_interval);

  void RunMaintenance();
  void CheckHealth();

  KeyStatus Describe(const EngineKey& key) const;
  PoolStats Stats() const;
  uint64_t AddListener(std::function<void(const EvictionEvent&)> listener);
  void RemoveListener(uint64_t id);
  void Shutdown();

 private:
  struct Slot {
    std::shared_ptr<PooledEngine> live;
    std::vector<std::shared_ptr<PooledEngine>> draining;
    uint64_t epoch = 0;
    uint64_t last_generation = 0;
    std::optional<int64_t> last_memory_bytes;
  };
  struct Held {  // a reservation's room
    EngineKey key;
    int64_t bytes = 0;
  };
  // What left the pool under the lock: freed, then announced, after unlocking.
  struct Aftermath {
    std::vector<std::shared_ptr<PooledEngine>> freed;
    std::vector<EvictionEvent> events;
  };

  Clock::time_point Now() const { return options_.clock ? options_.clock() : Clock::now(); }
  bool FitsLocked(int64_t bytes, int engines) const REQUIRES(mu_);
  // Evicts idle engines (LRU) when that makes room for `bytes` and `engines` more; true when there
  // is room (after evicting or not). Evicts nothing when even all of them would not do.
  bool MakeRoomLocked(const EngineKey& protect, int64_t bytes, int engines, Aftermath* after)
      REQUIRES(mu_);
  // Blocks (releasing mu_) until MakeRoomLocked succeeds, the deadline passes or ctx/shutdown
  // cancels. `what` names the load in the Unavailable message.
  Status WaitForRoomLocked(MutexLock& lock, const EngineKey& key, int64_t bytes, int engines,
                           const CallContext& ctx, Aftermath* after) REQUIRES(mu_);
  // Takes the key's live engine out of service: gone when idle, else draining.
  void RetireLocked(Slot& slot, EvictionReason reason, const std::string& detail, Aftermath* after)
      REQUIRES(mu_);
  void GoneLocked(const std::shared_ptr<PooledEngine>& engine, Aftermath* after) REQUIRES(mu_);
  std::optional<std::chrono::milliseconds> TtlOf(const PooledEngine& engine) const REQUIRES(mu_);
  EngineStatus StatusOf(const PooledEngine& engine) const REQUIRES(mu_);
  std::string RoomReportLocked() const REQUIRES(mu_);
  void PublishLocked() REQUIRES(mu_);
  void Settle(Aftermath after);
  void MaintenanceLoop();

  EnginePool::Options options_;  // limits guarded by mu_ (SetLimits), the rest fixed
  PoolMetrics metrics_;

  mutable Mutex mu_;
  CondVar room_cv_;         // room may have appeared (release, eviction, dropped reservation)
  CondVar maintenance_cv_;  // shutdown
  bool stopping_ GUARDED_BY(mu_) = false;
  std::map<EngineKey, Slot> slots_ GUARDED_BY(mu_);
  std::map<uint64_t, Held> reservations_ GUARDED_BY(mu_);
  uint64_t next_reservation_ GUARDED_BY(mu_) = 0;
  int64_t bytes_in_use_ GUARDED_BY(mu_) = 0;
  int64_t bytes_reserved_ GUARDED_BY(mu_) = 0;
  int engines_ GUARDED_BY(mu_) = 0;  // live + draining
  int slotted_ GUARDED_BY(mu_) = 0;  // the engines_ that take a max_loaded slot (TakesSlot)
  int slotted_reservations_ GUARDED_BY(mu_) = 0;
  int draining_ GUARDED_BY(mu_) = 0;
  int waiting_ GUARDED_BY(mu_) = 0;
  uint64_t global_generation_ GUARDED_BY(mu_) = 0;
  uint64_t hits_ GUARDED_BY(mu_) = 0;
  uint64_t misses_ GUARDED_BY(mu_) = 0;
  uint64_t loads_ GUARDED_BY(mu_) = 0;
  uint64_t load_failures_ GUARDED_BY(mu_) = 0;
  std::map<std::string, uint64_t> evictions_ GUARDED_BY(mu_);
  Clock::time_point last_health_ GUARDED_BY(mu_);

  Mutex listeners_mu_;  // never held with mu_
  std::map<uint64_t, std::function<void(const EvictionEvent&)>> listeners_
      GUARDED_BY(listeners_mu_);
  uint64_t next_listener_ GUARDED_BY(listeners_mu_) = 0;

  std::thread maintenance_;  // started in the constructor when maintenance_period > 0
};

}  // namespace modelrt::internal
