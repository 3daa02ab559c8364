// Registry values ⇄ JSON; see registry_json.h. Also home of the public SnapshotToJson,
// RemovalPreviewToJson and the ToString/Parse functions for registry enums.
#include "registry/registry_json.h"

#include <cmath>
#include <limits>

#include "catalog/options_json.h"
#include "core/json.h"

namespace modelrt {
namespace registry {
namespace {

using std::chrono::milliseconds;

constexpr RegistryChange::Kind kKinds[] = {
    RegistryChange::Kind::kRegisterProvider, RegistryChange::Kind::kReplaceProvider,
    RegistryChange::Kind::kRemoveProvider,   RegistryChange::Kind::kUpsertBinding,
    RegistryChange::Kind::kRemoveBinding,    RegistryChange::Kind::kUpsertProfile,
    RegistryChange::Kind::kRemoveProfile};

std::string_view WarmupName(WarmupPolicy warmup) {
  switch (warmup) {
    case WarmupPolicy::kLazy: return "lazy";
    case WarmupPolicy::kEager: return "eager";
    case WarmupPolicy::kBackground: return "background";
  }
  return "lazy";
}

// Seconds as the config writes them: an integer when whole, else a fraction.
Json Seconds(milliseconds ms) {
  if (ms.count() % 1000 == 0) return Json(ms.count() / 1000);
  return Json(static_cast<double>(ms.count()) / 1000.0);
}

// Typed reads from one JSON object; errors name the value and the key. Absent optional keys
// leave the output untouched.
class Fields {
 public:
  Fields(const Json& json, std::string what) : json_(json), what_(std::move(what)) {}

  Status CheckObject() const {
    if (json_.is_object()) return OkStatus();
    return InvalidArgumentError(what_ + ": must be an object");
  }
  const Json* Find(const char* key) const {
    auto it = json_.find(key);
    return it == json_.end() || it->is_null() ? nullptr : &*it;
  }
  Status String(const char* key, std::string* out, bool required = false) const {
    const Json* value = Find(key);
    if (value == nullptr) return required ? Missing(key) : OkStatus();
    if (!value->is_string()) return Wrong(key, "a string");
    *out = value->get<std::string>();
    return OkStatus();
  }
  Status Bool(const char* key, bool* out) const {
    const Json* value = Find(key);
    if (value == nullptr) return OkStatus();
    if (!value->is_boolean()) return Wrong(key, "a boolean");
    *out = value->get<bool>();
    return OkStatus();
  }
  Status Int(const char* key, int64_t* out) const {
    const Json* value = Find(key);
    if (value == nullptr) return OkStatus();
    if (!value->is_number_integer()) return Wrong(key, "an integer");
    *out = value->get<int64_t>();
    return OkStatus();
  }
  Status Object(const char* key, Json* out) const {
    const Json* value = Find(key);
    if (value == nullptr) return OkStatus();
    if (!value->is_object()) return Wrong(key, "an object");
    *out = *value;
    return OkStatus();
  }
  Status Object(const char* key, Options* out) const {
    Json object;
    MODELRT_RETURN_IF_ERROR(Object(key, &object));
    if (!object.is_null()) *out = MakeOptions(std::move(object));
    return OkStatus();
  }
  Status Millis(const char* key, double scale, milliseconds* out) const {
    const Json* value = Find(key);
    if (value == nullptr) return OkStatus();
    if (!value->is_number()) return Wrong(key, "a number");
    double ms = value->get<double>() * scale;
    if (!std::isfinite(ms) || std::fabs(ms) > 1e15) return Wrong(key, "a finite duration");
    *out = milliseconds(std::llround(ms));
    return OkStatus();
  }

 private:
  Status Missing(const char* key) const {
    return InvalidArgumentError(what_ + "." + key + ": is required");
  }
  Status Wrong(const char* key, const char* type) const {
    return InvalidArgumentError(what_ + "." + key + ": must be " + type);
  }
  const Json& json_;
  std::string what_;
};

Status ReadEnum(const Fields& fields, const char* key, const std::vector<std::string_view>& names,
                int* out) {
  std::string text;
  MODELRT_RETURN_IF_ERROR(fields.String(key, &text));
  if (text.empty()) return OkStatus();
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == text) {
      *out = static_cast<int>(i);
      return OkStatus();
    }
  }
  return InvalidArgumentError(std::string(key) + ": unknown value '" + text + "'");
}

Json WithoutOrigin(Json json) {
  json.erase("origin");
  return json;
}

}  // namespace

