// Server, pool, providers and profiles sections; see config_sections.h.
#include "catalog/config_sections.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <map>
#include <string>

#include "catalog/field_reader.h"
#include "catalog/json_text.h"
#include "catalog/model_spec_parser.h"
#include "catalog/options_json.h"
#include "core/json.h"
#include "core/postgres_url.h"

namespace modelrt::catalog {
namespace {

constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();
constexpr int64_t kMaxInt = std::numeric_limits<int>::max();

bool IsEnvVarName(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// A field that names an environment variable. A value that is not a variable name is most
// likely the secret itself pasted in, so the message never repeats it.
Status ReadEnvVarName(FieldReader& reader, std::string_view key, std::string* out) {
  std::string name = *out;
  MODELRT_RETURN_IF_ERROR(reader.ReadString(key, &name));
  if (reader.Has(key) && !name.empty() && !IsEnvVarName(name)) {
    return reader.Error(key,
                        "must be the name of an environment variable ([A-Za-z_][A-Za-z0-9_]*), "
                        "not the secret itself");
  }
  *out = std::move(name);
  return OkStatus();
}

Status RequireList(const Json& json, std::string_view source, std::string_view path) {
  if (json.is_array()) return OkStatus();
  return PathError(source, path, "must be a list (got " + TypeName(json) + ")");
}

// A list of strings; absent keeps `*out`.
Status ReadStringList(FieldReader& reader, std::string_view key, std::vector<std::string>* out) {
  const Json* list = reader.Find(key);
  if (list == nullptr) return OkStatus();
  if (!list->is_array()) return reader.Error(key, "must be a list of strings");
  std::vector<std::string> values;
  for (const Json& item : *list) {
    if (!item.is_string()) {
      return reader.Error(key, "must be a list of strings (got " + Describe(item) + ")");
    }
    values.push_back(item.get<std::string>());
  }
  *out = std::move(values);
  return OkStatus();
}

Result<ProviderConfig> ParseProvider(const Json& json, std::string_view source,
                                     const std::string& path) {
  // Secrets first: "unknown key 'api_key'" would hide the real problem.
  MODELRT_RETURN_IF_ERROR(RejectInlineSecrets(json, source, path));
  MODELRT_ASSIGN_OR_RETURN(FieldReader reader, FieldReader::Create(json, std::string(source), path,
                                                                   {"id", "type", "base_url",
                                                                    "api_key_env", "api_key_file",
                                                                    "options"}));
  ProviderConfig provider;
  MODELRT_RETURN_IF_ERROR(reader.ReadString("id", &provider.id, /*required=*/true));
  if (!IsValidProviderId(provider.id)) {
    return reader.Error("id", "must be 1-" + std::to_string(kMaxNameLength) +
                                  " characters from A-Z a-z 0-9 . _ - (got " +
                                  Describe(Json(provider.id)) + ")");
  }
  // The type is not checked against a list: providers register at run time.
  MODELRT_RETURN_IF_ERROR(
      reader.ReadString("type", &provider.type, /*required=*/true, /*non_empty=*/true));
  MODELRT_RETURN_IF_ERROR(reader.ReadString("base_url", &provider.base_url));
  MODELRT_RETURN_IF_ERROR(ReadEnvVarName(reader, "api_key_env", &provider.api_key_env));
  MODELRT_RETURN_IF_ERROR(
      reader.ReadString("api_key_file", &provider.api_key_file, /*required=*/false,
                        /*non_empty=*/true));
  if (!provider.api_key_env.empty() && !provider.api_key_file.empty()) {
    return reader.Error("api_key_file", "give api_key_env or api_key_file, not both");
  }
  MODELRT_RETURN_IF_ERROR(reader.ReadOptions("options", &provider.options));
  MODELRT_RETURN_IF_ERROR(
      RejectInlineSecrets(OptionsJson(provider.options), source, reader.PathOf("options")));
  provider.origin = std::string(source) + ": " + path;
  return provider;
}

Result<ProfileSpec> ParseProfile(const Json& json, std::string_view source,
                                 const std::string& path) {
  MODELRT_ASSIGN_OR_RETURN(
      FieldReader reader,
      FieldReader::Create(json, std::string(source), path, {"name", "model", "system", "params"}));
  ProfileSpec profile;
  MODELRT_RETURN_IF_ERROR(reader.ReadString("name", &profile.name, /*required=*/true));
  // Clients ask for a profile where they would name an alias, so it follows the same rule.
  if (!IsValidAlias(profile.name)) {
    return reader.Error("name", AliasRule() + " (got " + Describe(Json(profile.name)) + ")");
  }
  MODELRT_RETURN_IF_ERROR(
      reader.ReadString("model", &profile.model, /*required=*/true, /*non_empty=*/true));
  MODELRT_RETURN_IF_ERROR(reader.ReadString("system", &profile.system));
  MODELRT_RETURN_IF_ERROR(reader.ReadOptions("params", &profile.params));
  profile.origin = std::string(source) + ": " + path;
  return profile;
}

}  // namespace

bool IsValidProviderId(std::string_view id) {
  return !id.empty() && id.size() <= kMaxNameLength &&
         std::all_of(id.begin(), id.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
         });
}

Status ParseServerSection(const Json& json, std::string_view source, ServerConfig* out) {
  MODELRT_RETURN_IF_ERROR(RejectInlineSecrets(json, source, "server", "api_keys_env"));
  MODELRT_ASSIGN_OR_RETURN(
      FieldReader reader,
      FieldReader::Create(
          json, std::string(source), "server",
          {"host", "port", "api_keys_env", "api_keys_file", "admin_key_env", "admin_key_file",
           "threads", "max_body_bytes", "max_batch_inputs", "max_rerank_documents",
           "max_tokens_limit", "max_choices", "queue_capacity", "queue_max_tokens", "max_queue_wait_ms", "inline_body_bytes",
           "executor_idle_timeout_s", "drain_grace_s", "idle_timeout_s", "header_timeout_s",
           "body_timeout_s", "write_timeout_s", "data_dir"}));
  MODELRT_RETURN_IF_ERROR(reader.ReadString("host", &out->host, false, /*non_empty=*/true));
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("port", 0, 65535, &out->port));
  MODELRT_RETURN_IF_ERROR(ReadEnvVarName(reader, "api_keys_env", &out->api_keys_env));
  MODELRT_RETURN_IF_ERROR(reader.ReadString("api_keys_file", &out->api_keys_file));
  MODELRT_RETURN_IF_ERROR(ReadEnvVarName(reader, "admin_key_env", &out->admin_key_env));
  MODELRT_RETURN_IF_ERROR(reader.ReadString("admin_key_file", &out->admin_key_file));
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("threads", 0, kMaxInt, &out->threads));
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("max_body_bytes", 1, kMaxInt64, &out->max_body_bytes));
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("max_batch_inputs", 1, kMaxInt, &out->max_batch_inputs));
  MODELRT_RETURN_IF_ERROR(
      reader.ReadInt("max_rerank_documents", 1, kMaxInt, &out->max_rerank_documents));
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("max_tokens_limit", 1, kMaxInt, &out->max_tokens_limit));
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("max_choices", 1, 128, &out->max_choices));
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("queue_capacity", 1, kMaxInt, &out->queue_capacity));
  MODELRT_RETURN_IF_ERROR(
      reader.ReadInt("queue_max_tokens", 1, kMaxInt64, &out->queue_max_tokens));
  MODELRT_RETURN_IF_ERROR(
      reader.ReadInt("max_queue_wait_ms", 0, kMaxInt64, &out->max_queue_wait_ms));
  MODELRT_RETURN_IF_ERROR(
      reader.ReadInt("inline_body_bytes", 0, kMaxInt64, &out->inline_body_bytes));
  MODELRT_RETURN_IF_ERROR(
      reader.ReadInt("executor_idle_timeout_s", 1, 86400, &out->executor_idle_timeout_s));
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("drain_grace_s", 0, kMaxInt, &out->drain_grace_s));
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("idle_timeout_s", 1, 86400, &out->idle_timeout_s));
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("header_timeout_s", 1, 86400, &out->header_timeout_s));
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("body_timeout_s", 1, 86400, &out->body_timeout_s));
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("write_timeout_s", 1, 86400, &out->write_timeout_s));
  MODELRT_RETURN_IF_ERROR(reader.ReadString("data_dir", &out->data_dir));
  return OkStatus();
}

