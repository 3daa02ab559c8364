// RerankerModel on ONNX Runtime: a cross-encoder (BERT or XLM-R sequence classification, as the
// ms-marco MiniLM and bge-reranker models) whose score for a document is the first logit of the
// (query, document) pair, encoded by the model's tokenizer.json as it encodes pairs; raw, or
// through a sigmoid with options.sigmoid.
//
//   MODELRT_ASSIGN_OR_RETURN(auto reranker, OnnxReranker::Create(spec, options, ctx));
//   auto result = reranker->Rerank({.query = "q", .documents = {"a", "b"}}, CallContext{});
//
// Thread-safety: Rerank, RerankAsync, Info, Warmup and Health from any thread at once.
#pragma once

#include <memory>

#include "modelrt/model.h"
#include "providers/batched_calls.h"
#include "providers/onnx/onnx_loader.h"

namespace modelrt::onnx {

class OnnxReranker : public RerankerModel {
 public:
  static Result<std::shared_ptr<OnnxReranker>> Create(const ModelSpec& spec,
                                                      const OnnxModelOptions& options,
                                                      const CallContext& ctx);

  Result<RerankResult> Rerank(const RerankRequest& request, const CallContext& ctx) override;
  void RerankAsync(const RerankRequest& request, const CallContext& ctx, RerankDone done) override;
  ModelInfo Info() const override;
  Status Warmup() override;
  Status Health() const override;

 private:
  OnnxReranker(OnnxParts parts, OnnxModelOptions options)
      : parts_(std::move(parts)), options_(std::move(options)) {}
  Result<RerankSequences> ToSequences(const RerankRequest& request) const;

  OnnxParts parts_;
  const OnnxModelOptions options_;
};

}  // namespace modelrt::onnx
