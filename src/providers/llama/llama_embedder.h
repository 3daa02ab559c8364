// EmbeddingModel on llama.cpp: a GGUF model with pooling (BERT CLS/mean, or any model with
// options.pooling mean/cls/last), run by a dynamic-batching BatchWorker so concurrent requests
// share decodes.
//
//   MODELRT_ASSIGN_OR_RETURN(auto embedder, CreateLlamaEmbedder(spec, options, ctx));
//   auto result = embedder->Embed({.inputs = {{.text = "hello"}}}, CallContext{});
//
// Text inputs are tokenized with the model's special tokens (as llama-embedding does); token
// inputs are used as they are.
//
// Thread-safety: Embed, Info, Warmup and Health may be called from any thread at once.
#pragma once

#include <memory>
#include <string>

#include "modelrt/model.h"
#include "providers/batched_calls.h"
#include "providers/llama/batch_worker.h"
#include "providers/llama/llama_common.h"

namespace modelrt::llama {

class LlamaEmbedder : public EmbeddingModel {
 public:
  // Loads spec.model and creates the worker. NotFound (no file), InvalidArgument (not a model,
  // no pooling, rank pooling), DeadlineExceeded / Cancelled (ctx during the load).
  static Result<std::shared_ptr<LlamaEmbedder>> Create(const ModelSpec& spec,
                                                       const LlamaModelOptions& options,
                                                       const CallContext& ctx);

  Result<EmbedResult> Embed(const EmbedRequest& request, const CallContext& ctx) override;
  void EmbedAsync(const EmbedRequest& request, const CallContext& ctx, EmbedDone done) override;
  ModelInfo Info() const override;
  Status Warmup() override;
  Status Health() const override;

 private:
  LlamaEmbedder(LlamaModelPtr model, std::unique_ptr<BatchWorker> worker,
                LlamaModelOptions options);
  Result<std::vector<llama_token>> Prepare(const EmbedInput& input, size_t index,
                                           bool truncate) const;
  Result<EmbedSequences> ToSequences(const EmbedRequest& request) const;

  // Declared before worker_ so the worker (and its context) is destroyed first.
  LlamaModelPtr model_;
  const llama_vocab* vocab_;
  std::unique_ptr<BatchWorker> worker_;
  const LlamaModelOptions options_;
  std::string description_;
};

Result<std::shared_ptr<EmbeddingModel>> CreateLlamaEmbedder(const ModelSpec& spec,
                                                            const LlamaModelOptions& options,
                                                            const CallContext& ctx);

// The llama.cpp pooling for options.pooling ("" = the model's own). Exposed for tests.
enum llama_pooling_type PoolingFromOption(const std::string& pooling);
std::string_view PoolingName(enum llama_pooling_type pooling);

}  // namespace modelrt::llama
