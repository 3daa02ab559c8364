// The llama.cpp engine behind the embedder and reranker: one llama_context in embedding mode,
// driven by a SequenceBatcher (providers/sequence_batcher.h: the queue, the gather window and the
// worker thread). Each batch the batcher takes is packed into a single llama_batch (one sequence
// id per input, up to `parallel` sequences and `batch` tokens), decoded, and every sequence's
// pooled output (llama_get_embeddings_seq) handed back.
//
//   MODELRT_ASSIGN_OR_RETURN(auto worker, BatchWorker::Create(model, options));
//   MODELRT_ASSIGN_OR_RETURN(auto outputs, worker->Run({tokens_a, tokens_b}, ctx));
//   // outputs[i] has worker->output_size() floats
//
// Thread-safety: Run, alive and the accessors may be called from any thread. The llama_context
// is touched only by the batcher's worker thread (llama contexts are not thread-safe).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "modelrt/model.h"
#include "modelrt/status.h"
#include "providers/llama/compute_pools.h"
#include "providers/llama/llama_common.h"
#include "providers/sequence_batcher.h"

namespace modelrt::llama {

struct BatchWorkerOptions {
  std::string name;        // for logs (the alias)
  int ctx = 512;           // max tokens of one sequence
  int parallel = 4;        // sequences per decode (the context's n_seq_max)
  int batch = 2048;        // tokens per decode (n_batch == n_ubatch); raised to ctx if smaller
  int threads = 1;         // llama.cpp compute threads
  int max_queue = 256;     // queued requests before ResourceExhausted
  int batch_wait_us = 500; // how long a non-full batch waits for more requests
  // UNSPECIFIED = the model's own; RANK for rerankers.
  enum llama_pooling_type pooling = LLAMA_POOLING_TYPE_UNSPECIFIED;
};

// Worker options for `spec`: ctx capped at the model's training context (BERT's position table
// has no rows past it), batch defaulting to ctx * parallel (at most 8192, at least ctx).
BatchWorkerOptions MakeBatchWorkerOptions(const ModelSpec& spec, const LlamaModelOptions& options,
                                          const llama_model* model);

class BatchWorker {
 public:
  // Creates the context for `model` (which must outlive the worker) and starts the thread.
  // InvalidArgument when llama.cpp refuses the context parameters.
  static Result<std::unique_ptr<BatchWorker>> Create(const llama_model* model,
                                                     BatchWorkerOptions options);
  // Stops the worker after the decode in progress; queued requests fail with Unavailable.
  ~BatchWorker();
  BatchWorker(const BatchWorker&) = delete;
  BatchWorker& operator=(const BatchWorker&) = delete;

  // Runs every sequence (each non-empty, at most ctx() tokens, ids checked by the caller) and
  // returns one output per sequence, in order. Blocks until done. Errors: ResourceExhausted
  // (queue full), Cancelled / DeadlineExceeded (ctx, checked while queued and before each
  // decode), Unavailable (worker stopped), Internal (llama.cpp decode failure).
  using Outputs = SequenceBatcher::Outputs;
  Result<Outputs> Run(std::vector<std::vector<llama_token>> sequences, const CallContext& ctx) {
    return batcher_->Run(ToBatcher(std::move(sequences)), ctx);
  }
  // Run without waiting: `done` runs exactly once, on the worker's thread with the outputs or
  // the error (never under the worker's lock), or here when the request is refused before it
  // is queued.
  using Done = SequenceBatcher::Done;
  void RunAsync(std::vector<std::vector<llama_token>> sequences, const CallContext& ctx, Done done) {
    batcher_->RunAsync(ToBatcher(std::move(sequences)), ctx, std::move(done));
  }

  // Where requests go (providers/batched_calls.h runs them).
  SequenceBatcher& batcher() { return *batcher_; }
  bool alive() const { return batcher_->alive(); }
  // Counters since creation, for metrics and tests.
  struct Stats {
    int64_t decodes = 0;    // llama_decode / llama_encode calls
    int64_t sequences = 0;  // sequences decoded
    int64_t tokens = 0;     // tokens decoded
  };
  Stats stats() const {
    const SequenceBatcher::Stats s = batcher_->stats();
    return {s.runs, s.sequences, s.tokens};
  }
  // Requests waiting to be taken into a batch.
  int queue_depth() const { return batcher_->queue_depth(); }
  // The pooling the context ended up with (the model's own when UNSPECIFIED was asked).
  enum llama_pooling_type pooling() const { return pooling_; }
  // Floats per output: n_cls_out for RANK pooling, else the embedding size.
  int output_size() const { return output_size_; }
  int ctx() const { return options_.ctx; }
  int parallel() const { return options_.parallel; }
  // Context buffers (KV cache, outputs), estimated from the context parameters.
  int64_t context_bytes() const { return context_bytes_; }

 private:
  BatchWorker(LlamaContextPtr context, BatchWorkerOptions options);
  static std::vector<SequenceBatcher::Sequence> ToBatcher(std::vector<std::vector<llama_token>> in);
  // The batcher's engine: one decode of `batch`, on the worker thread.
  Result<Outputs> Decode(const SequenceBatcher::Batch& batch);

  const BatchWorkerOptions options_;
  LlamaContextPtr context_;  // worker thread only, after construction
  std::shared_ptr<ComputePools> compute_ = ComputePools::Shared();  // cores, per decode
  CpuShare cpu_share_;  // this worker's core-time: its turns on the cores (core/cpu_budget.h)
  enum llama_pooling_type pooling_ = LLAMA_POOLING_TYPE_UNSPECIFIED;
  int output_size_ = 0;
  int64_t context_bytes_ = 0;
  llama_batch batch_;  // worker thread only
  // Last: its thread stops before the context and the batch go.
  std::unique_ptr<SequenceBatcher> batcher_;
};

}  // namespace modelrt::llama
