#include "server/admin_models_handler.h"

#include <algorithm>

#include "catalog/model_spec_parser.h"
#include "catalog/options_json.h"
#include "core/json.h"
#include "modelrt/lifecycle.h"
#include "server/admin_json.h"
#include "server/json_fields.h"

namespace modelrt::server {
namespace {

// Fields POST /admin/models/{alias}/reload may change.
constexpr std::string_view kReloadFields[] = {"model", "options"};

bool IsBlank(std::string_view body) {
  return body.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// The alias's spec with the body's changes: `model` replaces the file, `options` is merged into the
// current options (RFC 7386: a null value removes an option). nullopt for an empty body.
Result<std::optional<ModelSpec>> ReloadSpec(const std::string& body, ModelSpec spec) {
  if (IsBlank(body)) return std::optional<ModelSpec>();
  MODELRT_ASSIGN_OR_RETURN(Json json, ParseJsonObject(body));
  for (const auto& [key, value] : json.items()) {
    if (std::find(std::begin(kReloadFields), std::end(kReloadFields), key) ==
        std::end(kReloadFields)) {
      return InvalidArgumentError("'" + key + "': not a field a reload can change (model, options)");
    }
  }
  if (json.empty()) return std::optional<ModelSpec>();
  MODELRT_ASSIGN_OR_RETURN(std::optional<std::string> model, OptionalString(json, "model"));
  if (model) {
    if (model->empty()) return InvalidArgumentError("'model' must not be empty");
    spec.model = *model;
  }
  if (const Json* options = FindField(json, "options")) {
    if (!options->is_object()) {
      return InvalidArgumentError("'options' must be an object (got " +
                                  std::string(JsonTypeName(*options)) + ")");
    }
    Json merged = OptionsJson(spec.options);
    merged.merge_patch(*options);
    spec.options = MakeOptions(std::move(merged));
  }
  spec.origin = "POST /admin/models/" + spec.alias + "/reload";
  return std::optional<ModelSpec>(std::move(spec));
}

}  // namespace

HttpResponse AdminModelsHandler::operator()(const HttpRequest& request, RequestContext& ctx) const {
  ModelRuntime& runtime = deps_.control->runtime();
  const std::string alias = ctx.params.count("alias") ? ctx.params.at("alias") : "";
  ctx.model = alias;
  switch (action_) {
    case Action::kList: {
      Json data = Json::array();
      for (const ModelStatus& status : runtime.List()) data.push_back(ModelJson(status));
      return JsonResponse(200, {{"object", "list"}, {"data", std::move(data)}});
    }
    case Action::kGet: return Model(alias);
    case Action::kCreate: return Create(request);
    case Action::kDelete: {
      Result<control::ModelChange> removed = deps_.control->RemoveModel(alias);
      if (!removed) return AdminErrorResponse(removed.error());
      return JsonResponse(200,
                          {{"alias", alias}, {"removed", true}, {"version", removed->version}});
    }
    case Action::kLoad: {
      Status loaded = runtime.lifecycle().Load(alias);
      if (!loaded.ok()) return AdminErrorResponse(loaded);
      return Model(alias);
    }
    case Action::kUnload: {
      Status unloaded = runtime.lifecycle().Unload(alias);
      if (!unloaded.ok()) return AdminErrorResponse(unloaded);
      return Model(alias);
    }
    case Action::kReload: return Reload(request, alias);
    case Action::kVersions: return Versions(alias);
  }
  return AdminErrorResponse(InternalError("unknown admin action"));
}

HttpResponse AdminModelsHandler::Model(const std::string& alias, int status) const {
  Result<ModelStatus> model = deps_.control->runtime().Describe(alias);
  if (!model) return AdminErrorResponse(model.error());
  return JsonResponse(status, ModelJson(*model));
}

HttpResponse AdminModelsHandler::Create(const HttpRequest& request) const {
  Result<Json> body = ParseJsonObject(request.body);
  if (!body) return AdminErrorResponse(body.error());
  Result<ModelSpec> spec = catalog::ParseModelSpec(*body, "POST /admin/models");
  if (!spec) return AdminErrorResponse(spec.error());
  const std::string alias = spec->alias;
  Result<control::ModelChange> added = deps_.control->AddModel(*std::move(spec));
  if (!added) return AdminErrorResponse(added.error());
  // Published: an eager load that failed shows as the model's state and last_error.
  return Model(alias, 201);
}

HttpResponse AdminModelsHandler::Reload(const HttpRequest& request,
                                        const std::string& alias) const {
  Result<ModelStatus> current = deps_.control->runtime().Describe(alias);
  if (!current) return AdminErrorResponse(current.error());
  Result<std::optional<ModelSpec>> spec = ReloadSpec(request.body, current->spec);
  if (!spec) return AdminErrorResponse(spec.error());
  Result<ReloadRecord> record = deps_.control->ReloadModel(alias, *std::move(spec));
  if (!record) return AdminErrorResponse(record.error());
  return JsonResponse(200, ReloadJson(*record));
}

HttpResponse AdminModelsHandler::Versions(const std::string& alias) const {
  ModelRuntime& runtime = deps_.control->runtime();
  std::vector<VersionRecord> versions = runtime.lifecycle().VersionHistory(alias);
  // A removed alias keeps its history; one never seen has none.
  if (versions.empty() && !runtime.Contains(alias)) {
    return AdminErrorResponse(NotFoundError("unknown model '" + alias + "'"));
  }
  Json data = Json::array();
  for (const VersionRecord& record : versions) data.push_back(VersionJson(record));
  return JsonResponse(200, {{"alias", alias}, {"data", std::move(data)}});
}

}  // namespace modelrt::server