Json ProviderToJson(const ProviderConfig& provider) {
  Json json = {
      {"id", provider.id}, {"type", provider.type}, {"options", OptionsJson(provider.options)}};
  if (!provider.base_url.empty()) json["base_url"] = provider.base_url;
  if (!provider.api_key_env.empty()) json["api_key_env"] = provider.api_key_env;
  if (!provider.api_key_file.empty()) json["api_key_file"] = provider.api_key_file;
  if (!provider.origin.empty()) json["origin"] = provider.origin;
  return json;
}

Result<ProviderConfig> ProviderFromJson(const Json& json) {
  Fields fields(json, "provider");
  MODELRT_RETURN_IF_ERROR(fields.CheckObject());
  ProviderConfig provider;
  MODELRT_RETURN_IF_ERROR(fields.String("id", &provider.id, /*required=*/true));
  MODELRT_RETURN_IF_ERROR(fields.String("type", &provider.type, /*required=*/true));
  MODELRT_RETURN_IF_ERROR(fields.String("base_url", &provider.base_url));
  MODELRT_RETURN_IF_ERROR(fields.String("api_key_env", &provider.api_key_env));
  MODELRT_RETURN_IF_ERROR(fields.String("api_key_file", &provider.api_key_file));
  MODELRT_RETURN_IF_ERROR(fields.Object("options", &provider.options));
  MODELRT_RETURN_IF_ERROR(fields.String("origin", &provider.origin));
  return provider;
}

Json BindingToJson(const ModelSpec& binding) {
  Json json = {{"alias", binding.alias},
               {"task", std::string(ToString(binding.task))},
               {"provider", binding.provider},
               {"model", binding.model},
               {"options", OptionsJson(binding.options)},
               {"warmup", std::string(WarmupName(binding.warmup))},
               {"required", binding.required},
               {"timeout_s", Seconds(binding.timeout)},
               {"load_timeout_s", Seconds(binding.load_timeout)},
               {"retry",
                {{"max_attempts", binding.retry.max_attempts},
                 {"initial_backoff_ms", binding.retry.initial_backoff.count()},
                 {"max_backoff_ms", binding.retry.max_backoff.count()}}},
               {"pinned", binding.pinned}};
  if (binding.keep_alive_s) json["keep_alive_s"] = *binding.keep_alive_s;
  if (binding.pull) json["pull"] = true;
  if (!binding.fallbacks.empty()) json["fallbacks"] = binding.fallbacks;
  for (const Deployment& d : binding.deployments) {
    json["deployments"].push_back(
        {{"provider", d.provider}, {"model", d.model}, {"weight", d.weight}});
  }
  if (!binding.origin.empty()) json["origin"] = binding.origin;
  return json;
}

