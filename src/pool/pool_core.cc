#include "pool/pool_core.h"

#include <algorithm>
#include <utility>

#include "core/logging.h"

namespace modelrt::internal {
namespace {

// A waiting reservation also wakes this often to notice its context's cancel flag, which cannot
// wake a condition variable.
constexpr std::chrono::milliseconds kCancelPoll{20};

// Engines on the "remote" device hold no local resources: no max_loaded slot (their memory is
// what they report, normally 0).
bool TakesSlot(const EngineKey& key) { return key.device != "remote"; }

std::string MiB(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

}  // namespace

PoolCore::PoolCore(EnginePool::Options options)
    : options_(std::move(options)), metrics_(options_.metrics) {
  if (options_.on_evict) listeners_.emplace(++next_listener_, options_.on_evict);
  {
    MutexLock lock(mu_);
    last_health_ = Now();
    PublishLocked();
  }
  if (options_.maintenance_period.count() > 0) {
    maintenance_ = std::thread([this] { MaintenanceLoop(); });
  }
}

PoolCore::~PoolCore() { Shutdown(); }

void PoolCore::Shutdown() {
  Aftermath after;
  {
    MutexLock lock(mu_);
    stopping_ = true;
    // The engines leave with the shutdown, on the thread that runs it (the runtime's
    // destructor), not wherever the last reference to the pool is dropped later: a handle or an
    // asynchronous call may hold that, and drop it at process exit, after the loggers an
    // engine's destructor writes to are gone. An engine still leased goes with its last lease.
    for (auto& [key, slot] : slots_) {
      std::vector<std::shared_ptr<PooledEngine>> engines = slot.draining;
      if (slot.live) engines.push_back(std::exchange(slot.live, nullptr));
      for (const std::shared_ptr<PooledEngine>& engine : engines) GoneLocked(engine, &after);
    }
    room_cv_.notify_all();
    maintenance_cv_.notify_all();
    PublishLocked();
  }
  if (maintenance_.joinable() && maintenance_.get_id() != std::this_thread::get_id()) {
    maintenance_.join();
  }
  Settle(std::move(after));  // outside the lock: engines join their threads as they go
}

// ---- Checkout and release -----------------------------------------------------------------------

Result<EnginePool::Lease> PoolCore::Checkout(const EngineKey& key, bool count) {
  std::shared_ptr<PooledEngine> engine;
  {
    MutexLock lock(mu_);
    auto it = slots_.find(key);
    if (it == slots_.end() || it->second.live == nullptr) {
      if (count) {
        ++misses_;
        metrics_.misses->Increment();
        PublishLocked();
      }
      return NotFoundError("no engine loaded for " + key.ToString());
    }
    engine = it->second.live;
    ++engine->in_flight;  // held from here: nothing evicts it while we ask about its health
    engine->last_used = Now();
    engine->last_used_wall = std::chrono::system_clock::now();
  }
  EnginePool::Lease lease(this, engine, engine->model);
  // Outside the lock: Health() is the engine's own code and may take its own locks.
  Status health = engine->model->Health();
  Aftermath after;
  {
    MutexLock lock(mu_);
    if (health.ok()) {
      if (count) {
        ++hits_;
        metrics_.hits->Increment();
      }
    } else {
      if (count) {
        ++misses_;
        metrics_.misses->Increment();
      }
      Slot& slot = slots_[key];
      if (slot.live == engine)
        RetireLocked(slot, EvictionReason::kHealth, health.ToString(), &after);
    }
    PublishLocked();
  }
  if (health.ok()) return lease;
  Log("pool")->warn("{} (generation {}) failed its health check and was dropped: {}",
                    key.ToString(), engine->generation, health.ToString());
  Settle(std::move(after));  // the lease, released on return, frees the engine if idle
  return NotFoundError("engine for " + key.ToString() + " is unhealthy: " + health.ToString());
}

std::shared_ptr<Model> PoolCore::Peek(const EngineKey& key) const {
  MutexLock lock(mu_);
  auto it = slots_.find(key);
  if (it == slots_.end() || it->second.live == nullptr) return nullptr;
  return it->second.live->model;
}

void PoolCore::Release(const std::shared_ptr<PooledEngine>& engine) {
  Aftermath after;
  {
    MutexLock lock(mu_);
    if (engine->in_flight > 0) --engine->in_flight;
    engine->last_used = Now();
    engine->last_used_wall = std::chrono::system_clock::now();
    if (engine->in_flight == 0 && !engine->gone) {
      Slot& slot = slots_[engine->key];
      if (engine->state == EngineState::kDraining) {
        GoneLocked(engine, &after);
      } else if (slot.live == engine && !engine->options.pinned) {
        // keep-alive 0: unloaded right after use.
        auto ttl = TtlOf(*engine);
        if (ttl && ttl->count() == 0)
          RetireLocked(slot, EvictionReason::kTtl, "keep_alive 0", &after);
      }
      room_cv_.notify_all();
    }
    PublishLocked();
  }
  Settle(std::move(after));
}

// ---- Room ---------------------------------------------------------------------------------------

bool PoolCore::FitsLocked(int64_t bytes, int engines) const {
  const int64_t budget = options_.memory_budget_bytes;
  const int max = options_.max_loaded;
  const bool bytes_ok = budget <= 0 || bytes_in_use_ + bytes_reserved_ + bytes <= budget;
  const bool count_ok = max <= 0 || slotted_ + slotted_reservations_ + engines <= max;
  return bytes_ok && count_ok;
}

bool PoolCore::MakeRoomLocked(const EngineKey& protect, int64_t bytes, int engines,
                              Aftermath* after) {
  if (FitsLocked(bytes, engines)) return true;
  std::vector<std::shared_ptr<PooledEngine>> idle;
  for (auto& [key, slot] : slots_) {
    const auto& e = slot.live;
    if (e && key != protect && e->in_flight == 0 && !e->options.pinned) idle.push_back(e);
  }
  std::sort(idle.begin(), idle.end(),
            [](const auto& a, const auto& b) { return a->last_used < b->last_used; });
  // Plan first: evicting engines that still leave too little room would only hurt.
  const int64_t budget = options_.memory_budget_bytes;
  const int max = options_.max_loaded;
  int64_t used = bytes_in_use_ + bytes_reserved_ + bytes;
  int count = slotted_ + slotted_reservations_ + engines;
  size_t victims = 0;
  while ((budget > 0 && used > budget) || (max > 0 && count > max)) {
    if (victims == idle.size()) return false;
    used -= idle[victims]->memory_bytes;
    if (TakesSlot(idle[victims]->key)) --count;
    ++victims;
  }
  for (size_t i = 0; i < victims; ++i) {
    Log("pool")->info("evicting {} (generation {}, {}, least recently used) to make room",
                      idle[i]->key.ToString(), idle[i]->generation, MiB(idle[i]->memory_bytes));
    RetireLocked(slots_[idle[i]->key], EvictionReason::kLru, "needed room", after);
  }
  return true;
}

std::string PoolCore::RoomReportLocked() const {
  int busy = 0, pinned = 0;
  for (const auto& [key, slot] : slots_) {
    if (slot.live && slot.live->in_flight > 0) ++busy;
    if (slot.live && slot.live->options.pinned) ++pinned;
  }
  std::string budget =
      options_.memory_budget_bytes > 0 ? MiB(options_.memory_budget_bytes) : "unlimited";
  return "budget " + budget + ", in use " + MiB(bytes_in_use_) + " by " + std::to_string(engines_) +
         " engine(s) (" + std::to_string(busy) + " busy, " + std::to_string(pinned) + " pinned, " +
         std::to_string(draining_) + " draining), " + MiB(bytes_reserved_) + " reserved by " +
         std::to_string(reservations_.size()) + " load(s), max " +
         std::to_string(options_.max_loaded) + " engines";
}

Status PoolCore::WaitForRoomLocked(MutexLock& lock, const EngineKey& key, int64_t bytes,
                                   int engines, const CallContext& ctx, Aftermath* after) {
  ++waiting_;
  PublishLocked();
  Status status;
  bool logged = false;
  while (true) {
    if (stopping_) {
      status = CancelledError("engine pool is shutting down");
      break;
    }
    if (MakeRoomLocked(key, bytes, engines, after)) break;
    if (ctx.cancelled()) {
      status = CancelledError("cancelled while waiting for room to load " + key.ToString());
      break;
    }
    const auto now = Clock::now();
    if (now >= ctx.deadline) {
      status = UnavailableError("no room in the engine pool to load " + key.ToString() + " (" +
                                MiB(bytes) + ") before its load deadline: " + RoomReportLocked());
      break;
    }
    if (!logged) {
      Log("pool")->info("loading {} ({}) waits for room: {}", key.ToString(), MiB(bytes),
                        RoomReportLocked());
      logged = true;
    }
    room_cv_.wait_until(lock.native(), std::min(ctx.deadline, now + kCancelPoll));
  }
  --waiting_;
  PublishLocked();
  return status;
}

Result<EnginePool::Reservation> PoolCore::Reserve(const EngineKey& key, int64_t bytes,
                                                  const CallContext& ctx) {
  bytes = std::max<int64_t>(bytes, 0);
  Aftermath after;
  Result<EnginePool::Reservation> result = InternalError("unset");
  {
    MutexLock lock(mu_);
    const int64_t budget = options_.memory_budget_bytes;
    Status status;
    if (budget > 0 && bytes > budget) {
      status = UnavailableError("loading " + key.ToString() + " needs " + MiB(bytes) +
                                ", more than the engine pool's whole budget of " + MiB(budget));
    } else {
      status = WaitForRoomLocked(lock, key, bytes, TakesSlot(key) ? 1 : 0, ctx, &after);
    }
    if (status.ok()) {
      const uint64_t id = ++next_reservation_;
      reservations_.emplace(id, Held{key, bytes});
      if (TakesSlot(key)) ++slotted_reservations_;
      bytes_reserved_ += bytes;
      result = EnginePool::Reservation(this, id, key, bytes);
    } else {
      ++load_failures_;
      metrics_.load_failures->Increment();
      result = status;
    }
    PublishLocked();
  }
  Settle(std::move(after));
  return result;
}

Status PoolCore::Resize(uint64_t id, const EngineKey& key, int64_t* bytes, int64_t new_bytes,
                        const CallContext& ctx) {
  new_bytes = std::max<int64_t>(new_bytes, 0);
  Aftermath after;
  Status status;
  {
    MutexLock lock(mu_);
    auto it = reservations_.find(id);
    if (it == reservations_.end()) return FailedPreconditionError("reservation is not held");
    const int64_t extra = new_bytes - it->second.bytes;
    const int64_t budget = options_.memory_budget_bytes;
    if (extra > 0 && budget > 0 && new_bytes > budget) {
      status = UnavailableError(key.ToString() + " takes " + MiB(new_bytes) +
                                ", more than the engine pool's whole budget of " + MiB(budget));
    } else if (extra > 0) {
      status = WaitForRoomLocked(lock, key, extra, 0, ctx, &after);
    }
    it = reservations_.find(id);  // the wait released the lock; the entry is ours to change
    if (status.ok() && it != reservations_.end()) {
      bytes_reserved_ += new_bytes - it->second.bytes;
      it->second.bytes = new_bytes;
      *bytes = new_bytes;
      if (extra < 0) room_cv_.notify_all();
    }
    PublishLocked();
  }
  Settle(std::move(after));
  return status;
}

void PoolCore::DropReservation(uint64_t id, bool failed) {
  MutexLock lock(mu_);
  auto it = reservations_.find(id);
  if (it == reservations_.end()) return;
  bytes_reserved_ -= it->second.bytes;
  if (TakesSlot(it->second.key)) --slotted_reservations_;
  reservations_.erase(it);
  if (failed) {
    ++load_failures_;
    metrics_.load_failures->Increment();
  }
  room_cv_.notify_all();
  PublishLocked();
}

// ---- Install, evict, fence ----------------------------------------------------------------------

Result<EnginePool::Installed> PoolCore::Install(EnginePool::Reservation reservation,
                                                EnginePool::InstallRequest request) {
  if (reservation.core_ != this) return InvalidArgumentError("reservation of another pool");
  if (request.model == nullptr) return InvalidArgumentError("no model to install");
  const EngineKey key = reservation.key();
  auto engine = std::make_shared<PooledEngine>();
  engine->key = key;
  engine->model = request.model;
  engine->memory_bytes = std::max<int64_t>(request.model->Info().memory_bytes, 0);  // not locked
  engine->options = std::move(request.options);
  engine->loaded_at = std::chrono::system_clock::now();
  engine->last_used_wall = engine->loaded_at;
  Aftermath after;
  EnginePool::Installed installed;
  uint64_t fence = 0;
  {
    MutexLock lock(mu_);
    Slot& slot = slots_[key];
    fence = slot.epoch;
    if (request.epoch >= fence) {
      auto held = reservations_.find(reservation.id_);
      if (held != reservations_.end()) {
        bytes_reserved_ -= held->second.bytes;
        if (engine->memory_bytes > held->second.bytes) {
          // Not resized to the real size: take what room there is without waiting.
          MakeRoomLocked(key, engine->memory_bytes - held->second.bytes, 0, &after);
        }
        if (TakesSlot(key)) --slotted_reservations_;
        reservations_.erase(held);
      }
      reservation.core_ = nullptr;  // consumed
      slot.epoch = request.epoch;
      engine->generation = std::max(slot.last_generation, request.min_generation) + 1;
      slot.last_generation = engine->generation;
      slot.last_memory_bytes = engine->memory_bytes;
      engine->last_used = Now();
      installed.generation = engine->generation;
      installed.global_generation = ++global_generation_;
      if (slot.live) {
        RetireLocked(slot, EvictionReason::kReplaced,
                     "generation " + std::to_string(engine->generation) + " installed", &after);
        installed.replaced = after.events.back();
      }
      slot.live = engine;
      bytes_in_use_ += engine->memory_bytes;
      ++engines_;
      if (TakesSlot(engine->key)) ++slotted_;
      ++loads_;
      metrics_.loads->Increment();
      room_cv_.notify_all();
      PublishLocked();
    }
  }
  if (request.epoch < fence) {
    // Gives the room back and counts a failure: this load served no one.
    reservation.Reset();
    return Status(StatusCode::kAborted, "engine for " + key.ToString() + " was superseded (epoch " +
                                            std::to_string(request.epoch) + " < " +
                                            std::to_string(fence) + ")");
  }
  Settle(std::move(after));
  return installed;
}

void PoolCore::RetireLocked(Slot& slot, EvictionReason reason, const std::string& detail,
                            Aftermath* after) {
  std::shared_ptr<PooledEngine> engine = std::exchange(slot.live, nullptr);
  if (engine == nullptr) return;
  EvictionEvent event{engine->key,       reason, engine->generation, engine->memory_bytes,
                      engine->in_flight, detail};
  ++evictions_[std::string(ToString(reason))];
  metrics_.Eviction(reason).Increment();
  if (engine->in_flight == 0) {
    GoneLocked(engine, after);
  } else {
    engine->state = EngineState::kDraining;
    slot.draining.push_back(engine);
    ++draining_;
  }
  after->events.push_back(std::move(event));
}

void PoolCore::GoneLocked(const std::shared_ptr<PooledEngine>& engine, Aftermath* after) {
  if (engine->gone) return;
  engine->gone = true;
  Slot& slot = slots_[engine->key];
  auto it = std::find(slot.draining.begin(), slot.draining.end(), engine);
  if (it != slot.draining.end()) {
    slot.draining.erase(it);
    --draining_;
  }
  bytes_in_use_ -= engine->memory_bytes;
  --engines_;
  if (TakesSlot(engine->key)) --slotted_;
  after->freed.push_back(engine);
  room_cv_.notify_all();
}

bool PoolCore::Evict(const EngineKey& key, EvictionReason reason, const std::string& detail) {
  Aftermath after;
  {
    MutexLock lock(mu_);
    auto it = slots_.find(key);
    if (it == slots_.end() || it->second.live == nullptr) return false;
    RetireLocked(it->second, reason, detail, &after);
    PublishLocked();
  }
  Settle(std::move(after));
  return true;
}

void PoolCore::Fence(const EngineKey& key, uint64_t epoch) {
  MutexLock lock(mu_);
  Slot& slot = slots_[key];
  slot.epoch = std::max(slot.epoch, epoch);
}

bool PoolCore::SetEngineOptions(const EngineKey& key, bool pinned,
                                std::optional<std::chrono::milliseconds> keep_alive) {
  MutexLock lock(mu_);
  auto it = slots_.find(key);
  if (it == slots_.end() || it->second.live == nullptr) return false;
  it->second.live->options.pinned = pinned;
  it->second.live->options.keep_alive = keep_alive;
  return true;
}

void PoolCore::SetLimits(int64_t budget, int max_loaded, std::chrono::milliseconds idle_ttl,
                         std::chrono::milliseconds health_interval) {
  MutexLock lock(mu_);
  options_.memory_budget_bytes = budget;
  options_.max_loaded = max_loaded;
  options_.idle_ttl = idle_ttl;
  options_.health_check_interval = health_interval;
  room_cv_.notify_all();
  PublishLocked();
}

// ---- Maintenance --------------------------------------------------------------------------------

std::optional<std::chrono::milliseconds> PoolCore::TtlOf(const PooledEngine& engine) const {
  if (engine.options.keep_alive) {
    if (engine.options.keep_alive->count() < 0) return std::nullopt;
    return engine.options.keep_alive;
  }
  if (options_.idle_ttl.count() <= 0) return std::nullopt;
  return options_.idle_ttl;
}

void PoolCore::RunMaintenance() {
  bool health_due = false;
  Aftermath after;
  {
    MutexLock lock(mu_);
    const auto now = Now();
    for (auto& [key, slot] : slots_) {
      const auto& e = slot.live;
      if (!e || e->in_flight > 0 || e->options.pinned) continue;
      auto ttl = TtlOf(*e);
      if (ttl && now - e->last_used >= *ttl) {
        Log("pool")->info("evicting {} (generation {}): idle past its TTL of {} ms", key.ToString(),
                          e->generation, ttl->count());
        RetireLocked(slot, EvictionReason::kTtl, "idle past TTL", &after);
      }
    }
    const auto interval = options_.health_check_interval;
    if (interval.count() > 0 && now - last_health_ >= interval) {
      health_due = true;
      last_health_ = now;
    }
    PublishLocked();
  }
  Settle(std::move(after));
  if (health_due) CheckHealth();
}

void PoolCore::CheckHealth() {
  std::vector<std::shared_ptr<PooledEngine>> live;
  {
    MutexLock lock(mu_);
    for (auto& [key, slot] : slots_) {
      if (slot.live) live.push_back(slot.live);
    }
  }
  std::vector<std::pair<std::shared_ptr<PooledEngine>, Status>> sick;
  for (auto& engine : live) {
    Status s = engine->model->Health();  // outside the lock: the engine's own code
    if (!s.ok()) sick.emplace_back(engine, s);
  }
  live.clear();
  if (sick.empty()) return;
  Aftermath after;
  {
    MutexLock lock(mu_);
    for (auto& [engine, status] : sick) {
      Slot& slot = slots_[engine->key];
      if (slot.live != engine) continue;  // replaced or evicted meanwhile
      Log("pool")->warn("{} (generation {}) failed its health check and was dropped: {}",
                        engine->key.ToString(), engine->generation, status.ToString());
      RetireLocked(slot, EvictionReason::kHealth, status.ToString(), &after);
    }
    PublishLocked();
  }
  sick.clear();
  Settle(std::move(after));
}

void PoolCore::MaintenanceLoop() {
  while (true) {
    {
      MutexLock lock(mu_);
      const auto until = Clock::now() + options_.maintenance_period;
      while (!stopping_ && Clock::now() < until) {
        maintenance_cv_.wait_until(lock.native(), until);
      }
      if (stopping_) return;
    }
    RunMaintenance();
  }
}

void PoolCore::Settle(Aftermath after) {
  after.freed.clear();  // frees models nobody else holds, with no lock held
  if (after.events.empty()) return;
  std::vector<std::function<void(const EvictionEvent&)>> listeners;
  {
    MutexLock lock(listeners_mu_);
    for (const auto& [id, listener] : listeners_) listeners.push_back(listener);
  }
  for (const EvictionEvent& event : after.events) {
    for (const auto& listener : listeners) listener(event);
  }
}

uint64_t PoolCore::AddListener(std::function<void(const EvictionEvent&)> listener) {
  MutexLock lock(listeners_mu_);
  const uint64_t id = ++next_listener_;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void PoolCore::RemoveListener(uint64_t id) {
  MutexLock lock(listeners_mu_);
  listeners_.erase(id);
}

}  // namespace modelrt::internal
