// The admin API's pool, reload-log and config routes (ADMIN_API.md "Pool, reloads, config"):
//
//   GET  /admin/pool            engine pool statistics and engines
//   GET  /admin/reloads         the reload log and version history, oldest first
//   POST /admin/config/reload   re-read the config file, as SIGHUP does
//
// Thread-safety: stateless; safe from many threads.
#pragma once

#include "server/handler_deps.h"
#include "server/http_message.h"
#include "server/request_context.h"

namespace modelrt::server {

class AdminOpsHandler {
 public:
  enum class Action { kPool, kReloads, kConfigReload };
  // deps.control must be set.
  AdminOpsHandler(HandlerDeps deps, Action action) : deps_(deps), action_(action) {}
  HttpResponse operator()(const HttpRequest& request, RequestContext& ctx) const;

 private:
  HandlerDeps deps_;
  Action action_;
};

}  // namespace modelrt::server
