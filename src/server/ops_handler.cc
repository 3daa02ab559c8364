#include "server/ops_handler.h"

#include "core/json.h"
#include "server/admin_json.h"

namespace modelrt::server {

HttpResponse OpsHandler::operator()(const HttpRequest& request, RequestContext& ctx) const {
  switch (kind_) {
    case Kind::kHealth:
      return JsonResponse(200, {{"status", "ok"}});
    case Kind::kReady:
      return Ready();
    case Kind::kMetrics:
      server_metrics_->RefreshModelGauges(*deps_.runtime);
      return TextResponse(200, deps_.runtime->metrics().RenderPrometheus(),
                          "text/plain; version=0.0.4; charset=utf-8");
  }
  return JsonResponse(500, {{"status", "unknown endpoint"}});
}

HttpResponse OpsHandler::Ready() const {
  // Draining (SIGTERM): a load balancer or readiness probe that still reaches this process (a
  // keep-alive connection, or before the listener closes) must stop sending it new work.
  if (deps_.draining != nullptr && deps_.draining->load()) {
    return JsonResponse(503, {{"status", "draining"}});
  }
  bool ready = true;
  Json models = Json::object();
  for (const ModelStatus& status : deps_.runtime->List()) {
    if (!status.spec.required) continue;
    // Loaded once and not failed since: an idle unload (the pool's TTL) does not make the
    // server unready, the next call loads it again.
    bool ok = status.state == ModelState::kLoaded ||
              (status.generation > 0 && status.state != ModelState::kFailed);
    ready = ready && ok;
    Json entry = {{"state", ToString(status.state)}};
    if (!status.last_error.empty()) entry["error"] = status.last_error;
    if (status.failed_at) entry["failed_at"] = Rfc3339(*status.failed_at);
    models[status.spec.alias] = std::move(entry);
  }
  return JsonResponse(ready ? 200 : 503,
                      {{"status", ready ? "ready" : "not_ready"}, {"models", std::move(models)}});
}

}  // namespace modelrt::server