Status ParsePoolSection(const Json& json, std::string_view source, PoolConfig* out) {
  MODELRT_ASSIGN_OR_RETURN(FieldReader reader,
                           FieldReader::Create(json, std::string(source), "pool",
                                               {"memory_budget_mb", "max_loaded", "idle_ttl_s",
                                                "health_check_interval_s"}));
  MODELRT_RETURN_IF_ERROR(
      reader.ReadInt("memory_budget_mb", 1, kMaxInt64 >> 20, &out->memory_budget_mb));
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("max_loaded", 1, kMaxInt, &out->max_loaded));
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("idle_ttl_s", 0, kMaxInt64 / 1000, &out->idle_ttl_s));
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("health_check_interval_s", 0, kMaxInt64 / 1000,
                                         &out->health_check_interval_s));
  return OkStatus();
}

Status ParseReloadSection(const Json& json, std::string_view source, ReloadConfig* out) {
  MODELRT_ASSIGN_OR_RETURN(FieldReader reader,
                           FieldReader::Create(json, std::string(source), "reload",
                                               {"watch_models", "watch_config", "history_size",
                                                "log_size", "debounce_ms"}));
  MODELRT_RETURN_IF_ERROR(reader.ReadBool("watch_models", &out->watch_models));
  MODELRT_RETURN_IF_ERROR(reader.ReadBool("watch_config", &out->watch_config));
  // At least one: the current engine of every alias is always on record.
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("history_size", 1, 1 << 20, &out->history_size));
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("log_size", 1, 1 << 20, &out->log_size));
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("debounce_ms", 0, 3'600'000, &out->debounce_ms));
  return OkStatus();
}

