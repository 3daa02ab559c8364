// Alias-spec validation; see model_spec_parser.h. Also home of the public ParseModelSpec and
// ToString(WarmupPolicy) from modelrt/catalog.h.
#include "catalog/model_spec_parser.h"

#include <algorithm>
#include <cctype>
#include <limits>

#include "catalog/field_reader.h"
#include "catalog/json_text.h"
#include "catalog/options_json.h"
#include "core/json.h"

namespace modelrt::catalog {
namespace {

constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();

bool IsAliasChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == ':' ||
         c == '/' || c == '-';
}

Status ParseRetry(const FieldReader& parent, RetryPolicy* retry) {
  const Json* json = parent.Find("retry");
  if (json == nullptr) return OkStatus();
  MODELRT_ASSIGN_OR_RETURN(
      FieldReader reader,
      FieldReader::Create(*json, parent.source(), parent.PathOf("retry"),
                          {"max_attempts", "initial_backoff_ms", "max_backoff_ms"}));
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("max_attempts", 1, 100, &retry->max_attempts));
  int64_t initial_ms = retry->initial_backoff.count();
  int64_t max_ms = retry->max_backoff.count();
  constexpr int64_t kDay = 24LL * 3600 * 1000;  // a longer backoff is surely a unit mistake
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("initial_backoff_ms", 0, kDay, &initial_ms));
  if (reader.Has("max_backoff_ms")) {
    MODELRT_RETURN_IF_ERROR(reader.ReadInt("max_backoff_ms", 0, kDay, &max_ms));
    if (max_ms < initial_ms) {
      return reader.Error("max_backoff_ms", "must be >= initial_backoff_ms (" +
                                                std::to_string(initial_ms) + ") (got " +
                                                std::to_string(max_ms) + ")");
    }
  } else {
    // Only the start was given: let the default ceiling rise to it rather than fail.
    max_ms = std::max(max_ms, initial_ms);
  }
  retry->initial_backoff = std::chrono::milliseconds(initial_ms);
  retry->max_backoff = std::chrono::milliseconds(max_ms);
  return OkStatus();
}

}  // namespace

bool IsValidAlias(std::string_view alias) {
  return !alias.empty() && alias.size() <= kMaxNameLength &&
         std::all_of(alias.begin(), alias.end(), IsAliasChar);
}

std::string AliasRule() {
  return "must be 1-" + std::to_string(kMaxNameLength) + " characters from A-Z a-z 0-9 . _ : / -";
}

bool IsSecretKey(std::string_view key) {
  static constexpr std::string_view kSecretKeys[] = {
      "api_key", "apikey",       "api_keys",  "admin_key", "key",
      "token",   "access_token", "api_token", "password",  "secret"};
  std::string lower(key);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return std::find(std::begin(kSecretKeys), std::end(kSecretKeys), lower) != std::end(kSecretKeys);
}

Status RejectInlineSecrets(const Json& object, std::string_view source, std::string_view path,
                           std::string_view instead) {
  if (!object.is_object()) return OkStatus();
  for (const auto& [key, value] : object.items()) {
    if (IsSecretKey(key)) {
      return PathError(source, JoinPath(path, key),
                       "secrets are not accepted inline; use " + std::string(instead));
    }
  }
  return OkStatus();
}

// deployments: [{provider: azure-east, model: gpt-4o, weight: 2}, ...]; the first one is also
// the spec's provider and model.
Status ParseDeployments(FieldReader& reader, ModelSpec* spec) {
  const Json* list = reader.Find("deployments");
  if (!list->is_array() || list->empty()) {
    return reader.Error("deployments", "must be a non-empty list of {provider, model, weight}");
  }
  for (size_t i = 0; i < list->size(); ++i) {
    MODELRT_ASSIGN_OR_RETURN(
        FieldReader item, FieldReader::Create((*list)[i], reader.source(),
                                              IndexPath(reader.PathOf("deployments"), i),
                                              {"provider", "model", "weight"}));
    Deployment d;
    MODELRT_RETURN_IF_ERROR(item.ReadString("provider", &d.provider, true, true));
    MODELRT_RETURN_IF_ERROR(item.ReadString("model", &d.model, true, true));
    MODELRT_RETURN_IF_ERROR(item.ReadInt("weight", 1, 1000, &d.weight));
    if (std::find(spec->deployments.begin(), spec->deployments.end(), d) !=
        spec->deployments.end()) {
      return item.Error("model", "'" + d.provider + "' / '" + d.model + "' is listed twice");
    }
    spec->deployments.push_back(std::move(d));
  }
  spec->provider = spec->deployments[0].provider;
  spec->model = spec->deployments[0].model;
  return OkStatus();
}