Result<ModelSpec> BindingFromJson(const Json& json) {
  Fields fields(json, "binding");
  MODELRT_RETURN_IF_ERROR(fields.CheckObject());
  ModelSpec spec;
  MODELRT_RETURN_IF_ERROR(fields.String("alias", &spec.alias, /*required=*/true));
  int task = 0;
  if (fields.Find("task") == nullptr) return InvalidArgumentError("binding.task: is required");
  MODELRT_RETURN_IF_ERROR(ReadEnum(fields, "task", {"embed", "rerank", "generate"}, &task));
  spec.task = static_cast<Task>(task);
  if (const Json* deployments = fields.Find("deployments")) {
    if (!deployments->is_array()) {
      return InvalidArgumentError("binding.deployments: must be a list");
    }
    for (const Json& item : *deployments) {
      Fields d_fields(item, "binding.deployments[]");
      MODELRT_RETURN_IF_ERROR(d_fields.CheckObject());
      Deployment d;
      MODELRT_RETURN_IF_ERROR(d_fields.String("provider", &d.provider, /*required=*/true));
      MODELRT_RETURN_IF_ERROR(d_fields.String("model", &d.model, /*required=*/true));
      int64_t weight = d.weight;
      MODELRT_RETURN_IF_ERROR(d_fields.Int("weight", &weight));
      if (weight < 1 || weight > 1000) {
        return InvalidArgumentError("binding.deployments[].weight: must be 1-1000");
      }
      d.weight = static_cast<int>(weight);
      spec.deployments.push_back(std::move(d));
    }
  }
  // With deployments, provider and model are the first one's (and may be left out).
  const bool deployed = !spec.deployments.empty();
  MODELRT_RETURN_IF_ERROR(fields.String("provider", &spec.provider, /*required=*/!deployed));
  MODELRT_RETURN_IF_ERROR(fields.String("model", &spec.model, /*required=*/!deployed));
  if (deployed && spec.provider.empty()) spec.provider = spec.deployments[0].provider;
  if (deployed && spec.model.empty()) spec.model = spec.deployments[0].model;
  MODELRT_RETURN_IF_ERROR(fields.Object("options", &spec.options));
  int warmup = 0;
  MODELRT_RETURN_IF_ERROR(ReadEnum(fields, "warmup", {"lazy", "eager", "background"}, &warmup));
  spec.warmup = static_cast<WarmupPolicy>(warmup);
  MODELRT_RETURN_IF_ERROR(fields.Bool("required", &spec.required));
  MODELRT_RETURN_IF_ERROR(fields.Millis("timeout_s", 1000.0, &spec.timeout));
  MODELRT_RETURN_IF_ERROR(fields.Millis("load_timeout_s", 1000.0, &spec.load_timeout));
  if (const Json* retry = fields.Find("retry")) {
    Fields retry_fields(*retry, "binding.retry");
    MODELRT_RETURN_IF_ERROR(retry_fields.CheckObject());
    int64_t attempts = spec.retry.max_attempts;
    MODELRT_RETURN_IF_ERROR(retry_fields.Int("max_attempts", &attempts));
    if (attempts < 1 || attempts > std::numeric_limits<int>::max()) {
      return InvalidArgumentError("binding.retry.max_attempts: must be at least 1");
    }
    spec.retry.max_attempts = static_cast<int>(attempts);
    MODELRT_RETURN_IF_ERROR(
        retry_fields.Millis("initial_backoff_ms", 1.0, &spec.retry.initial_backoff));
    MODELRT_RETURN_IF_ERROR(retry_fields.Millis("max_backoff_ms", 1.0, &spec.retry.max_backoff));
  }
  MODELRT_RETURN_IF_ERROR(fields.Bool("pinned", &spec.pinned));
  MODELRT_RETURN_IF_ERROR(fields.Bool("pull", &spec.pull));
  if (fields.Find("keep_alive_s") != nullptr) {
    int64_t keep_alive = 0;
    MODELRT_RETURN_IF_ERROR(fields.Int("keep_alive_s", &keep_alive));
    spec.keep_alive_s = keep_alive;
  }
  if (const Json* fallbacks = fields.Find("fallbacks")) {
    if (!fallbacks->is_array()) return InvalidArgumentError("binding.fallbacks: must be a list");
    for (const Json& alias : *fallbacks) {
      if (!alias.is_string()) return InvalidArgumentError("binding.fallbacks: must be aliases");
      spec.fallbacks.push_back(alias.get<std::string>());
    }
  }
  MODELRT_RETURN_IF_ERROR(fields.String("origin", &spec.origin));
  return spec;
}

Json ProfileToJson(const ProfileSpec& profile) {
  Json json = {{"name", profile.name},
               {"model", profile.model},
               {"system", profile.system},
               {"params", OptionsJson(profile.params)}};
  if (!profile.origin.empty()) json["origin"] = profile.origin;
  return json;
}

Result<ProfileSpec> ProfileFromJson(const Json& json) {
  Fields fields(json, "profile");
  MODELRT_RETURN_IF_ERROR(fields.CheckObject());
  ProfileSpec profile;
  MODELRT_RETURN_IF_ERROR(fields.String("name", &profile.name, /*required=*/true));
  MODELRT_RETURN_IF_ERROR(fields.String("model", &profile.model, /*required=*/true));
  MODELRT_RETURN_IF_ERROR(fields.String("system", &profile.system));
  MODELRT_RETURN_IF_ERROR(fields.Object("params", &profile.params));
  MODELRT_RETURN_IF_ERROR(fields.String("origin", &profile.origin));
  return profile;
}

Json ChangeToJson(const RegistryChange& change) {
  using Kind = RegistryChange::Kind;
  Json json = {{"op", std::string(ToString(change.kind))}};
  switch (change.kind) {
    case Kind::kRegisterProvider:
    case Kind::kReplaceProvider: json["provider"] = ProviderToJson(change.provider); break;
    case Kind::kUpsertBinding: json["binding"] = BindingToJson(change.binding); break;
    case Kind::kUpsertProfile: json["profile"] = ProfileToJson(change.profile); break;
    case Kind::kRemoveProvider:
      json["key"] = change.key;
      json["policy"] = std::string(ToString(change.policy));
      break;
    case Kind::kRemoveBinding:
    case Kind::kRemoveProfile: json["key"] = change.key; break;
    case Kind::kRebase: break;  // never journaled: Rebase rewrites the journal instead
  }
  return json;
}

