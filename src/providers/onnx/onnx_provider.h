// The `onnx` provider: embedding models and cross-encoder rerankers in the Hugging Face layout
// (model.onnx + tokenizer.json, see hf_model_files.h), run by ONNX Runtime 1.30 on the CPU.
//
//   providers: [{id: onnx, type: onnx}]
//   models:
//     - {alias: embed, task: embed, provider: onnx, model: /models/bge-small-en-v1.5}
//     - {alias: rerank, task: rerank, provider: onnx, model: /models/ms-marco-MiniLM-L-6-v2}
//
// Provider options: threads. Model options: see OnnxModelOptions in onnx_options.h.
// Thread-safety: thread-safe; Load may run for several specs at once.
#pragma once

#include <memory>
#include <string>

#include "modelrt/provider.h"
#include "providers/onnx/onnx_options.h"

namespace modelrt::onnx {

class OnnxProvider : public Provider {
 public:
  // InvalidArgument for unknown or mistyped provider options, or remote-only fields.
  static Result<std::shared_ptr<OnnxProvider>> Create(const ProviderConfig& config);

  const std::string& id() const override { return id_; }
  std::string_view type() const override { return "onnx"; }
  Status Validate(const ModelSpec& spec) const override;
  Result<std::shared_ptr<Model>> Load(const ModelSpec& spec, const CallContext& ctx) override;
  // The graph file's size (its weights); the arena comes on top once loaded.
  LoadEstimate Estimate(const ModelSpec& spec) const override;

 private:
  OnnxProvider(std::string id, OnnxProviderOptions options) : id_(std::move(id)), options_(options) {}

  const std::string id_;
  const OnnxProviderOptions options_;
};

}  // namespace modelrt::onnx
