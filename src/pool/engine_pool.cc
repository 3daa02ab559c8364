// EnginePool and its Lease and Reservation: the public face of PoolCore.
#include <utility>

#include "pool/engine_pool.h"
#include "pool/pool_core.h"

namespace modelrt {

std::string_view ToString(EvictionReason reason) {
  switch (reason) {
    case EvictionReason::kLru:
      return "lru";
    case EvictionReason::kTtl:
      return "ttl";
    case EvictionReason::kHealth:
      return "health";
    case EvictionReason::kManual:
      return "manual";
    case EvictionReason::kReplaced:
      return "replaced";
  }
  return "unknown";
}

std::string_view ToString(EngineState state) {
  switch (state) {
    case EngineState::kLive:
      return "live";
    case EngineState::kDraining:
      return "draining";
  }
  return "unknown";
}

PoolOptions PoolOptions::FromConfig(const PoolConfig& config) {
  PoolOptions options;
  options.memory_budget_bytes = config.memory_budget_mb * (int64_t{1} << 20);
  options.max_loaded = config.max_loaded;
  options.idle_ttl = std::chrono::seconds(config.idle_ttl_s);
  options.health_check_interval = std::chrono::seconds(config.health_check_interval_s);
  return options;
}

// ---- Lease --------------------------------------------------------------------------------------

EnginePool::Lease::Lease(internal::PoolCore* core, std::shared_ptr<internal::PooledEngine> engine,
                         std::shared_ptr<Model> model)
    : core_(core), engine_(std::move(engine)), model_(std::move(model)) {}

EnginePool::Lease::Lease(Lease&& other) noexcept
    : core_(std::exchange(other.core_, nullptr)),
      engine_(std::move(other.engine_)),
      model_(std::move(other.model_)) {}

EnginePool::Lease& EnginePool::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Reset();
    core_ = std::exchange(other.core_, nullptr);
    engine_ = std::move(other.engine_);
    model_ = std::move(other.model_);
  }
  return *this;
}

EnginePool::Lease::~Lease() { Reset(); }

void EnginePool::Lease::Reset() {
  if (core_ != nullptr) std::exchange(core_, nullptr)->Release(engine_);
  engine_.reset();
  model_.reset();  // the last holder of a retired engine frees it here, outside the pool's lock
}

std::shared_ptr<const void> EnginePool::Lease::CheckIn() {
  if (core_ != nullptr) std::exchange(core_, nullptr)->Release(engine_);
  using Held = std::pair<std::shared_ptr<internal::PooledEngine>, std::shared_ptr<Model>>;
  return std::make_shared<const Held>(std::move(engine_), std::move(model_));
}

const EngineKey& EnginePool::Lease::key() const { return engine_->key; }

uint64_t EnginePool::Lease::generation() const { return engine_->generation; }

// ---- Reservation --------------------------------------------------------------------------------

EnginePool::Reservation::Reservation(Reservation&& other) noexcept
    : core_(std::exchange(other.core_, nullptr)),
      id_(other.id_),
      key_(std::move(other.key_)),
      bytes_(other.bytes_) {}

EnginePool::Reservation& EnginePool::Reservation::operator=(Reservation&& other) noexcept {
  if (this != &other) {
    Reset();
    core_ = std::exchange(other.core_, nullptr);
    id_ = other.id_;
    key_ = std::move(other.key_);
    bytes_ = other.bytes_;
  }
  return *this;
}

EnginePool::Reservation::~Reservation() { Reset(); }

void EnginePool::Reservation::Reset() {
  if (core_ != nullptr) std::exchange(core_, nullptr)->DropReservation(id_, /*failed=*/true);
}

Status EnginePool::Reservation::Resize(int64_t bytes, const CallContext& ctx) {
  if (core_ == nullptr) return FailedPreconditionError("reservation is not held");
  return core_->Resize(id_, key_, &bytes_, bytes, ctx);
}

// ---- EnginePool ---------------------------------------------------------------------------------

Result<std::unique_ptr<EnginePool>> EnginePool::Create(Options options) {
  if (options.memory_budget_bytes < 0) {
    return InvalidArgumentError("pool.memory_budget: must not be negative");
  }
  if (options.max_loaded < 0) return InvalidArgumentError("pool.max_loaded: must not be negative");
  return std::unique_ptr<EnginePool>(
      new EnginePool(std::make_unique<internal::PoolCore>(std::move(options))));
}

EnginePool::EnginePool(std::unique_ptr<internal::PoolCore> core) : core_(std::move(core)) {}

EnginePool::~EnginePool() { core_->Shutdown(); }

Result<EnginePool::Lease> EnginePool::Checkout(const EngineKey& key, bool count) {
  return core_->Checkout(key, count);
}

std::shared_ptr<Model> EnginePool::Peek(const EngineKey& key) const { return core_->Peek(key); }

Result<EnginePool::Reservation> EnginePool::Reserve(const EngineKey& key, int64_t bytes,
                                                    const CallContext& ctx) {
  return core_->Reserve(key, bytes, ctx);
}

Result<EnginePool::Installed> EnginePool::Install(Reservation reservation, InstallRequest request) {
  return core_->Install(std::move(reservation), std::move(request));
}

bool EnginePool::Evict(const EngineKey& key, EvictionReason reason) {
  return core_->Evict(key, reason);
}

void EnginePool::Fence(const EngineKey& key, uint64_t epoch) { core_->Fence(key, epoch); }

bool EnginePool::SetEngineOptions(const EngineKey& key, bool pinned,
                                  std::optional<std::chrono::milliseconds> keep_alive) {
  return core_->SetEngineOptions(key, pinned, keep_alive);
}

void EnginePool::SetLimits(int64_t memory_budget_bytes, int max_loaded,
                           std::chrono::milliseconds idle_ttl,
                           std::chrono::milliseconds health_check_interval) {
  core_->SetLimits(memory_budget_bytes, max_loaded, idle_ttl, health_check_interval);
}

void EnginePool::RunMaintenance() { core_->RunMaintenance(); }

void EnginePool::CheckHealth() { core_->CheckHealth(); }

KeyStatus EnginePool::Describe(const EngineKey& key) const { return core_->Describe(key); }

PoolStats EnginePool::Stats() const { return core_->Stats(); }

uint64_t EnginePool::AddEvictionListener(std::function<void(const EvictionEvent&)> listener) {
  return core_->AddListener(std::move(listener));
}

void EnginePool::RemoveEvictionListener(uint64_t id) { core_->RemoveListener(id); }

void EnginePool::Shutdown() { core_->Shutdown(); }

}  // namespace modelrt