Result<ModelSpec> ParseModelSpecAt(const Json& json, std::string_view source,
                                   std::string_view path) {
  MODELRT_ASSIGN_OR_RETURN(
      FieldReader reader,
      FieldReader::Create(json, std::string(source), std::string(path),
                          {"alias", "task", "provider", "model", "options", "warmup", "required",
                           "timeout_s", "load_timeout_s", "retry", "pinned", "keep_alive_s",
                           "fallbacks", "deployments", "pull"}));
  ModelSpec spec;
  MODELRT_RETURN_IF_ERROR(reader.ReadString("alias", &spec.alias, /*required=*/true));
  if (!IsValidAlias(spec.alias)) {
    return reader.Error("alias", AliasRule() + " (got " + Describe(Json(spec.alias)) + ")");
  }
  if (!reader.Has("task")) return reader.Error("task", "is required");
  int task = 0;
  MODELRT_RETURN_IF_ERROR(reader.ReadEnum("task", {"embed", "rerank", "generate"}, &task));
  spec.task = static_cast<Task>(task);
  if (reader.Has("deployments")) {
    for (const char* key : {"provider", "model"}) {
      if (reader.Has(key)) return reader.Error(key, "give provider and model, or deployments");
    }
    MODELRT_RETURN_IF_ERROR(ParseDeployments(reader, &spec));
  } else {
    MODELRT_RETURN_IF_ERROR(
        reader.ReadString("provider", &spec.provider, /*required=*/false, /*non_empty=*/true));
    MODELRT_RETURN_IF_ERROR(
        reader.ReadString("model", &spec.model, /*required=*/true, /*non_empty=*/true));
  }
  MODELRT_RETURN_IF_ERROR(reader.ReadOptions("options", &spec.options));
  MODELRT_RETURN_IF_ERROR(
      RejectInlineSecrets(OptionsJson(spec.options), source, reader.PathOf("options")));
  int warmup = 0;
  MODELRT_RETURN_IF_ERROR(reader.ReadEnum("warmup", {"lazy", "eager", "background"}, &warmup));
  spec.warmup = static_cast<WarmupPolicy>(warmup);
  MODELRT_RETURN_IF_ERROR(reader.ReadBool("required", &spec.required));
  MODELRT_RETURN_IF_ERROR(reader.ReadSeconds("timeout_s", 0, /*exclusive=*/false, &spec.timeout));
  MODELRT_RETURN_IF_ERROR(
      reader.ReadSeconds("load_timeout_s", 0, /*exclusive=*/true, &spec.load_timeout));
  MODELRT_RETURN_IF_ERROR(ParseRetry(reader, &spec.retry));
  MODELRT_RETURN_IF_ERROR(reader.ReadBool("pinned", &spec.pinned));
  MODELRT_RETURN_IF_ERROR(reader.ReadBool("pull", &spec.pull));
  if (reader.Has("keep_alive_s")) {
    int64_t keep_alive = 0;
    MODELRT_RETURN_IF_ERROR(reader.ReadInt("keep_alive_s", -1, kMaxInt64, &keep_alive));
    spec.keep_alive_s = keep_alive;
  }
  if (const Json* fallbacks = reader.Find("fallbacks")) {
    if (!fallbacks->is_array()) return reader.Error("fallbacks", "must be a list of aliases");
    for (const Json& alias : *fallbacks) {
      if (!alias.is_string() || !IsValidAlias(alias.get<std::string>())) {
        return reader.Error("fallbacks", "must be a list of aliases (got " + Describe(alias) + ")");
      }
      const std::string name = alias.get<std::string>();
      if (name == spec.alias) return reader.Error("fallbacks", "must not name the alias itself");
      if (std::find(spec.fallbacks.begin(), spec.fallbacks.end(), name) != spec.fallbacks.end()) {
        return reader.Error("fallbacks", "'" + name + "' is listed twice");
      }
      spec.fallbacks.push_back(name);
    }
  }
  return spec;
}

Result<ModelSpec> ParseModelSpec(const Json& json, std::string_view origin) {
  MODELRT_ASSIGN_OR_RETURN(ModelSpec spec, ParseModelSpecAt(json, origin, ""));
  spec.origin = std::string(origin);
  return spec;
}

}  // namespace modelrt::catalog

namespace modelrt {

std::string_view ToString(WarmupPolicy policy) {
  switch (policy) {
    case WarmupPolicy::kLazy: return "lazy";
    case WarmupPolicy::kEager: return "eager";
    case WarmupPolicy::kBackground: return "background";
  }
  return "unknown";
}

Result<ModelSpec> ParseModelSpec(std::string_view json_text, std::string_view origin) {
  Result<Json> json = catalog::ParseJsonText(json_text);
  if (!json) return InvalidArgumentError(std::string(origin) + ": " + json.error().message());
  return catalog::ParseModelSpec(*json, origin);
}

}  // namespace modelrt