namespace {

// `store` ("sqlite", the default, or a PostgreSQL URL without a password) and `store_env` (the
// name of a variable holding such a URL, password allowed: secrets come from the environment).
Status ReadSharedStore(FieldReader& reader, std::string* store, std::string* store_env) {
  std::string value;
  MODELRT_RETURN_IF_ERROR(reader.ReadString("store", &value));
  MODELRT_RETURN_IF_ERROR(reader.ReadString("store_env", store_env));
  if (!store_env->empty() && !IsEnvVarName(*store_env)) {
    return reader.Error("store_env", "must be an environment variable name (got " +
                                         Describe(Json(*store_env)) + ")");
  }
  if (value.empty() || value == "sqlite") {
    store->clear();
    return OkStatus();
  }
  if (!store_env->empty()) return reader.Error("store", "set store or store_env, not both");
  if (!IsPostgresUrl(value)) {
    return reader.Error("store", "must be \"sqlite\" or a postgresql:// URL (got \"" +
                                     RedactUrl(value) + "\")");
  }
  if (UrlHasPassword(value)) {
    return reader.Error("store", "must not carry a password (secrets stay out of config files: "
                                 "use PGPASSWORD, a pgpass file, or store_env)");
  }
  *store = value;
  return OkStatus();
}

}  // namespace

Status ParseJobsSection(const Json& json, std::string_view source, JobsConfig* out) {
  MODELRT_ASSIGN_OR_RETURN(
      FieldReader reader,
      FieldReader::Create(json, std::string(source), "jobs",
                          {"store", "store_env", "shared_dir", "lease_s", "workers",
                           "keep_finished", "keep_days", "allowed_programs", "env_allowlist",
                           "max_log_bytes", "command_timeout_s", "batch_max_file_bytes",
                           "batch_max_lines", "batch_in_flight"}));
  MODELRT_RETURN_IF_ERROR(ReadSharedStore(reader, &out->store, &out->store_env));
  MODELRT_RETURN_IF_ERROR(reader.ReadString("shared_dir", &out->shared_dir));
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("lease_s", 1, 86400, &out->lease_s));
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("workers", 1, 256, &out->workers));
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("keep_finished", 0, kMaxInt64, &out->keep_finished));
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("keep_days", 0, 36500, &out->keep_days));
  MODELRT_RETURN_IF_ERROR(ReadStringList(reader, "allowed_programs", &out->allowed_programs));
  for (const std::string& program : out->allowed_programs) {
    if (program.empty() || program[0] != '/') {
      return reader.Error("allowed_programs",
                          "must be absolute paths (got " + Describe(Json(program)) + ")");
    }
  }
  MODELRT_RETURN_IF_ERROR(ReadStringList(reader, "env_allowlist", &out->env_allowlist));
  for (const std::string& name : out->env_allowlist) {
    if (!IsEnvVarName(name)) {
      return reader.Error("env_allowlist",
                          "must be environment variable names (got " + Describe(Json(name)) + ")");
    }
  }
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("max_log_bytes", 1, kMaxInt64, &out->max_log_bytes));
  MODELRT_RETURN_IF_ERROR(
      reader.ReadInt("command_timeout_s", 1, kMaxInt64 / 1000, &out->command_timeout_s));
  MODELRT_RETURN_IF_ERROR(
      reader.ReadInt("batch_max_file_bytes", 1, kMaxInt64, &out->batch_max_file_bytes));
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("batch_max_lines", 1, kMaxInt64, &out->batch_max_lines));
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("batch_in_flight", 1, 4096, &out->batch_in_flight));
  return OkStatus();
}

