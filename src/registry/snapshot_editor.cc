// The registry's rules; see snapshot_editor.h.
#include "registry/snapshot_editor.h"

#include <algorithm>
#include <cctype>

#include "catalog/options_json.h"
#include "core/json.h"

namespace modelrt::registry {
namespace {

constexpr size_t kMaxNameLength = 128;

// The catalog's naming rules, repeated so run-time changes obey what the config file obeys.
bool IsValidProviderId(std::string_view id) {
  return !id.empty() && id.size() <= kMaxNameLength &&
         std::all_of(id.begin(), id.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
         });
}

bool IsValidAlias(std::string_view alias) {
  return !alias.empty() && alias.size() <= kMaxNameLength &&
         std::all_of(alias.begin(), alias.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
                  c == ':' || c == '/' || c == '-';
         });
}

bool IsEnvVarName(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// Keys whose values are secrets. They must come from the environment: an inline secret would
// be written to the journal and shown by GET /admin/registry.
bool IsSecretKey(std::string key) {
  static constexpr std::string_view kSecretKeys[] = {
      "api_key", "apikey", "api_keys", "admin_key", "key", "token",
      "access_token", "api_token", "password", "secret"};
  std::transform(key.begin(), key.end(), key.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return std::find(std::begin(kSecretKeys), std::end(kSecretKeys), key) != std::end(kSecretKeys);
}

Status CheckObjectWithoutSecrets(const Json& json, const std::string& what) {
  if (!json.is_object()) return InvalidArgumentError(what + ": must be an object");
  for (const auto& [key, value] : json.items()) {
    if (IsSecretKey(key)) {
      return InvalidArgumentError(what + "." + key +
                                  ": secrets are not accepted inline; use api_key_env");
    }
  }
  return OkStatus();
}

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "'" : ", '") + name + "'";
  return out;
}

std::vector<std::string> BindingsUsing(const RegistrySnapshot& state, const std::string& id) {
  std::vector<std::string> aliases;
  for (const auto& [alias, binding] : state.bindings) {
    if (binding.UsesProvider(id)) aliases.push_back(alias);
  }
  return aliases;
}

std::vector<std::string> ProfilesUsing(const RegistrySnapshot& state, const std::string& alias) {
  std::vector<std::string> names;
  for (const auto& [name, profile] : state.profiles) {
    if (profile.model == alias) names.push_back(name);
  }
  return names;
}

Status CheckProvider(const ProviderConfig& provider) {
  const std::string what = "provider '" + provider.id + "'";
  if (!IsValidProviderId(provider.id)) {
    return InvalidArgumentError(what + ": id must be 1-128 characters from A-Z a-z 0-9 . _ -");
  }
  if (provider.type.empty()) return InvalidArgumentError(what + ": type is required");
  if (!provider.api_key_env.empty() && !IsEnvVarName(provider.api_key_env)) {
    // Most likely the key itself pasted in: never repeat it.
    return InvalidArgumentError(what +
                                ": api_key_env must name an environment variable, not hold the "
                                "secret itself");
  }
  return CheckObjectWithoutSecrets(OptionsJson(provider.options), what + ": options");
}

}  // namespace

Status SnapshotEditor::Apply(RegistryChange* change) {
  using Kind = RegistryChange::Kind;
  change->removed_bindings.clear();
  switch (change->kind) {
    case Kind::kRegisterProvider:
      change->key = change->provider.id;
      return RegisterProvider(change->provider);
    case Kind::kReplaceProvider:
      change->key = change->provider.id;
      return ReplaceProvider(change->provider);
    case Kind::kRemoveProvider:
      return RemoveProvider(change->key, change->policy, &change->removed_bindings);
    case Kind::kUpsertBinding:
      change->key = change->binding.alias;
      return UpsertBinding(change->binding);
    case Kind::kRemoveBinding: return RemoveBinding(change->key);
    case Kind::kUpsertProfile:
      change->key = change->profile.name;
      return UpsertProfile(change->profile);
    case Kind::kRemoveProfile: return RemoveProfile(change->key);
    case Kind::kRebase:
      return InvalidArgumentError("a rebase is not a change to apply; use Registry::Rebase");
  }
  return InvalidArgumentError("unknown registry change");
}

Result<RemovalPreview> SnapshotEditor::PreviewRemoval(const RegistrySnapshot& snapshot,
                                                      const std::string& id) {
  if (snapshot.providers.count(id) == 0) {
    return NotFoundError("provider '" + id + "' is not registered");
  }
  RemovalPreview preview;
  preview.provider = id;
  preview.version = snapshot.version;
  preview.bindings = BindingsUsing(snapshot, id);
  for (const std::string& alias : preview.bindings) {
    for (std::string& name : ProfilesUsing(snapshot, alias)) {
      preview.profiles.push_back(std::move(name));
    }
  }
  std::sort(preview.profiles.begin(), preview.profiles.end());
  preview.allowed_block = preview.bindings.empty();
  preview.allowed_cascade = preview.profiles.empty();
  if (!preview.allowed_block) {
    preview.block_reason = "provider '" + id + "' is used by bindings " +
                           Join(preview.bindings) +
                           "; remove them first or use policy=cascade";
  }
  if (!preview.allowed_cascade) {
    preview.cascade_reason = "bindings of provider '" + id + "' are used by profiles " +
                             Join(preview.profiles) + "; remove those profiles first";
  }
  return preview;
}

