// RerankerModel on llama.cpp: a cross-encoder GGUF with rank pooling (a classifier head over
// the pooled query+document sequence), run by the same dynamic-batching BatchWorker as the
// embedder. Each document is one sequence: the model's "rerank" chat template when it has one
// (as llama-server), else
//   [BOS] query [EOS] [SEP] document [EOS] [SEP]   (each special only when the vocab adds it),
// which is llama-server's layout plus the closing SEP that llama-embedding and BERT's own pair
// format put after the document (llama-server omits it for SEP-closed vocabs such as BERT's:
// "[CLS] q [SEP] d" instead of "[CLS] q [SEP] d [SEP]").
// The score is the first classifier output (llama_get_embeddings_seq(ctx, seq)[0]).
//
//   MODELRT_ASSIGN_OR_RETURN(auto reranker, CreateLlamaReranker(spec, options, ctx));
//   auto result = reranker->Rerank({.query = "q", .documents = {"a", "b"}}, CallContext{});
//
// Thread-safety: Rerank, Info, Warmup and Health may be called from any thread at once.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "modelrt/model.h"
#include "providers/batched_calls.h"
#include "providers/llama/batch_worker.h"
#include "providers/llama/llama_common.h"

namespace modelrt::llama {

class LlamaReranker : public RerankerModel {
 public:
  // Loads spec.model. InvalidArgument when the model has no rank pooling.
  static Result<std::shared_ptr<LlamaReranker>> Create(const ModelSpec& spec,
                                                       const LlamaModelOptions& options,
                                                       const CallContext& ctx);

  Result<RerankResult> Rerank(const RerankRequest& request, const CallContext& ctx) override;
  void RerankAsync(const RerankRequest& request, const CallContext& ctx, RerankDone done) override;
  ModelInfo Info() const override;
  Status Warmup() override;
  Status Health() const override;

  // The token sequence scored for one (query, document) pair, before any truncation.
  std::vector<llama_token> FormatPair(const std::string& query, const std::string& document) const;

 private:
  // A request's (query, document) sequences, before the worker runs them.
  Result<RerankSequences> ToSequences(const RerankRequest& request) const;

  LlamaReranker(LlamaModelPtr model, std::unique_ptr<BatchWorker> worker,
                LlamaModelOptions options);

  // Declared before worker_ so the worker (and its context) is destroyed first.
  LlamaModelPtr model_;
  const llama_vocab* vocab_;
  std::unique_ptr<BatchWorker> worker_;
  const LlamaModelOptions options_;
  std::optional<std::string> template_;  // the model's "rerank" template, if any
  std::string description_;
};

Result<std::shared_ptr<RerankerModel>> CreateLlamaReranker(const ModelSpec& spec,
                                                           const LlamaModelOptions& options,
                                                           const CallContext& ctx);

}  // namespace modelrt::llama