Status ParseRegistrySection(const Json& json, std::string_view source,
                            RegistryStoreConfig* out) {
  MODELRT_ASSIGN_OR_RETURN(FieldReader reader, FieldReader::Create(json, std::string(source),
                                                                   "registry", {"store", "store_env"}));
  return ReadSharedStore(reader, &out->store, &out->store_env);
}

Status ParseStoreSection(const Json& json, std::string_view source, StoreConfig* out) {
  MODELRT_ASSIGN_OR_RETURN(
      FieldReader reader,
      FieldReader::Create(json, std::string(source), "store",
                          {"dir", "hf_endpoint", "parallel_threshold_mb", "parallel_parts",
                           "stall_timeout_s", "max_attempts"}));
  MODELRT_RETURN_IF_ERROR(reader.ReadString("dir", &out->dir));
  MODELRT_RETURN_IF_ERROR(reader.ReadString("hf_endpoint", &out->hf_endpoint));
  if (!out->hf_endpoint.empty() && out->hf_endpoint.rfind("http://", 0) != 0 &&
      out->hf_endpoint.rfind("https://", 0) != 0) {
    return reader.Error("hf_endpoint", "must be an http:// or https:// URL");
  }
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("parallel_threshold_mb", 1, kMaxInt64 >> 20,
                                         &out->parallel_threshold_mb));
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("parallel_parts", 1, 64, &out->parallel_parts));
  MODELRT_RETURN_IF_ERROR(
      reader.ReadInt("stall_timeout_s", 1, kMaxInt64 / 1000, &out->stall_timeout_s));
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("max_attempts", 1, 100, &out->max_attempts));
  return OkStatus();
}

Result<std::vector<ProviderConfig>> ParseProvidersSection(const Json& json,
                                                          std::string_view source) {
  MODELRT_RETURN_IF_ERROR(RequireList(json, source, "providers"));
  std::vector<ProviderConfig> providers;
  std::map<std::string, size_t> first_index;
  for (size_t i = 0; i < json.size(); ++i) {
    std::string path = IndexPath("providers", i);
    MODELRT_ASSIGN_OR_RETURN(ProviderConfig provider, ParseProvider(json[i], source, path));
    auto [it, inserted] = first_index.emplace(provider.id, i);
    if (!inserted) {
      return PathError(source, JoinPath(path, "id"),
                       "duplicate provider id '" + provider.id + "' (first at " +
                           IndexPath("providers", it->second) + ")");
    }
    providers.push_back(std::move(provider));
  }
  return providers;
}

Result<std::vector<ProfileSpec>> ParseProfilesSection(const Json& json, std::string_view source) {
  MODELRT_RETURN_IF_ERROR(RequireList(json, source, "profiles"));
  std::vector<ProfileSpec> profiles;
  std::map<std::string, size_t> first_index;
  for (size_t i = 0; i < json.size(); ++i) {
    std::string path = IndexPath("profiles", i);
    MODELRT_ASSIGN_OR_RETURN(ProfileSpec profile, ParseProfile(json[i], source, path));
    auto [it, inserted] = first_index.emplace(profile.name, i);
    if (!inserted) {
      return PathError(source, JoinPath(path, "name"),
                       "duplicate profile name '" + profile.name + "' (first at " +
                           IndexPath("profiles", it->second) + ")");
    }
    profiles.push_back(std::move(profile));
  }
  return profiles;
}

Result<ProviderConfig> ParseProviderConfig(const Json& json, std::string_view origin) {
  MODELRT_ASSIGN_OR_RETURN(ProviderConfig provider, ParseProvider(json, origin, ""));
  provider.origin = std::string(origin);
  return provider;
}

}  // namespace modelrt::catalog

namespace modelrt {

Result<ProviderConfig> ParseProviderConfig(std::string_view json_text, std::string_view origin) {
  Result<Json> json = catalog::ParseJsonText(json_text);
  if (!json) return InvalidArgumentError(std::string(origin) + ": " + json.error().message());
  return catalog::ParseProviderConfig(*json, origin);
}

}  // namespace modelrt
