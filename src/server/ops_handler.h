// Operational endpoints:
//   GET /health   200 {"status":"ok"} while the process serves HTTP (never needs a key)
//   GET /ready    200 when every `required` model has loaded (and has not failed since), else
//                 503 with each required model's state
//   GET /metrics  Prometheus text format 0.0.4: the runtime's and the server's series
//
//   router.Add("GET", "/ready", OpsHandler(deps, &server_metrics, OpsHandler::Kind::kReady));
//
// Thread-safety: stateless; safe from many threads.
#pragma once

#include "server/handler_deps.h"
#include "server/http_message.h"
#include "server/request_context.h"
#include "server/server_metrics.h"

namespace modelrt::server {

class OpsHandler {
 public:
  enum class Kind { kHealth, kReady, kMetrics };
  OpsHandler(HandlerDeps deps, ServerMetrics* server_metrics, Kind kind)
      : deps_(deps), server_metrics_(server_metrics), kind_(kind) {}
  HttpResponse operator()(const HttpRequest& request, RequestContext& ctx) const;

 private:
  HttpResponse Ready() const;
  HandlerDeps deps_;
  ServerMetrics* server_metrics_;
  Kind kind_;
};

}  // namespace modelrt::server
