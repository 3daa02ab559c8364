// JSON for registry values: providers, bindings (ModelSpec), profiles and changes, in the config
// file's schema (plus "origin"), for the journal and the admin API. Parsing is for our own
// output (the journal), so it checks types and required fields but not value ranges; the
// registry's rules check values when a change is applied.
//
//   Json line = ChangeToJson(change);
//   MODELRT_ASSIGN_OR_RETURN(RegistryChange again, ChangeFromJson(line));
//
// Thread-safety: free functions over values; safe from any thread.
#pragma once

#include "core/json.h"
#include "modelrt/catalog.h"
#include "modelrt/registry.h"
#include "modelrt/status.h"

namespace modelrt {

// JSON for the admin API: {"version", "providers": [...], "bindings": [...], "profiles": [...]}
// with each entry in the config file's schema (plus "origin").
Json SnapshotToJson(const RegistrySnapshot& snapshot);
// {"provider", "version", "bindings", "profiles", "policies": {"block": {"allowed", "reason"},
// "cascade": {...}}}
Json RemovalPreviewToJson(const RemovalPreview& preview);

namespace registry {

Json ProviderToJson(const ProviderConfig& provider);
Result<ProviderConfig> ProviderFromJson(const Json& json);

Json BindingToJson(const ModelSpec& binding);
Result<ModelSpec> BindingFromJson(const Json& json);

Json ProfileToJson(const ProfileSpec& profile);
Result<ProfileSpec> ProfileFromJson(const Json& json);

// {"op": "upsert_binding", "binding": {...}} / {"op": "remove_provider", "key": "x",
// "policy": "cascade"} ... `removed_bindings` is not stored: replay recomputes it.
Json ChangeToJson(const RegistryChange& change);
Result<RegistryChange> ChangeFromJson(const Json& json);

// Equality of content, ignoring `origin` (where a value came from is not what it is).
bool SameProvider(const ProviderConfig& a, const ProviderConfig& b);
bool SameBinding(const ModelSpec& a, const ModelSpec& b);
bool SameProfile(const ProfileSpec& a, const ProfileSpec& b);

}  // namespace registry
}  // namespace modelrt
