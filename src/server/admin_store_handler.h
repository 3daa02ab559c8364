// The admin API's model-store routes:
//
//   GET    /admin/store                          every bundle's manifest
//   GET    /admin/store/{owner}/{repo}?revision=  one bundle (revision default main)
//   DELETE /admin/store/{owner}/{repo}?revision=  remove it (and files no other bundle uses)
//
// Thread-safety: stateless; safe from many threads.
#pragma once

#include "server/handler_deps.h"
#include "server/http_message.h"
#include "server/request_context.h"

namespace modelrt::server {

class AdminStoreHandler {
 public:
  enum class Action { kList, kGet, kDelete };
  AdminStoreHandler(HandlerDeps deps, Action action) : deps_(deps), action_(action) {}
  HttpResponse operator()(const HttpRequest& request, RequestContext& ctx) const;

 private:
  HandlerDeps deps_;
  Action action_;
};

}  // namespace modelrt::server
