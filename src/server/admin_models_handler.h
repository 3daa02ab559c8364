// The admin API's model routes (ADMIN_API.md "Models"):
//
//   GET    /admin/models                     every alias with its state and generation
//   GET    /admin/models/{alias}
//   POST   /admin/models                     register an alias (persisted in the registry)
//   DELETE /admin/models/{alias}
//   POST   /admin/models/{alias}/load        (blocks until loaded)
//   POST   /admin/models/{alias}/unload
//   POST   /admin/models/{alias}/reload      optional body {"model", "options"}
//   GET    /admin/models/{alias}/versions
//
//   router.Add("GET", "/admin/models", AdminModelsHandler(deps, AdminModelsHandler::Action::kList),
//              {.admin = true, .inline_ok = true});
//
// Thread-safety: stateless; safe from many threads.
#pragma once

#include "server/handler_deps.h"
#include "server/http_message.h"
#include "server/request_context.h"

namespace modelrt::server {

class AdminModelsHandler {
 public:
  enum class Action { kList, kGet, kCreate, kDelete, kLoad, kUnload, kReload, kVersions };
  // deps.control must be set.
  AdminModelsHandler(HandlerDeps deps, Action action) : deps_(deps), action_(action) {}
  HttpResponse operator()(const HttpRequest& request, RequestContext& ctx) const;

 private:
  // 200 (or `status`) with the alias's MODEL object.
  HttpResponse Model(const std::string& alias, int status = 200) const;
  HttpResponse Create(const HttpRequest& request) const;
  HttpResponse Reload(const HttpRequest& request, const std::string& alias) const;
  HttpResponse Versions(const std::string& alias) const;

  HandlerDeps deps_;
  Action action_;
};

}  // namespace modelrt::server
