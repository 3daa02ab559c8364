// The admin API's job routes:
//
//   POST /admin/jobs[?dry_run=true]   {kind, params, metadata}: 201 + the job, or 200 + its plan
//   GET  /admin/jobs[?state&kind&limit]
//   GET  /admin/jobs/{id}
//   POST /admin/jobs/{id}/cancel
//   GET  /admin/jobs/{id}/events      SSE: the job's events from ?after= (or Last-Event-ID) on,
//                                     until it ends; each `id: seq`, `event: type`, `data: json`
//
// The events stream holds one admin thread while it is open (a comment every 5 s finds
// clients that left).
//
// Thread-safety: stateless; safe from many threads.
#pragma once

#include "server/handler_deps.h"
#include "server/http_message.h"
#include "server/request_context.h"

namespace modelrt::server {

class AdminJobsHandler {
 public:
  enum class Action { kSubmit, kList, kGet, kCancel, kEvents };
  AdminJobsHandler(HandlerDeps deps, Action action) : deps_(deps), action_(action) {}
  HttpResponse operator()(const HttpRequest& request, RequestContext& ctx) const;

 private:
  HttpResponse Events(const HttpRequest& request, RequestContext& ctx) const;
  HandlerDeps deps_;
  Action action_;
};

}  // namespace modelrt::server
