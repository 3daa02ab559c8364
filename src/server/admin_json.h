// JSON for the admin API (ADMIN_API.md): models, reload and version records, pool statistics,
// providers, removal previews and config re-reads, plus the admin error response (409 for a
// refused precondition, where the inference API says 400).
//
//   return JsonResponse(200, ModelJson(*runtime.Describe("chat")));
//   if (!result) return AdminErrorResponse(result.error());
//
// Thread-safety: free functions over values.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "control/control_plane.h"
#include "core/json.h"
#include "modelrt/pool.h"
#include "modelrt/registry.h"
#include "modelrt/reload.h"
#include "modelrt/runtime.h"
#include "server/http_message.h"

namespace modelrt::server {

// "2026-11-25T23:01:02Z" (UTC, seconds).
std::string Rfc3339(std::chrono::system_clock::time_point time);
// Rfc3339, or null for "never".
Json OptionalTime(const std::optional<std::chrono::system_clock::time_point>& time);

// {"alias","task","provider","model","state","generation","in_flight","memory_bytes","last_used",
//  "last_error","required","pinned","device"}
Json ModelJson(const ModelStatus& status);
// {"alias","old_generation","new_generation","outcome","error","trigger","started_at",
//  "duration_ms"} + "id", "old_source", "new_source"
Json ReloadJson(const ReloadRecord& record);
// {"alias","generation","global_generation","description","source","loaded_at"} + memory_bytes
Json VersionJson(const VersionRecord& record);
Json PoolJson(const PoolStats& stats);
// {"id","type","options"} + base_url, api_key_env (a variable name), api_key_file (a path; never a key), origin.
Json ProviderJson(const ProviderConfig& provider);
Json RemovalPreviewJson(const RemovalPreview& preview);
// {"added","removed","changed","reloaded","notes"} + "failed", "providers", "version".
Json ConfigReloadJson(const control::ConfigReload& reload);

// ErrorResponse with the admin API's statuses: FailedPrecondition is a 409 (a conflict with the
// current state), NotFound's code is "not_found".
HttpResponse AdminErrorResponse(const Status& status);

}  // namespace modelrt::server
