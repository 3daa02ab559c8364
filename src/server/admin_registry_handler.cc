#include "server/admin_registry_handler.h"

#include "catalog/config_sections.h"
#include "catalog/options_json.h"
#include "modelrt/lifecycle.h"
#include "core/json.h"
#include "registry/registry_json.h"
#include "server/admin_json.h"
#include "server/json_fields.h"

namespace modelrt::server {

HttpResponse AdminRegistryHandler::operator()(const HttpRequest& request,
                                              RequestContext& ctx) const {
  const Registry& registry = deps_.control->registry();
  const std::string id = ctx.params.count("id") ? ctx.params.at("id") : "";
  switch (action_) {
    case Action::kSnapshot: {
      std::shared_ptr<const RegistrySnapshot> snapshot = registry.Current();
      Json json = SnapshotToJson(*snapshot);
      Json providers = Json::array();
      for (const auto& [key, provider] : snapshot->providers) {
        providers.push_back(ProviderJson(provider));
      }
      json["providers"] = std::move(providers);
      return JsonResponse(200, json);
    }
    case Action::kProviders: {
      std::shared_ptr<const RegistrySnapshot> snapshot = registry.Current();
      Json data = Json::array();
      for (const auto& [key, provider] : snapshot->providers) data.push_back(ProviderJson(provider));
      return JsonResponse(200, {{"version", snapshot->version}, {"data", std::move(data)}});
    }
    case Action::kGetProvider: {
      std::shared_ptr<const RegistrySnapshot> snapshot = registry.Current();
      auto it = snapshot->providers.find(id);
      if (it == snapshot->providers.end()) {
        return AdminErrorResponse(NotFoundError("provider '" + id + "' is not registered"));
      }
      Json json = ProviderJson(it->second);
      json["version"] = snapshot->version;
      // What the running provider reports (a remote one's circuit breakers).
      const Options state = deps_.runtime->lifecycle().ProviderState(id);
      if (!state.empty()) json["state"] = OptionsJson(state);
      return JsonResponse(200, json);
    }
    case Action::kPutProvider: return PutProvider(request, id);
    case Action::kRemovalPreview: {
      Result<RemovalPreview> preview = registry.PreviewProviderRemoval(id);
      if (!preview) return AdminErrorResponse(preview.error());
      return JsonResponse(200, RemovalPreviewJson(*preview));
    }
    case Action::kDeleteProvider: return DeleteProvider(request, id);
  }
  return AdminErrorResponse(InternalError("unknown admin action"));
}

HttpResponse AdminRegistryHandler::PutProvider(const HttpRequest& request,
                                               const std::string& id) const {
  Result<Json> body = ParseJsonObject(request.body);
  if (!body) return AdminErrorResponse(body.error());
  // The path names the provider; a body that names another is a mistake, not a rename.
  if (const Json* body_id = FindField(*body, "id")) {
    if (!body_id->is_string() || body_id->get<std::string>() != id) {
      return AdminErrorResponse(InvalidArgumentError(
          "id: the body's id must match the path ('" + id + "') or be left out"));
    }
  }
  (*body)["id"] = id;
  Result<ProviderConfig> provider =
      catalog::ParseProviderConfig(*body, "PUT /admin/providers/" + id);
  if (!provider) return AdminErrorResponse(provider.error());
  Result<control::ProviderPut> put = deps_.control->PutProvider(*std::move(provider));
  if (!put) return AdminErrorResponse(put.error());
  Json failed = Json::array();
  for (const auto& [alias, status] : put->summary.failed) {
    failed.push_back({{"alias", alias}, {"error", status.ToString()}});
  }
  return JsonResponse(put->created ? 201 : 200, {{"id", id},
                                                 {"version", put->version},
                                                 {"created", put->created},
                                                 {"reloaded", put->summary.reloaded},
                                                 {"failed", std::move(failed)}});
}

HttpResponse AdminRegistryHandler::DeleteProvider(const HttpRequest& request,
                                                  const std::string& id) const {
  RemovalPolicy policy = RemovalPolicy::kBlock;
  if (std::optional<std::string> text = QueryParam(request.query, "policy")) {
    Result<RemovalPolicy> parsed = ParseRemovalPolicy(*text);
    if (!parsed) return AdminErrorResponse(parsed.error());
    policy = *parsed;
  }
  Result<control::ProviderRemoval> removed = deps_.control->RemoveProvider(id, policy);
  if (!removed) return AdminErrorResponse(removed.error());
  return JsonResponse(200, {{"id", id},
                            {"version", removed->version},
                            {"removed_bindings", removed->removed_bindings}});
}

}  // namespace modelrt::server
