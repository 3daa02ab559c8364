// ServerMetrics: the HTTP server's series, in the runtime's MetricsRegistry so one /metrics
// page shows both:
//
//   modelrt_http_requests_total{route,model,status}          counter
//   modelrt_http_request_duration_seconds{route,model}       histogram
//   modelrt_http_requests_in_flight                          gauge
//   modelrt_prompt_tokens_total{model}                       counter
//   modelrt_completion_tokens_total{model}                   counter
//   modelrt_model_loaded{model}, modelrt_model_in_flight{model}   gauges, refreshed per scrape
//   modelrt_requests_waiting{model}, modelrt_requests_running{model}   gauges, per scrape
//   modelrt_kv_cache_usage_ratio{model}, modelrt_kv_cache_tokens{model} gauges (generation)
//   modelrt_queue_depth{model}                               gauge (AdmissionControl)
//
// `route` is the matched pattern ("/v1/models/{id}"), never the raw path, and `model` is set only
// for names the catalog knows, so clients cannot grow the label sets without bound.
//
//   metrics.RecordRequest({.route = "/v1/embeddings", .model = "embed", .status = 200, ...});
//
// Thread-safety: thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "core/thread_annotations.h"
#include "modelrt/metrics.h"
#include "modelrt/runtime.h"

namespace modelrt::server {

struct RequestRecord {
  std::string method;
  std::string path;
  std::string route;  // "" = no route matched
  std::string model;
  std::string request_id;
  int status = 0;
  double seconds = 0;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
};

class ServerMetrics {
 public:
  explicit ServerMetrics(MetricsRegistry& registry);

  void RecordRequest(const RequestRecord& record);
  Gauge& in_flight() { return in_flight_; }
  // Refreshes the per-model state gauges from the runtime (call before rendering).
  void RefreshModelGauges(ModelRuntime& runtime);

 private:
  // The series one (route, model, status) feeds, looked up once: the registry's lookup takes
  // its global mutex and builds label maps, which is most of what recording costs. Token
  // counters stay null until a request reports tokens (so none appear for models without).
  struct Series {
    Counter* requests = nullptr;
    Histogram* duration = nullptr;
    Counter* prompt_tokens = nullptr;
    Counter* completion_tokens = nullptr;
  };
  Series& SeriesFor(const RequestRecord& r) REQUIRES(mu_);

  MetricsRegistry& registry_;
  Gauge& in_flight_;
  Mutex mu_;
  // Bounded like the label sets: routes are patterns and models are catalog names.
  std::unordered_map<std::string, Series> series_ GUARDED_BY(mu_);
};

}  // namespace modelrt::server
