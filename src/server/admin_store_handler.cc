#include "server/admin_store_handler.h"

#include "core/json.h"
#include "server/admin_json.h"
#include "store/model_store.h"

namespace modelrt::server {

HttpResponse AdminStoreHandler::operator()(const HttpRequest& request, RequestContext& ctx) const {
  if (deps_.store == nullptr) return AdminErrorResponse(FailedPreconditionError("no model store"));
  store::ModelStore& model_store = *deps_.store;
  if (action_ == Action::kList) {
    Json data = Json::array();
    for (const store::BundleManifest& m : model_store.List()) data.push_back(store::ManifestToJson(m));
    return JsonResponse(200, {{"object", "list"}, {"root", model_store.root()}, {"data", data}});
  }
  const std::string name = ctx.params["owner"] + "/" + ctx.params["repo"];
  const std::string revision = QueryParam(request.query, "revision").value_or("main");
  if (action_ == Action::kGet) {
    Result<store::BundleManifest> m = model_store.Describe(name, revision);
    if (!m) return AdminErrorResponse(m.error());
    return JsonResponse(200, store::ManifestToJson(*m));
  }
  if (Status removed = model_store.Remove(name, revision); !removed.ok()) {
    return AdminErrorResponse(removed);
  }
  return JsonResponse(200, {{"name", name}, {"revision", revision}, {"removed", true}});
}

}  // namespace modelrt::server
