#include "runtime/provider_table.h"

namespace modelrt::internal {

Status ProviderTable::Add(std::shared_ptr<Provider> provider, std::optional<ProviderConfig> config) {
  if (provider == nullptr) return InvalidArgumentError("AddProvider: null provider");
  const std::string id = provider->id();
  MutexLock lock(mu_);
  if (slots_.count(id) != 0) return AlreadyExistsError("provider '" + id + "' already exists");
  slots_.emplace(id, Slot{std::move(provider), std::move(config)});
  return OkStatus();
}

Status ProviderTable::Replace(std::shared_ptr<Provider> provider,
                              std::optional<ProviderConfig> config) {
  if (provider == nullptr) return InvalidArgumentError("ReplaceProvider: null provider");
  MutexLock lock(mu_);
  auto it = slots_.find(provider->id());
  if (it == slots_.end()) return NotFoundError("unknown provider '" + provider->id() + "'");
  it->second = Slot{std::move(provider), std::move(config)};  // a fresh warm state too
  return OkStatus();
}

Status ProviderTable::Remove(std::string_view id) {
  MutexLock lock(mu_);
  auto it = slots_.find(id);
  if (it == slots_.end()) return NotFoundError("unknown provider '" + std::string(id) + "'");
  slots_.erase(it);
  return OkStatus();
}

std::shared_ptr<Provider> ProviderTable::Find(std::string_view id) const {
  MutexLock lock(mu_);
  auto it = slots_.find(id);
  return it == slots_.end() ? nullptr : it->second.provider;
}

std::vector<std::string> ProviderTable::Ids() const {
  MutexLock lock(mu_);
  std::vector<std::string> ids;
  for (const auto& [id, slot] : slots_) ids.push_back(id);
  return ids;
}

std::vector<std::shared_ptr<Provider>> ProviderTable::All() const {
  MutexLock lock(mu_);
  std::vector<std::shared_ptr<Provider>> all;
  for (const auto& [id, slot] : slots_) all.push_back(slot.provider);
  return all;
}

std::map<std::string, ProviderConfig> ProviderTable::Configs() const {
  MutexLock lock(mu_);
  std::map<std::string, ProviderConfig> configs;
  for (const auto& [id, slot] : slots_) {
    if (slot.config) configs.emplace(id, *slot.config);
  }
  return configs;
}

Status ProviderTable::EnsureWarm(Provider& provider) {
  std::shared_ptr<WarmState> state;
  {
    MutexLock lock(mu_);
    auto it = slots_.find(provider.id());
    if (it != slots_.end() && it->second.provider.get() == &provider) state = it->second.warm;
  }
  if (state == nullptr) {
    Status s = provider.Warmup();
    return s.ok() ? s : s.WithPrefix("provider '" + provider.id() + "' warmup");
  }
  MutexLock lock(state->mu);
  if (state->warm) return OkStatus();
  Status s = provider.Warmup();
  if (!s.ok()) return s.WithPrefix("provider '" + provider.id() + "' warmup");
  state->warm = true;
  return OkStatus();
}

}  // namespace modelrt::internal
