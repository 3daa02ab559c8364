#include "control/registry_runtime_sync.h"

#include <string>

#include "core/logging.h"

namespace modelrt::control {
namespace {

using Kind = RegistryChange::Kind;

// The step is done when its target is already gone.
Status IgnoreNotFound(Status status) {
  return status.code() == StatusCode::kNotFound ? OkStatus() : status;
}

}  // namespace

RegistryRuntimeSync::RegistryRuntimeSync(Registry& registry, ModelRuntime& runtime,
                                         FileSettings file_settings)
    : registry_(registry), runtime_(runtime), file_settings_(std::move(file_settings)) {
  subscription_ = registry_.Subscribe(
      [this](const RegistryChange& change, const RegistrySnapshot&, const RegistrySnapshot& after) {
        OnChange(change, after);
      });
}

RegistryRuntimeSync::~RegistryRuntimeSync() { registry_.Unsubscribe(subscription_); }

Config RegistryRuntimeSync::EffectiveConfig(Config settings, const RegistrySnapshot& snapshot) {
  settings.providers.clear();
  settings.models.clear();
  settings.profiles.clear();
  for (const auto& [id, provider] : snapshot.providers) settings.providers.push_back(provider);
  for (const auto& [alias, binding] : snapshot.bindings) settings.models.push_back(binding);
  for (const auto& [name, profile] : snapshot.profiles) settings.profiles.push_back(profile);
  return settings;
}

RegistryRuntimeSync::Outcome RegistryRuntimeSync::OutcomeOf(uint64_t version) const {
  MutexLock lock(mu_);
  auto it = outcomes_.find(version);
  if (it == outcomes_.end()) {
    return {InternalError("no runtime outcome recorded for registry version " +
                          std::to_string(version)),
            {}};
  }
  return it->second;
}

void RegistryRuntimeSync::OnChange(const RegistryChange& change, const RegistrySnapshot& after) {
  Outcome outcome = Apply(change, after);
  if (!outcome.status.ok()) {
    Log("control")->warn("registry version {} ({} '{}') not applied to the runtime: {}",
                         after.version, ToString(change.kind), change.key,
                         outcome.status.ToString());
  }
  MutexLock lock(mu_);
  outcomes_[after.version] = std::move(outcome);
  while (outcomes_.size() > kKeep) outcomes_.erase(outcomes_.begin());
}

RegistryRuntimeSync::Outcome RegistryRuntimeSync::Apply(const RegistryChange& change,
                                                        const RegistrySnapshot& after) {
  Outcome out;
  switch (change.kind) {
    case Kind::kRegisterProvider:
    case Kind::kReplaceProvider: {
      if (!runtime_.HasProvider(change.provider.id)) {
        out.status = runtime_.AddProvider(change.provider);
        if (out.status.ok()) out.summary.providers_added.push_back(change.provider.id);
        break;
      }
      Result<ConfigApplySummary> replaced = runtime_.ReplaceProvider(change.provider);
      if (replaced) {
        out.summary = *std::move(replaced);
      } else {
        out.status = replaced.error();
      }
      break;
    }
    case Kind::kRemoveProvider:
      for (const std::string& alias : change.removed_bindings) {
        out.status = IgnoreNotFound(runtime_.Remove(alias));
        if (!out.status.ok()) break;
        out.summary.removed.push_back(alias);
      }
      if (out.status.ok()) out.status = IgnoreNotFound(runtime_.RemoveProvider(change.key));
      if (out.status.ok()) out.summary.providers_removed.push_back(change.key);
      break;
    case Kind::kUpsertBinding:
      if (runtime_.Contains(change.binding.alias)) {
        out.status = runtime_.Update(change.binding);
        if (out.status.ok()) out.summary.updated.push_back(change.binding.alias);
      } else {
        out.status = runtime_.Register(change.binding);
        if (out.status.ok()) out.summary.added.push_back(change.binding.alias);
      }
      break;
    case Kind::kRemoveBinding:
      out.status = IgnoreNotFound(runtime_.Remove(change.key));
      if (out.status.ok()) out.summary.removed.push_back(change.key);
      break;
    case Kind::kUpsertProfile:
    case Kind::kRemoveProfile:
      break;  // profiles are resolved from the registry's current snapshot
    case Kind::kRebase: {
      Result<ConfigApplySummary> applied =
          runtime_.ApplyConfig(EffectiveConfig(file_settings_(), after));
      if (applied) {
        out.summary = *std::move(applied);
      } else {
        out.status = applied.error();
      }
      break;
    }
  }
  return out;
}

}  // namespace modelrt::control
