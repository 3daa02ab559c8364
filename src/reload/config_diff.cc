#include "reload/config_diff.h"

#include <map>

namespace modelrt::internal {

bool EngineFieldsDiffer(const ModelSpec& a, const ModelSpec& b) {
  return a.provider != b.provider || a.model != b.model || a.options != b.options;
}

bool SameProviderConfig(const ProviderConfig& a, const ProviderConfig& b) {
  return a.id == b.id && a.type == b.type && a.base_url == b.base_url &&
         a.api_key_env == b.api_key_env && a.options == b.options;
}

bool SettingsDiffer(const ModelSpec& a, const ModelSpec& b) {
  return a.warmup != b.warmup || a.required != b.required || a.timeout != b.timeout ||
         a.load_timeout != b.load_timeout || a.retry.max_attempts != b.retry.max_attempts ||
         a.retry.initial_backoff != b.retry.initial_backoff ||
         a.retry.max_backoff != b.retry.max_backoff || a.pinned != b.pinned ||
         a.keep_alive_s != b.keep_alive_s;
}

CatalogDiff DiffCatalog(const std::vector<ModelSpec>& current, const std::vector<ModelSpec>& next) {
  std::map<std::string, const ModelSpec*> now;
  for (const ModelSpec& spec : current) now[spec.alias] = &spec;
  std::map<std::string, const ModelSpec*> later;
  for (const ModelSpec& spec : next) later[spec.alias] = &spec;
  CatalogDiff diff;
  for (const auto& [alias, spec] : now) {
    auto it = later.find(alias);
    if (it == later.end()) {
      diff.removed.push_back(alias);
    } else if (it->second->task != spec->task) {
      diff.removed.push_back(alias);
      diff.added.push_back(*it->second);
    } else if (EngineFieldsDiffer(*spec, *it->second)) {
      diff.engine_changed.push_back(*it->second);
    } else if (SettingsDiffer(*spec, *it->second)) {
      diff.settings_changed.push_back(*it->second);
    } else {
      diff.unchanged.push_back(alias);
    }
  }
  for (const ModelSpec& spec : next) {
    if (now.count(spec.alias) == 0) diff.added.push_back(spec);
  }
  return diff;
}

}  // namespace modelrt::internal
