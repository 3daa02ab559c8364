// The admin API's registry and provider routes (ADMIN_API.md "Registry and providers"):
//
//   GET    /admin/registry                          the current snapshot
//   GET    /admin/providers
//   PUT    /admin/providers/{id}                    create (201) or replace (200)
//   GET    /admin/providers/{id}/removal-preview
//   DELETE /admin/providers/{id}?policy=block|cascade
//
//   router.Add("GET", "/admin/registry",
//              AdminRegistryHandler(deps, AdminRegistryHandler::Action::kSnapshot), admin_inline);
//
// Thread-safety: stateless; safe from many threads.
#pragma once

#include "server/handler_deps.h"
#include "server/http_message.h"
#include "server/request_context.h"

namespace modelrt::server {

class AdminRegistryHandler {
 public:
  enum class Action { kSnapshot, kProviders, kPutProvider, kRemovalPreview, kDeleteProvider };
  // deps.control must be set.
  AdminRegistryHandler(HandlerDeps deps, Action action) : deps_(deps), action_(action) {}
  HttpResponse operator()(const HttpRequest& request, RequestContext& ctx) const;

 private:
  HttpResponse PutProvider(const HttpRequest& request, const std::string& id) const;
  HttpResponse DeleteProvider(const HttpRequest& request, const std::string& id) const;

  HandlerDeps deps_;
  Action action_;
};

}  // namespace modelrt::server
