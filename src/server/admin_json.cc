#include "server/admin_json.h"

#include <algorithm>
#include <ctime>

#include "catalog/options_json.h"
#include "core/json.h"
#include "server/error_mapper.h"

namespace modelrt::server {
namespace {

Json Sorted(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

std::string Rfc3339(std::chrono::system_clock::time_point time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

Json OptionalTime(const std::optional<std::chrono::system_clock::time_point>& time) {
  return time ? Json(Rfc3339(*time)) : Json(nullptr);
}

Json ModelJson(const ModelStatus& status) {
  const ModelSpec& spec = status.spec;
  return {{"alias", spec.alias},
          {"task", std::string(ToString(spec.task))},
          {"provider", spec.provider},
          {"model", spec.model},
          {"state", std::string(ToString(status.state))},
          {"generation", status.generation},
          {"in_flight", status.in_flight},
          {"memory_bytes", status.state == ModelState::kLoaded ? status.info.memory_bytes : 0},
          {"last_used", OptionalTime(status.last_used)},
          {"last_error", status.last_error},
          {"failed_at", OptionalTime(status.failed_at)},
          {"required", spec.required},
          {"pinned", spec.pinned},
          {"device", status.device}};
}

Json ReloadJson(const ReloadRecord& record) {
  return {{"id", record.id},
          {"alias", record.alias},
          {"old_generation", record.old_generation},
          {"new_generation", record.new_generation},
          {"outcome", record.ok ? "succeeded" : "failed"},
          {"error", record.error},
          {"trigger", std::string(ToString(record.trigger))},
          {"started_at", Rfc3339(record.started_at)},
          {"duration_ms", record.duration.count()},
          {"old_source", record.old_source},
          {"new_source", record.new_source}};
}

Json VersionJson(const VersionRecord& record) {
  return {{"alias", record.alias},
          {"generation", record.generation},
          {"global_generation", record.global_generation},
          {"description", record.description},
          {"source", record.source},
          {"memory_bytes", record.memory_bytes},
          {"loaded_at", Rfc3339(record.loaded_at)}};
}

Json PoolJson(const PoolStats& stats) {
  // Every reason the pool knows, so clients can rely on the keys being there.
  Json evictions = Json::object();
  for (EvictionReason reason : {EvictionReason::kLru, EvictionReason::kTtl, EvictionReason::kHealth,
                                EvictionReason::kManual, EvictionReason::kReplaced}) {
    evictions[std::string(ToString(reason))] = 0;
  }
  for (const auto& [reason, count] : stats.evictions) evictions[reason] = count;
  Json engines = Json::array();
  for (const EngineStatus& engine : stats.engines) {
    engines.push_back({{"alias", engine.key.model},
                       {"device", engine.key.device},
                       {"state", std::string(ToString(engine.state))},
                       {"generation", engine.generation},
                       {"memory_bytes", engine.memory_bytes},
                       {"in_flight", engine.in_flight},
                       {"pinned", engine.pinned},
                       {"loaded_at", Rfc3339(engine.loaded_at)},
                       {"last_used", Rfc3339(engine.last_used)}});
  }
  return {{"memory_budget_bytes", stats.budget_bytes},
          {"bytes_in_use", stats.bytes_in_use},
          {"bytes_reserved", stats.bytes_reserved},
          {"max_loaded", stats.max_loaded},
          {"loaded", stats.engines_live},
          {"draining", stats.engines_draining},
          {"loads_waiting", stats.loads_waiting},
          {"hits", stats.hits},
          {"misses", stats.misses},
          {"hit_rate", stats.hit_rate},
          {"loads", stats.loads},
          {"load_failures", stats.load_failures},
          {"global_generation", stats.global_generation},
          {"evictions", std::move(evictions)},
          {"engines", std::move(engines)}};
}

Json ProviderJson(const ProviderConfig& provider) {
  Json json = {
      {"id", provider.id}, {"type", provider.type}, {"options", OptionsJson(provider.options)}};
  if (!provider.base_url.empty()) json["base_url"] = provider.base_url;
  if (!provider.api_key_env.empty()) json["api_key_env"] = provider.api_key_env;
  if (!provider.api_key_file.empty()) json["api_key_file"] = provider.api_key_file;
  if (!provider.origin.empty()) json["origin"] = provider.origin;
  return json;
}

Json RemovalPreviewJson(const RemovalPreview& preview) {
  return {{"provider", preview.provider},
          {"version", preview.version},
          {"bindings", preview.bindings},
          {"profiles", preview.profiles},
          {"allowed", {{"block", preview.allowed_block}, {"cascade", preview.allowed_cascade}}},
          {"reasons", {{"block", preview.block_reason}, {"cascade", preview.cascade_reason}}}};
}

Json ConfigReloadJson(const control::ConfigReload& reload) {
  const ConfigApplySummary& s = reload.summary;
  std::vector<std::string> changed = s.reloaded;
  changed.insert(changed.end(), s.updated.begin(), s.updated.end());
  Json failed = Json::array();
  for (const auto& [alias, status] : s.failed) {
    failed.push_back({{"alias", alias}, {"error", status.ToString()}});
  }
  return {{"version", reload.version},
          {"added", Sorted(s.added)},
          {"removed", Sorted(s.removed)},
          {"changed", Sorted(std::move(changed))},
          {"reloaded", Sorted(s.reloaded)},
          {"failed", std::move(failed)},
          {"providers",
           {{"added", Sorted(s.providers_added)},
            {"replaced", Sorted(s.providers_replaced)},
            {"removed", Sorted(s.providers_removed)}}},
          {"pool_limits_changed", s.pool_limits_changed},
          {"notes", s.notes}};
}

HttpResponse AdminErrorResponse(const Status& status) {
  ApiError error = MapStatus(status);
  if (status.code() == StatusCode::kFailedPrecondition) {
    error.http_status = 409;
    error.code = "conflict";
  } else if (status.code() == StatusCode::kNotFound) {
    error.code = "not_found";
  }
  return ErrorResponse(error);
}

}  // namespace modelrt::server
