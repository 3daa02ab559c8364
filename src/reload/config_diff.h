// DiffCatalog: what changed between the alias specs a runtime serves and a re-read config's.
//
//   CatalogDiff diff = DiffCatalog(current_specs, new_config.models);
//   for (const ModelSpec& spec : diff.engine_changed) Reload(spec.alias, spec);
//
// Engine fields (provider, model, options) need a new engine; settings (timeouts, retry, pin,
// keep-alive, warmup, required) are applied in place. A changed task is a removal plus an addition
// (handles are typed by task). `origin` is ignored: it names where a spec was read.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "modelrt/catalog.h"

namespace modelrt::internal {

struct CatalogDiff {
  std::vector<ModelSpec> added;             // new aliases (and re-added ones whose task changed)
  std::vector<std::string> removed;         // gone aliases (and those whose task changed)
  std::vector<ModelSpec> engine_changed;    // the new spec
  std::vector<ModelSpec> settings_changed;  // the new spec
  std::vector<std::string> unchanged;
};

bool EngineFieldsDiffer(const ModelSpec& a, const ModelSpec& b);
// Everything but `origin` is equal: the same provider would be created from both.
bool SameProviderConfig(const ProviderConfig& a, const ProviderConfig& b);
bool SettingsDiffer(const ModelSpec& a, const ModelSpec& b);
CatalogDiff DiffCatalog(const std::vector<ModelSpec>& current, const std::vector<ModelSpec>& next);

}  // namespace modelrt::internal
