// ApiService: the HTTP API without the transport — routes every endpoint to its handler, checks
// API keys (and the admin key on /admin), and stops exceptions at the boundary (a handler bug
// becomes a 500, a JSON type error a 400; neither takes the server down). The admin routes exist
// when deps.control is set.
//
//   ApiService api(deps, &server_metrics, std::move(auth), std::move(admin), start_time);
//   RequestContext ctx{.request_id = id};
//   HttpResponse response = api.Handle(request, ctx);
//
// Thread-safety: immutable after construction; Handle is safe from many threads.
#pragma once

#include <cstdint>
#include <string_view>

#include "server/admin_key_auth.h"
#include "server/api_key_auth.h"
#include "server/handler_deps.h"
#include "server/http_message.h"
#include "server/request_context.h"
#include "server/router.h"
#include "server/server_metrics.h"

namespace modelrt::server {

class ApiService {
 public:
  ApiService(HandlerDeps deps, ServerMetrics* server_metrics, ApiKeyAuth auth, AdminKeyAuth admin,
             int64_t created);
  ApiService(const ApiService&) = delete;
  ApiService& operator=(const ApiService&) = delete;

  // True for requests that never block (health, metrics, listings, errors), which the session
  // answers on its I/O thread; the rest run on the blocking executor.
  bool RunsInline(const HttpRequest& request) const;
  // Whether the request's handler answers later (RouteOptions::answers_later).
  bool AnswersLater(const HttpRequest& request) const;
  // The body limit of the route `method path` matches (RouteOptions::max_body_bytes), else
  // `fallback`.
  int64_t BodyLimit(std::string_view method, std::string_view path, int64_t fallback) const;

  // Routes, authenticates and runs the handler. Never throws. Sets ctx.route and ctx.params.
  HttpResponse Handle(const HttpRequest& request, RequestContext& ctx) const;
  // The same without the key check, for requests of jobs already authorised when submitted
  // (InProcessGateway). Admin routes stay closed (403).
  HttpResponse HandleInternal(const HttpRequest& request, RequestContext& ctx) const;

  const ApiKeyAuth& auth() const { return auth_; }

 private:
  void AddAdminRoutes(const HandlerDeps& deps);
  void AddJobRoutes(const HandlerDeps& deps);
  HttpResponse Run(const Route& route, const HttpRequest& request, RequestContext& ctx) const;

  Router router_;
  ApiKeyAuth auth_;
  AdminKeyAuth admin_;
};

}  // namespace modelrt::server
