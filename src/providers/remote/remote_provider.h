// The remote provider types: an alias whose provider is `openai` (or another wire format) runs at
// that API instead of in process, and callers cannot tell but by latency. One class for every
// type: the type picks the WireFormat and the default base URL; RemoteSettings, UpstreamCaller
// and the models are shared.
//
//   providers: [{ id: up, type: openai, base_url: "http://127.0.0.1:8081/v1" }]
//   models:    [{ alias: chat, task: generate, provider: up, model: stories }]
//
// Loading is a cheap check that the upstream answers and takes the key (the format's probe, as
// GET /models), unless `probe: false`. A remote model costs no memory budget and no max_loaded
// slot (LoadEstimate device "remote"). Model options: `dimensions` (an embedder's size, else
// learned from its first answer), `context_length`.
//
// Thread-safety: thread-safe.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/thread_annotations.h"
#include "modelrt/provider.h"
#include "net/circuit_breaker.h"
#include "net/http_client.h"
#include "providers/remote/remote_settings.h"
#include "providers/remote/wire_format.h"

namespace modelrt::remote {

// The remote types CreateRemoteProvider knows, in ProviderTypes' order.
std::vector<std::string> RemoteProviderTypes();

class RemoteProvider : public Provider {
 public:
  // NotFound for a type that is not remote; InvalidArgument naming the key for bad settings
  // (base_url, a key variable that is not set, options).
  static Result<std::shared_ptr<RemoteProvider>> Create(const ProviderConfig& config);

  const std::string& id() const override { return settings_->provider_id; }
  std::string_view type() const override { return settings_->type; }
  Status Validate(const ModelSpec& spec) const override;
  Result<std::shared_ptr<Model>> Load(const ModelSpec& spec, const CallContext& ctx) override;
  LoadEstimate Estimate(const ModelSpec& spec) const override;

  // Each upstream model's breaker ("closed", "open", "half_open"), for /admin and /metrics.
  std::map<std::string, net::CircuitBreaker::State> BreakerStates() const;
  // {"breakers": {"<upstream model>": "closed" | "open" | "half_open"}}
  Options State() const override;

 private:
  RemoteProvider(std::shared_ptr<const RemoteSettings> settings,
                 std::shared_ptr<const WireFormat> format, std::shared_ptr<net::HttpClient> client)
      : settings_(std::move(settings)), format_(std::move(format)), client_(std::move(client)) {}
  std::shared_ptr<net::CircuitBreaker> BreakerFor(const std::string& upstream_model);

  const std::shared_ptr<const RemoteSettings> settings_;
  const std::shared_ptr<const WireFormat> format_;
  const std::shared_ptr<net::HttpClient> client_;
  mutable Mutex mu_;
  std::map<std::string, std::shared_ptr<net::CircuitBreaker>> breakers_ GUARDED_BY(mu_);
};

}  // namespace modelrt::remote
