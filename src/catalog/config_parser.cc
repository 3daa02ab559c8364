// Whole-config validation and the public ParseConfig; see config_parser.h.
#include "catalog/config_parser.h"

#include <map>
#include <string>

#include "catalog/config_sections.h"
#include "catalog/field_reader.h"
#include "catalog/json_text.h"
#include "catalog/model_spec_parser.h"
#include "catalog/yaml_to_json.h"
#include "core/json.h"

namespace modelrt::catalog {
namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// A section written as `server:` with nothing under it (YAML null) means "all defaults".
const Json* Section(const Json& root, std::string_view key) {
  auto it = root.find(key);
  if (it == root.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string ProviderIds(const std::vector<ProviderConfig>& providers) {
  std::string ids;
  for (const ProviderConfig& provider : providers) {
    ids += (ids.empty() ? "" : ", ") + provider.id;
  }
  return ids.empty() ? "none" : ids;
}

Result<std::vector<ModelSpec>> ParseModels(const Json& json, std::string_view source,
                                           const std::vector<ProviderConfig>& providers) {
  if (!json.is_array()) {
    return PathError(source, "models", "must be a list (got " + TypeName(json) + ")");
  }
  std::vector<ModelSpec> models;
  std::map<std::string, size_t> first_index;
  for (size_t i = 0; i < json.size(); ++i) {
    std::string path = IndexPath("models", i);
    MODELRT_ASSIGN_OR_RETURN(ModelSpec spec, ParseModelSpecAt(json[i], source, path));
    auto [it, inserted] = first_index.emplace(spec.alias, i);
    if (!inserted) {
      return PathError(source, JoinPath(path, "alias"),
                       "duplicate alias '" + spec.alias + "' (first at " +
                           IndexPath("models", it->second) + ")");
    }
    if (spec.provider.empty()) {
      if (providers.size() != 1) {
        return PathError(source, JoinPath(path, "provider"),
                         "is required when the file declares " + std::to_string(providers.size()) +
                             " providers (" + ProviderIds(providers) + ")");
      }
      spec.provider = providers[0].id;
    }
    bool known = false;
    for (const ProviderConfig& provider : providers) known = known || provider.id == spec.provider;
    if (!known) {
      return PathError(
          source, JoinPath(path, "provider"),
          "unknown provider '" + spec.provider + "' (declared: " + ProviderIds(providers) + ")");
    }
    spec.origin = std::string(source) + ": " + path;
    models.push_back(std::move(spec));
  }
  return models;
}

Status CheckProfiles(const std::vector<ProfileSpec>& profiles, const std::vector<ModelSpec>& models,
                     std::string_view source) {
  std::map<std::string_view, size_t> alias_index;
  for (size_t i = 0; i < models.size(); ++i) alias_index.emplace(models[i].alias, i);
  for (size_t i = 0; i < profiles.size(); ++i) {
    const ProfileSpec& profile = profiles[i];
    std::string path = IndexPath("profiles", i);
    // Profiles and aliases share one namespace in requests ("model": "storyteller").
    if (auto it = alias_index.find(profile.name); it != alias_index.end()) {
      return PathError(source, JoinPath(path, "name"),
                       "'" + profile.name + "' is already a model alias (" +
                           IndexPath("models", it->second) + ")");
    }
    auto it = alias_index.find(profile.model);
    if (it == alias_index.end()) {
      return PathError(source, JoinPath(path, "model"),
                       "unknown model alias '" + profile.model + "'");
    }
    const ModelSpec& target = models[it->second];
    if (target.task != Task::kGenerate) {
      return PathError(source, JoinPath(path, "model"),
                       "'" + target.alias + "' is a " + std::string(ToString(target.task)) +
                           " model; a profile needs a generate model");
    }
  }
  return OkStatus();
}

}  // namespace

Result<Config> ConfigFromJson(const Json& json, std::string_view source) {
  if (json.is_null()) return PathError(source, "", "the config is empty");
  if (!json.is_object() && !json.is_array()) {
    return PathError(
        source, "",
        "must be an object of sections or a list of model specs (got " + TypeName(json) + ")");
  }
  Config config;
  config.source = std::string(source);
  const Json empty_list = Json::array();
  const Json* models = &json;
  const Json* providers = nullptr;
  const Json* profiles = nullptr;
  if (json.is_object()) {
    MODELRT_RETURN_IF_ERROR(CheckKnownKeys(
        json, source, "", {"server", "pool", "reload", "jobs", "store", "registry", "providers", "models",
               "profiles"},
        "top-level key"));
    if (const Json* server = Section(json, "server")) {
      MODELRT_RETURN_IF_ERROR(ParseServerSection(*server, source, &config.server));
    }
    if (const Json* pool = Section(json, "pool")) {
      MODELRT_RETURN_IF_ERROR(ParsePoolSection(*pool, source, &config.pool));
    }
    if (const Json* reload = Section(json, "reload")) {
      MODELRT_RETURN_IF_ERROR(ParseReloadSection(*reload, source, &config.reload));
    }
    if (const Json* jobs = Section(json, "jobs")) {
      MODELRT_RETURN_IF_ERROR(ParseJobsSection(*jobs, source, &config.jobs));
    }
    if (const Json* store = Section(json, "store")) {
      MODELRT_RETURN_IF_ERROR(ParseStoreSection(*store, source, &config.store));
    }
    if (const Json* registry = Section(json, "registry")) {
      MODELRT_RETURN_IF_ERROR(ParseRegistrySection(*registry, source, &config.registry));
    }
    providers = Section(json, "providers");
    models = Section(json, "models");
    if (models == nullptr) models = &empty_list;
    profiles = Section(json, "profiles");
  }
  if (providers != nullptr) {
    MODELRT_ASSIGN_OR_RETURN(config.providers, ParseProvidersSection(*providers, source));
  } else {
    ProviderConfig local;
    local.id = std::string(kImpliedProviderId);
    local.type = std::string(kImpliedProviderType);
    local.origin = std::string(source) + ": (implied provider)";
    config.providers.push_back(std::move(local));
  }
  MODELRT_ASSIGN_OR_RETURN(config.models, ParseModels(*models, source, config.providers));
  if (profiles != nullptr) {
    MODELRT_ASSIGN_OR_RETURN(config.profiles, ParseProfilesSection(*profiles, source));
    MODELRT_RETURN_IF_ERROR(CheckProfiles(config.profiles, config.models, source));
  }
  return config;
}

Result<Json> ParseConfigText(std::string_view text, std::string_view source, ConfigFormat format) {
  if (text.substr(0, kUtf8Bom.size()) == kUtf8Bom) text.remove_prefix(kUtf8Bom.size());
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return PathError(source, "", "the config is empty");
  if (format == ConfigFormat::kAuto) {
    format = (text[first] == '{' || text[first] == '[') ? ConfigFormat::kJson : ConfigFormat::kYaml;
  }
  Result<Json> json = format == ConfigFormat::kJson ? ParseJsonText(text) : YamlToJson(text);
  if (!json) {
    // In a bare list of specs the elements are the models, so "[0]: ..." reads "models[0]: ...".
    std::string message = json.error().message();
    return PathError(source, "", message.starts_with("[") ? "models" + message : message);
  }
  return json;
}

}  // namespace modelrt::catalog

namespace modelrt {

Result<Config> ParseConfig(std::string_view text, std::string_view source, ConfigFormat format) {
  MODELRT_ASSIGN_OR_RETURN(Json json, catalog::ParseConfigText(text, source, format));
  return catalog::ConfigFromJson(json, source);
}

}  // namespace modelrt
