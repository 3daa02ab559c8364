#include "server/admin_ops_handler.h"

#include <algorithm>

#include "core/json.h"
#include "modelrt/lifecycle.h"
#include "server/admin_json.h"

namespace modelrt::server {

HttpResponse AdminOpsHandler::operator()(const HttpRequest&, RequestContext&) const {
  ModelRuntime& runtime = deps_.control->runtime();
  switch (action_) {
    case Action::kPool: return JsonResponse(200, PoolJson(runtime.PoolStatus()));
    case Action::kReloads: {
      Json reloads = Json::array(), versions = Json::array();
      for (const ReloadRecord& record : runtime.lifecycle().ReloadLog())
        reloads.push_back(ReloadJson(record));
      // Per alias from the runtime; the API lists them oldest first.
      std::vector<VersionRecord> history = runtime.lifecycle().VersionHistory();
      std::stable_sort(history.begin(), history.end(), [](const auto& a, const auto& b) {
        return a.global_generation < b.global_generation;
      });
      for (const VersionRecord& record : history) versions.push_back(VersionJson(record));
      return JsonResponse(200, {{"global_generation", runtime.lifecycle().GlobalGeneration()},
                                {"reloads", std::move(reloads)},
                                {"versions", std::move(versions)}});
    }
    case Action::kConfigReload: {
      Result<control::ConfigReload> reload = deps_.control->ReloadConfigFile();
      if (!reload) return AdminErrorResponse(reload.error());
      return JsonResponse(200, ConfigReloadJson(*reload));
    }
  }
  return AdminErrorResponse(InternalError("unknown admin action"));
}

}  // namespace modelrt::server
