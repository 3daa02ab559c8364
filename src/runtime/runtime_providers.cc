// RuntimeCore's providers at run time: warmup, add, replace (rebinding the aliases that use the
// provider), remove. See runtime_core.h.
#include <string>

#include "core/logging.h"
#include "runtime/runtime_core.h"

namespace modelrt::internal {

void RuntimeCore::WarmupProviders() {
  for (const std::shared_ptr<Provider>& provider : providers_.All()) {
    Status s = providers_.EnsureWarm(*provider);
    if (!s.ok()) {
      Log("runtime")->warn("provider '{}' warmup failed (retried before its first load): {}",
                           provider->id(), s.ToString());
    }
  }
}

Status RuntimeCore::AddProvider(ProviderSource source) {
  if (source.provider == nullptr) return InvalidArgumentError("AddProvider: null provider");
  const std::string id = source.provider->id();
  MODELRT_RETURN_IF_ERROR(providers_.Add(std::move(source.provider), std::move(source.config)));
  Log("runtime")->info("added provider '{}'", id);
  return OkStatus();
}

Result<std::vector<std::string>> RuntimeCore::ReplaceProvider(ProviderSource source) {
  if (source.provider == nullptr) return InvalidArgumentError("ReplaceProvider: null provider");
  std::shared_ptr<Provider> provider = source.provider;
  const std::string id = provider->id();
  MODELRT_RETURN_IF_ERROR(providers_.Replace(std::move(source.provider), std::move(source.config)));
  // Rebind under one lock so no alias is seen half-way; the fences go up after, as in UpdateSpec.
  std::vector<std::string> aliases;
  std::vector<std::pair<EngineKey, uint64_t>> fences;
  {
    MutexLock lock(mu_);
    for (auto& [alias, entry] : entries_) {
      if (!entry.spec->UsesProvider(id)) continue;
      entry.provider = provider;
      entry.epoch = ++next_epoch_;
      aliases.push_back(alias);
      fences.emplace_back(entry.key, entry.epoch);
    }
  }
  // A load of the old provider still in flight must not install after the swap; a live engine
  // keeps serving until it is reloaded (or evicted).
  for (const auto& [key, epoch] : fences) pool_->Fence(key, epoch);
  Log("runtime")->info("replaced provider '{}' ({} alias(es) rebound)", id, aliases.size());
  return aliases;
}

Status RuntimeCore::RemoveProvider(std::string_view id) {
  std::string users;
  {
    MutexLock lock(mu_);
    for (const auto& [alias, entry] : entries_) {
      if (entry.spec->UsesProvider(id)) users += (users.empty() ? "'" : ", '") + alias + "'";
    }
  }
  if (!providers_.Contains(id)) return NotFoundError("unknown provider '" + std::string(id) + "'");
  if (!users.empty()) {
    return FailedPreconditionError("provider '" + std::string(id) + "' is used by models " +
                                   users + "; remove them first");
  }
  // An alias registered between the check and here would keep its own reference to the provider;
  // callers serialize provider and alias changes (the registry listener does) to rule that out.
  MODELRT_RETURN_IF_ERROR(providers_.Remove(id));
  Log("runtime")->info("removed provider '{}'", id);
  return OkStatus();
}

}  // namespace modelrt::internal
