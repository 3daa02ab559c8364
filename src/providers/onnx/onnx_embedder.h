// EmbeddingModel on ONNX Runtime: a Hugging Face model directory (onnx_loader.h) whose texts
// are tokenized by its tokenizer.json and run through a batching OnnxEncoder.
//
//   MODELRT_ASSIGN_OR_RETURN(auto embedder, OnnxEmbedder::Create(spec, options, ctx));
//   auto result = embedder->Embed({.inputs = {{.text = "hello"}}}, CallContext{});
//
// Texts are tokenized on the caller's thread, the encoder's thread only runs the graph.
// Thread-safety: Embed, EmbedAsync, Info, Warmup and Health from any thread at once.
#pragma once

#include <memory>

#include "modelrt/model.h"
#include "providers/batched_calls.h"
#include "providers/onnx/onnx_loader.h"

namespace modelrt::onnx {

class OnnxEmbedder : public EmbeddingModel {
 public:
  static Result<std::shared_ptr<OnnxEmbedder>> Create(const ModelSpec& spec,
                                                      const OnnxModelOptions& options,
                                                      const CallContext& ctx);

  Result<EmbedResult> Embed(const EmbedRequest& request, const CallContext& ctx) override;
  void EmbedAsync(const EmbedRequest& request, const CallContext& ctx, EmbedDone done) override;
  ModelInfo Info() const override;
  Status Warmup() override;
  Status Health() const override;
  const OnnxEncoder& encoder() const { return *parts_.encoder; }

 private:
  OnnxEmbedder(OnnxParts parts, OnnxModelOptions options)
      : parts_(std::move(parts)), options_(std::move(options)) {}
  Result<EmbedSequences> ToSequences(const EmbedRequest& request) const;

  OnnxParts parts_;
  const OnnxModelOptions options_;
};

}  // namespace modelrt::onnx
