#include "server/server_metrics.h"

#include "catalog/options_json.h"
#include "modelrt/lifecycle.h"

namespace modelrt::server {

ServerMetrics::ServerMetrics(MetricsRegistry& registry)
    : registry_(registry),
      in_flight_(registry.GetGauge("modelrt_http_requests_in_flight",
                                   "HTTP requests being handled now")) {}

ServerMetrics::Series& ServerMetrics::SeriesFor(const RequestRecord& r) {
  std::string key = r.route;
  key += '\n';
  key += r.model;
  key += '\n';
  key += std::to_string(r.status);
  auto [it, inserted] = series_.try_emplace(std::move(key));
  if (inserted) {
    const std::string route = r.route.empty() ? "unmatched" : r.route;
    it->second.requests = &registry_.GetCounter(
        "modelrt_http_requests_total", "HTTP requests by route, model and status",
        {{"route", route}, {"model", r.model}, {"status", std::to_string(r.status)}});
    it->second.duration = &registry_.GetHistogram(
        "modelrt_http_request_duration_seconds",
        "HTTP request latency, from the request read to the last byte written",
        {{"route", route}, {"model", r.model}});
  }
  return it->second;
}

void ServerMetrics::RecordRequest(const RequestRecord& r) {
  Counter* requests;
  Histogram* duration;
  Counter* prompt = nullptr;
  Counter* completion = nullptr;
  {
    MutexLock lock(mu_);
    Series& series = SeriesFor(r);
    if (r.prompt_tokens > 0 && !series.prompt_tokens) {
      series.prompt_tokens = &registry_.GetCounter(
          "modelrt_prompt_tokens_total", "Prompt (input) tokens processed", {{"model", r.model}});
    }
    if (r.completion_tokens > 0 && !series.completion_tokens) {
      series.completion_tokens =
          &registry_.GetCounter("modelrt_completion_tokens_total",
                                "Completion (output) tokens produced", {{"model", r.model}});
    }
    requests = series.requests;
    duration = series.duration;
    prompt = series.prompt_tokens;
    completion = series.completion_tokens;
  }
  // Counters and histograms are thread-safe on their own (atomics).
  requests->Increment();
  duration->Observe(r.seconds);
  if (r.prompt_tokens > 0) prompt->Increment(static_cast<double>(r.prompt_tokens));
  if (r.completion_tokens > 0) completion->Increment(static_cast<double>(r.completion_tokens));
}

void ServerMetrics::RefreshModelGauges(ModelRuntime& runtime) {
  for (const ModelStatus& status : runtime.List()) {
    Labels labels = {{"model", status.spec.alias}};
    registry_.GetGauge("modelrt_model_loaded", "1 when the model is loaded", labels)
        .Set(status.state == ModelState::kLoaded ? 1 : 0);
    registry_.GetGauge("modelrt_model_in_flight", "Calls running on the model now", labels)
        .Set(static_cast<double>(status.in_flight));
    // Admission sets it; here it comes to exist at 0 before the model's first request, so an
    // autoscaler reading a replica that just started sees the series (the same one: by name
    // and labels).
    registry_.GetGauge("modelrt_queue_depth", "Requests admitted per model, waiting or running",
                       labels);
    // What balancers and autoscalers route and scale on. Engines with a queue of their own
    // (generation slots) say what waits and what runs; for the others every call in flight is
    // being served (or batched), none waits.
    const ModelOccupancy& o = status.occupancy;
    registry_
        .GetGauge("modelrt_requests_waiting",
                  "Requests queued for the model's engine, not started", labels)
        .Set(static_cast<double>(o.reported ? o.waiting : 0));
    registry_
        .GetGauge("modelrt_requests_running", "Requests the model's engine is serving now",
                  labels)
        .Set(static_cast<double>(o.reported ? o.running : status.in_flight));
    if (o.kv_capacity_tokens > 0) {
      registry_
          .GetGauge("modelrt_kv_cache_usage_ratio",
                    "Share of the generation engine's KV-cache cells holding tokens", labels)
          .Set(static_cast<double>(o.kv_used_tokens) / static_cast<double>(o.kv_capacity_tokens));
      registry_
          .GetGauge("modelrt_kv_cache_tokens", "KV-cache cells holding tokens", labels)
          .Set(static_cast<double>(o.kv_used_tokens));
    }
  }
  // Remote providers' circuit breakers, from what each provider reports (Provider::State).
  RuntimeLifecycle& lifecycle = runtime.lifecycle();
  for (const std::string& id : lifecycle.ProviderIds()) {
    const Options options = lifecycle.ProviderState(id);  // held: OptionsJson refers into it
    const Json& state = OptionsJson(options);
    auto breakers = state.find("breakers");
    if (breakers == state.end() || !breakers->is_object()) continue;
    for (const auto& [model, value] : breakers->items()) {
      const std::string name = value.is_string() ? value.get<std::string>() : "";
      registry_
          .GetGauge("modelrt_upstream_breaker_state",
                    "Circuit breaker of a remote provider's upstream model: 0 closed, 1 half-open, "
                    "2 open",
                    {{"provider", id}, {"model", model}})
          .Set(name == "open" ? 2 : name == "half_open" ? 1 : 0);
    }
  }
}

}  // namespace modelrt::server
