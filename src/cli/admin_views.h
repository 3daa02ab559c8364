// Text for people from the admin API's JSON answers (see /admin routes in the README): the
// `ps` table, one-line results of load/unload/reload, the registry, providers, the reload log.
// Each takes the parsed answer and never throws: a missing or mistyped field shows as "-"; an
// answer without the list a view needs is an error naming what was missing.
//
//   MODELRT_ASSIGN_OR_RETURN(std::string text, RenderModels(answer.json, std::time(nullptr)));
//   std::fputs(text.c_str(), stdout);
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/json.h"
#include "modelrt/status.h"

namespace modelrt::cli {

using Json = nlohmann::json;

// j[key] when j is an object whose `key` is a string; "" otherwise (never throws, unlike
// nlohmann's value()).
std::string StringField(const Json& j, const char* key);

// The length of the answer's "failed" list (aliases whose reload failed after a config reload
// or a provider replacement); 0 when there is none.
size_t FailedCount(const Json& answer);

// GET /admin/models: ALIAS TASK STATE GEN IN-FLIGHT MEMORY LAST-USED, then one line per failed
// model with its last error. `now_s` (seconds since the epoch) turns last_used into "12s ago".
Result<std::string> RenderModels(const Json& answer, int64_t now_s);
// A MODEL after load/unload: "chat: loaded (generation 2, 1.5 MiB)".
std::string RenderModelState(const Json& model);
// A RELOAD record: "chat: reloaded, generation 1 -> 2 (340 ms)" or the failure.
std::string RenderReload(const Json& record);
// GET /admin/reloads: the global generation, then the log, oldest first.
Result<std::string> RenderReloads(const Json& answer, int64_t now_s);
// GET /admin/registry: version, providers, model bindings and profiles.
Result<std::string> RenderRegistry(const Json& answer);
// GET /admin/providers: version and one row per provider.
Result<std::string> RenderProviders(const Json& answer);
// One provider in detail plus the aliases bound to it (`bindings` as in GET /admin/registry).
std::string RenderProvider(const Json& provider, const Json& bindings);
// GET /admin/providers/{id}/removal-preview.
std::string RenderRemovalPreview(const Json& answer);
// DELETE /admin/providers/{id}.
std::string RenderProviderRemoval(const Json& answer);
// PUT /admin/providers/{id}: created or replaced, the aliases reloaded on it, failures.
std::string RenderProviderPut(const Json& answer);
// POST /admin/config/reload: what was added, removed, changed, reloaded, failed; notes.
std::string RenderConfigReload(const Json& answer);

}  // namespace modelrt::cli
