// The `llama` provider: loads local GGUF files with the pinned llama.cpp, as an embedder
// (task embed), a reranker (task rerank) or a generator (task generate).
//
//   MODELRT_ASSIGN_OR_RETURN(auto provider, LlamaProvider::Create({.id = "local", .type = "llama",
//                                                      .options = MakeOptions({{"threads", 2}})}));
//   MODELRT_RETURN_IF_ERROR(provider->Validate(spec));
//   MODELRT_ASSIGN_OR_RETURN(auto model, provider->Load(spec, CallContext::WithTimeout(60s)));
//
// Provider options: threads (0 = hardware concurrency), gpu_layers. Model options: see
// LlamaModelOptions in llama_common.h.
//
// Thread-safety: thread-safe; Load may run for several specs at once (each model gets its own
// context and worker thread).
#pragma once

#include <memory>
#include <string>

#include "modelrt/provider.h"
#include "providers/llama/llama_common.h"

namespace modelrt::llama {

class LlamaProvider : public Provider {
 public:
  // InvalidArgument for unknown or mistyped provider options, or remote-only fields.
  static Result<std::shared_ptr<LlamaProvider>> Create(const ProviderConfig& config);

  const std::string& id() const override { return id_; }
  std::string_view type() const override { return "llama"; }
  Status Validate(const ModelSpec& spec) const override;
  Result<std::shared_ptr<Model>> Load(const ModelSpec& spec, const CallContext& ctx) override;
  Status Warmup() override;
  // The GGUF file's size (the weights llama.cpp maps); "gpu" when layers are offloaded.
  LoadEstimate Estimate(const ModelSpec& spec) const override;

 private:
  LlamaProvider(std::string id, LlamaProviderOptions options)
      : id_(std::move(id)), options_(options) {}

  const std::string id_;
  const LlamaProviderOptions options_;
};

}  // namespace modelrt::llama