Status SnapshotEditor::RegisterProvider(const ProviderConfig& provider) {
  MODELRT_RETURN_IF_ERROR(CheckProvider(provider));
  if (state_.providers.count(provider.id) != 0) {
    return AlreadyExistsError("provider '" + provider.id + "' is already registered");
  }
  state_.providers.emplace(provider.id, provider);
  return OkStatus();
}

Status SnapshotEditor::ReplaceProvider(const ProviderConfig& provider) {
  MODELRT_RETURN_IF_ERROR(CheckProvider(provider));
  auto it = state_.providers.find(provider.id);
  if (it == state_.providers.end()) {
    return NotFoundError("provider '" + provider.id + "' is not registered");
  }
  it->second = provider;
  return OkStatus();
}

Status SnapshotEditor::RemoveProvider(const std::string& id, RemovalPolicy policy,
                                      std::vector<std::string>* removed_bindings) {
  MODELRT_ASSIGN_OR_RETURN(RemovalPreview preview, PreviewRemoval(state_, id));
  if (policy == RemovalPolicy::kBlock && !preview.allowed_block) {
    return FailedPreconditionError("cannot remove: " + preview.block_reason);
  }
  if (policy == RemovalPolicy::kCascade && !preview.allowed_cascade) {
    return FailedPreconditionError("cannot remove provider '" + id +
                                   "' with policy=cascade: " + preview.cascade_reason);
  }
  for (const std::string& alias : preview.bindings) state_.bindings.erase(alias);
  state_.providers.erase(id);
  *removed_bindings = std::move(preview.bindings);
  return OkStatus();
}

Status SnapshotEditor::UpsertBinding(const ModelSpec& binding) {
  const std::string what = "binding '" + binding.alias + "'";
  if (!IsValidAlias(binding.alias)) {
    return InvalidArgumentError(what +
                                ": alias must be 1-128 characters from A-Z a-z 0-9 . _ : / -");
  }
  if (binding.model.empty()) return InvalidArgumentError(what + ": model is required");
  if (state_.providers.count(binding.provider) == 0) {
    return InvalidArgumentError(what + ": unknown provider '" + binding.provider + "'");
  }
  for (size_t i = 0; i < binding.deployments.size(); ++i) {
    const Deployment& d = binding.deployments[i];
    if (state_.providers.count(d.provider) == 0) {
      return InvalidArgumentError(what + ": deployments[" + std::to_string(i) +
                                  "]: unknown provider '" + d.provider + "'");
    }
    if (d.model.empty() || d.weight < 1 || d.weight > 1000) {
      return InvalidArgumentError(what + ": deployments: each needs a model and a weight of 1-1000");
    }
  }
  if (!binding.deployments.empty() && (binding.provider != binding.deployments[0].provider ||
                                       binding.model != binding.deployments[0].model)) {
    return InvalidArgumentError(what + ": provider and model must be the first deployment's");
  }
  for (const std::string& fallback : binding.fallbacks) {
    if (!IsValidAlias(fallback) || fallback == binding.alias) {
      return InvalidArgumentError(what + ": fallbacks must name other aliases (got '" + fallback +
                                  "')");
    }
  }
  if (binding.retry.max_attempts < 1) {
    return InvalidArgumentError(what + ": retry.max_attempts must be at least 1");
  }
  MODELRT_RETURN_IF_ERROR(
      CheckObjectWithoutSecrets(OptionsJson(binding.options), what + ": options"));
  // Requests name profiles where they name aliases, so the two share one namespace.
  if (state_.profiles.count(binding.alias) != 0) {
    return AlreadyExistsError(what + ": '" + binding.alias + "' is already a profile name");
  }
  std::vector<std::string> users = ProfilesUsing(state_, binding.alias);
  if (binding.task != Task::kGenerate && !users.empty()) {
    return FailedPreconditionError(what + ": profiles " + Join(users) +
                                   " need a generate model (got task " +
                                   std::string(ToString(binding.task)) + ")");
  }
  state_.bindings.insert_or_assign(binding.alias, binding);
  return OkStatus();
}

Status SnapshotEditor::RemoveBinding(const std::string& alias) {
  if (state_.bindings.count(alias) == 0) {
    return NotFoundError("binding '" + alias + "' does not exist");
  }
  std::vector<std::string> users = ProfilesUsing(state_, alias);
  if (!users.empty()) {
    return FailedPreconditionError("cannot remove binding '" + alias + "': used by profiles " +
                                   Join(users));
  }
  state_.bindings.erase(alias);
  return OkStatus();
}

Status SnapshotEditor::UpsertProfile(const ProfileSpec& profile) {
  const std::string what = "profile '" + profile.name + "'";
  if (!IsValidAlias(profile.name)) {
    return InvalidArgumentError(what +
                                ": name must be 1-128 characters from A-Z a-z 0-9 . _ : / -");
  }
  auto target = state_.bindings.find(profile.model);
  if (target == state_.bindings.end()) {
    return InvalidArgumentError(what + ": unknown model alias '" + profile.model + "'");
  }
  if (target->second.task != Task::kGenerate) {
    return InvalidArgumentError(what + ": '" + profile.model + "' is a " +
                                std::string(ToString(target->second.task)) +
                                " model; a profile needs a generate model");
  }
  if (state_.bindings.count(profile.name) != 0) {
    return AlreadyExistsError(what + ": '" + profile.name + "' is already a model alias");
  }
  state_.profiles.insert_or_assign(profile.name, profile);
  return OkStatus();
}

Status SnapshotEditor::RemoveProfile(const std::string& name) {
  if (state_.profiles.erase(name) == 0) {
    return NotFoundError("profile '" + name + "' does not exist");
  }
  return OkStatus();
}

}  // namespace modelrt::registry