Result<RegistryChange> ChangeFromJson(const Json& json) {
  using Kind = RegistryChange::Kind;
  Fields fields(json, "change");
  MODELRT_RETURN_IF_ERROR(fields.CheckObject());
  std::string op;
  MODELRT_RETURN_IF_ERROR(fields.String("op", &op, /*required=*/true));
  RegistryChange change;
  bool known = false;
  for (Kind kind : kKinds) {
    if (ToString(kind) == op) {
      change.kind = kind;
      known = true;
    }
  }
  if (!known) return InvalidArgumentError("change.op: unknown operation '" + op + "'");
  switch (change.kind) {
    case Kind::kRegisterProvider:
    case Kind::kReplaceProvider: {
      const Json* provider = fields.Find("provider");
      if (provider == nullptr) return InvalidArgumentError("change.provider: is required");
      MODELRT_ASSIGN_OR_RETURN(change.provider, ProviderFromJson(*provider));
      change.key = change.provider.id;
      break;
    }
    case Kind::kUpsertBinding: {
      const Json* binding = fields.Find("binding");
      if (binding == nullptr) return InvalidArgumentError("change.binding: is required");
      MODELRT_ASSIGN_OR_RETURN(change.binding, BindingFromJson(*binding));
      change.key = change.binding.alias;
      break;
    }
    case Kind::kUpsertProfile: {
      const Json* profile = fields.Find("profile");
      if (profile == nullptr) return InvalidArgumentError("change.profile: is required");
      MODELRT_ASSIGN_OR_RETURN(change.profile, ProfileFromJson(*profile));
      change.key = change.profile.name;
      break;
    }
    case Kind::kRemoveProvider: {
      std::string policy = "block";
      MODELRT_RETURN_IF_ERROR(fields.String("policy", &policy));
      MODELRT_ASSIGN_OR_RETURN(change.policy, ParseRemovalPolicy(policy));
      [[fallthrough]];
    }
    case Kind::kRemoveBinding:
    case Kind::kRemoveProfile:
      MODELRT_RETURN_IF_ERROR(fields.String("key", &change.key, /*required=*/true));
      break;
    case Kind::kRebase: break;  // not in kKinds: never parsed
  }
  return change;
}

bool SameProvider(const ProviderConfig& a, const ProviderConfig& b) {
  return WithoutOrigin(ProviderToJson(a)) == WithoutOrigin(ProviderToJson(b));
}

bool SameBinding(const ModelSpec& a, const ModelSpec& b) {
  return WithoutOrigin(BindingToJson(a)) == WithoutOrigin(BindingToJson(b));
}

bool SameProfile(const ProfileSpec& a, const ProfileSpec& b) {
  return WithoutOrigin(ProfileToJson(a)) == WithoutOrigin(ProfileToJson(b));
}

}  // namespace registry

std::string_view ToString(RemovalPolicy policy) {
  switch (policy) {
    case RemovalPolicy::kBlock: return "block";
    case RemovalPolicy::kCascade: return "cascade";
  }
  return "unknown";
}

Result<RemovalPolicy> ParseRemovalPolicy(std::string_view text) {
  if (text == "block") return RemovalPolicy::kBlock;
  if (text == "cascade") return RemovalPolicy::kCascade;
  return InvalidArgumentError("policy: must be one of block, cascade (got '" + std::string(text) +
                              "')");
}

std::string_view ToString(RegistryChange::Kind kind) {
  using Kind = RegistryChange::Kind;
  switch (kind) {
    case Kind::kRegisterProvider: return "register_provider";
    case Kind::kReplaceProvider: return "replace_provider";
    case Kind::kRemoveProvider: return "remove_provider";
    case Kind::kUpsertBinding: return "upsert_binding";
    case Kind::kRemoveBinding: return "remove_binding";
    case Kind::kUpsertProfile: return "upsert_profile";
    case Kind::kRemoveProfile: return "remove_profile";
    case Kind::kRebase: return "rebase";
  }
  return "unknown";
}

Json SnapshotToJson(const RegistrySnapshot& snapshot) {
  Json providers = Json::array(), bindings = Json::array(), profiles = Json::array();
  for (const auto& [id, provider] : snapshot.providers) {
    providers.push_back(registry::ProviderToJson(provider));
  }
  for (const auto& [alias, binding] : snapshot.bindings) {
    bindings.push_back(registry::BindingToJson(binding));
  }
  for (const auto& [name, profile] : snapshot.profiles) {
    profiles.push_back(registry::ProfileToJson(profile));
  }
  return {{"version", snapshot.version},
          {"providers", std::move(providers)},
          {"bindings", std::move(bindings)},
          {"profiles", std::move(profiles)}};
}

Json RemovalPreviewToJson(const RemovalPreview& preview) {
  auto policy = [](bool allowed, const std::string& reason) {
    Json json = {{"allowed", allowed}};
    if (!allowed) json["reason"] = reason;
    return json;
  };
  return {{"provider", preview.provider},
          {"version", preview.version},
          {"bindings", preview.bindings},
          {"profiles", preview.profiles},
          {"policies",
           {{"block", policy(preview.allowed_block, preview.block_reason)},
            {"cascade", policy(preview.allowed_cascade, preview.cascade_reason)}}}};
}

}  // namespace modelrt
