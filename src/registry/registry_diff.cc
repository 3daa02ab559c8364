// Snapshot differences; see registry_diff.h. Also home of the public DiffSnapshots.
#include "registry/registry_diff.h"

#include <algorithm>

#include "registry/registry_json.h"

namespace modelrt {
namespace {

// Sorted keys added to, changed in and removed from `after` relative to `before`.
template <typename Map, typename Same>
void DiffMaps(const Map& before, const Map& after, Same same, std::vector<std::string>* added,
              std::vector<std::string>* changed, std::vector<std::string>* removed) {
  for (const auto& [key, value] : after) {
    auto it = before.find(key);
    if (it == before.end()) {
      added->push_back(key);
    } else if (!same(it->second, value)) {
      changed->push_back(key);
    }
  }
  for (const auto& [key, value] : before) {
    if (after.count(key) == 0) removed->push_back(key);
  }
}

}  // namespace

bool RegistryDiff::empty() const {
  return providers_added.empty() && providers_changed.empty() && providers_removed.empty() &&
         bindings_added.empty() && bindings_changed.empty() && bindings_removed.empty() &&
         profiles_added.empty() && profiles_changed.empty() && profiles_removed.empty();
}

RegistryDiff DiffSnapshots(const RegistrySnapshot& before, const RegistrySnapshot& after) {
  RegistryDiff diff;
  DiffMaps(before.providers, after.providers, registry::SameProvider, &diff.providers_added,
           &diff.providers_changed, &diff.providers_removed);
  DiffMaps(before.bindings, after.bindings, registry::SameBinding, &diff.bindings_added,
           &diff.bindings_changed, &diff.bindings_removed);
  DiffMaps(before.profiles, after.profiles, registry::SameProfile, &diff.profiles_added,
           &diff.profiles_changed, &diff.profiles_removed);
  // A replaced provider makes every engine built from it stale (a deployment's included).
  for (const auto& [alias, binding] : after.bindings) {
    auto old = before.bindings.find(alias);
    if (old == before.bindings.end() ||
        std::binary_search(diff.bindings_changed.begin(), diff.bindings_changed.end(), alias)) {
      continue;
    }
    for (const std::string& id : diff.providers_changed) {
      if (binding.UsesProvider(id) && old->second.UsesProvider(id)) {
        diff.bindings_changed.insert(
            std::lower_bound(diff.bindings_changed.begin(), diff.bindings_changed.end(), alias),
            alias);
        break;
      }
    }
  }
  return diff;
}

namespace registry {

std::vector<RegistryChange> ChangesBetween(const RegistrySnapshot& from,
                                           const RegistrySnapshot& to) {
  using Kind = RegistryChange::Kind;
  std::vector<RegistryChange> changes;
  auto add = [&changes](Kind kind, std::string key) -> RegistryChange& {
    RegistryChange& change = changes.emplace_back();
    change.kind = kind;
    change.key = std::move(key);
    return change;
  };
  for (const auto& [id, provider] : to.providers) {
    auto it = from.providers.find(id);
    if (it == from.providers.end()) {
      add(Kind::kRegisterProvider, id).provider = provider;
    } else if (!SameProvider(it->second, provider)) {
      add(Kind::kReplaceProvider, id).provider = provider;
    }
  }
  // Changed profiles go out and come back last: until then they might pin a binding's task or
  // hold a name a binding takes.
  auto profile_changed = [&to](const std::string& name, const ProfileSpec& profile) {
    auto it = to.profiles.find(name);
    return it == to.profiles.end() || !SameProfile(it->second, profile);
  };
  for (const auto& [name, profile] : from.profiles) {
    if (profile_changed(name, profile)) add(Kind::kRemoveProfile, name);
  }
  // The profiles left are in `to`, so they use none of the bindings removed here.
  for (const auto& [alias, binding] : from.bindings) {
    if (to.bindings.count(alias) == 0) add(Kind::kRemoveBinding, alias);
  }
  for (const auto& [alias, binding] : to.bindings) {
    auto it = from.bindings.find(alias);
    if (it == from.bindings.end() || !SameBinding(it->second, binding)) {
      add(Kind::kUpsertBinding, alias).binding = binding;
    }
  }
  for (const auto& [name, profile] : to.profiles) {
    auto it = from.profiles.find(name);
    if (it == from.profiles.end() || profile_changed(name, it->second)) {
      add(Kind::kUpsertProfile, name).profile = profile;
    }
  }
  // By now the bindings are `to`'s, and none of them uses a provider `to` lacks.
  for (const auto& [id, provider] : from.providers) {
    if (to.providers.count(id) == 0) add(Kind::kRemoveProvider, id).policy = RemovalPolicy::kBlock;
  }
  return changes;
}

}  // namespace registry
}  // namespace modelrt
