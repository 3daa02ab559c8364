// The dynamic-batching engine shared by the llama.cpp embedder and reranker: one llama_context
// in embedding mode, owned by one worker thread, fed by a bounded queue of requests. The worker
// packs the token sequences of one or many queued requests into a single llama_batch (one
// sequence id per input, up to `parallel` sequences and `batch` tokens), waiting up to
// `batch_wait_us` for more work while a batch is not full and more requests are expected (as
// many as were in flight together during the previous batch), runs it, and hands every request its
// pooled outputs (llama_get_embeddings_seq) when all of its sequences are done.
//
//   MODELRT_ASSIGN_OR_RETURN(auto worker, BatchWorker::Create(model, options));
//   MODELRT_ASSIGN_OR_RETURN(auto outputs, worker->Run({tokens_a, tokens_b}, ctx));
//   // outputs[i] has worker->output_size() floats
//
// Request lifecycle (queue entries):
//
//   Run() ──► queued ──► partly taken ──► fully taken (left the queue) ──► done
//               │             │                                  ▲
//               └─────────────┴── ctx cancelled / expired ─────► failed (never decoded further)
//
// Thread-safety: Run, alive and the accessors may be called from any thread. The llama_context
// is touched only by the worker thread (llama contexts are not thread-safe).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/thread_annotations.h"
#include "modelrt/model.h"
#include "modelrt/status.h"
#include "providers/llama/compute_pools.h"
#include "providers/llama/llama_common.h"

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
  using Outputs = std::vector<std::vector<float>>;
  Result<Outputs> Run(std::vector<std::vector<llama_token>> sequences, const CallContext& ctx);
  // Run without waiting: `done` runs exactly once, on the worker's thread with the outputs or
  // the error (never under the worker's lock), or here when the request is refused before it
  // is queued. A cancelled or expired request fails when the worker reaches it.
  using Done = std::function<void(Result<Outputs>)>;
  void RunAsync(std::vector<std::vector<llama_token>> sequences, const CallContext& ctx, Done done);

  bool alive() const { return alive_.load(); }
  // Counters since creation, for metrics and tests.
  struct Stats {
    int64_t decodes = 0;    // llama_decode / llama_encode calls
    int64_t sequences = 0;  // sequences decoded
    int64_t tokens = 0;     // tokens decoded
  };
  Stats stats() const { return {decodes_.load(), sequences_.load(), tokens_.load()}; }
  // Requests waiting to be taken into a batch.
  int queue_depth() const EXCLUDES(mu_);
  // The pooling the context ended up with (the model's own when UNSPECIFIED was asked).
  enum llama_pooling_type pooling() const { return pooling_; }
  // Floats per output: n_cls_out for RANK pooling, else the embedding size.
  int output_size() const { return output_size_; }
  int ctx() const { return options_.ctx; }
  int parallel() const { return options_.parallel; }
  // Context buffers (KV cache, outputs), estimated from the context parameters.
  int64_t context_bytes() const { return context_bytes_; }

 private:
  struct Request;
  struct Slot {
    std::shared_ptr<Request> request;
    size_t input;
  };

  BatchWorker(LlamaContextPtr context, BatchWorkerOptions options);
  void Loop();
  bool BatchFull() const REQUIRES(mu_);
  // A request refused while the batch was taken, finished once the worker's lock is released.
  struct Refusal {
    std::shared_ptr<Request> request;
    Status status;
  };
  // Queues `request`; a refusal (stopped, queue full) is returned instead.
  Status Enqueue(const std::shared_ptr<Request>& request) EXCLUDES(mu_);
  std::vector<Slot> TakeBatch(std::vector<Refusal>* refused) REQUIRES(mu_);
  void Decode(const std::vector<Slot>& slots, llama_batch& batch);

  const BatchWorkerOptions options_;
  LlamaContextPtr context_;  // worker thread only, after construction
  std::shared_ptr<ComputePools> compute_ = ComputePools::Shared();  // cores, per decode
  CpuShare cpu_share_;  // this worker's core-time: its turns on the cores (core/cpu_budget.h)
  enum llama_pooling_type pooling_ = LLAMA_POOLING_TYPE_UNSPECIFIED;
  int output_size_ = 0;
  int64_t context_bytes_ = 0;

  mutable Mutex mu_;
  CondVar cv_;
  std::deque<std::shared_ptr<Request>> queue_ GUARDED_BY(mu_);
  bool stop_ GUARDED_BY(mu_) = false;
  bool worker_waiting_ GUARDED_BY(mu_) = false;  // in cv_.wait: a new request must notify
  // Requests queued or being decoded (decremented when finished, on the worker thread).
  std::atomic<int> active_{0};
  // Most requests in flight at once since the worker last took a batch: how many a gather waits
  // for. Starts at `parallel`, so the first batch after start waits the full window.
  int peak_active_ GUARDED_BY(mu_);
  std::atomic<bool> alive_{false};
  std::atomic<int64_t> decodes_{0}, sequences_{0}, tokens_{0};
  std::thread thread_;
};

}  // namespace modelrt::llama
