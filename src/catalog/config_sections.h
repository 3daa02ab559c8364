// Parsers for the sections of a config other than `models`: server, pool, reload, providers,
// profiles.
// Each checks its own section; cross-references (a model's provider, a profile's model) are
// checked by ParseConfig once every section is read.
//
//   ServerConfig server;
//   MODELRT_RETURN_IF_ERROR(ParseServerSection(json["server"], "cat.yaml", &server));
//
// Thread-safety: free functions over values; safe from any thread.
#pragma once

#include <string_view>
#include <vector>

#include "core/json.h"
#include "modelrt/catalog.h"
#include "modelrt/status.h"

namespace modelrt::catalog {

// [A-Za-z0-9._-]{1,128}.
bool IsValidProviderId(std::string_view id);

// `json` is the section's value; fields absent from it keep the defaults already in `*out`.
Status ParseServerSection(const Json& json, std::string_view source, ServerConfig* out);
Status ParsePoolSection(const Json& json, std::string_view source, PoolConfig* out);
Status ParseReloadSection(const Json& json, std::string_view source, ReloadConfig* out);
Status ParseJobsSection(const Json& json, std::string_view source, JobsConfig* out);
Status ParseStoreSection(const Json& json, std::string_view source, StoreConfig* out);
Status ParseRegistrySection(const Json& json, std::string_view source, RegistryStoreConfig* out);
// Providers in order, ids unique; origins set to "<source>: providers[i]".
Result<std::vector<ProviderConfig>> ParseProvidersSection(const Json& json,
                                                          std::string_view source);
// Profiles in order, names unique among themselves (not yet checked against aliases).
Result<std::vector<ProfileSpec>> ParseProfilesSection(const Json& json, std::string_view source);

// ParseProviderConfig of modelrt/catalog.h over parsed JSON (the admin API's body).
Result<ProviderConfig> ParseProviderConfig(const Json& json, std::string_view origin);

}  // namespace modelrt::catalog
