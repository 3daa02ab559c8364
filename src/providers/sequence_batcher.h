// SequenceBatcher: the dynamic batching shared by the local embedding and reranking engines
// (llama.cpp's BatchWorker, ONNX Runtime's OnnxEncoder). Requests of one or many token
// sequences go into a bounded queue; one worker thread takes the sequences of one or many queued
// requests (up to `max_sequences` and `max_tokens`), waiting up to `batch_wait_us` for more
// while a batch is not full and more requests are expected (as many as were in flight together
// during the previous batch), hands them to the engine in one call, and gives every request its
// outputs when all of its sequences are done. The engine (a llama_decode, an ONNX Run) is the
// only part that differs between backends; it runs on the worker thread alone, so it may own
// state that is not thread-safe.
//
//   SequenceBatcher batcher(options, [&](const SequenceBatcher::Batch& batch) {
//     return RunModel(batch);  // Result<Outputs>: one output per sequence, in order
//   });
//   MODELRT_ASSIGN_OR_RETURN(auto outputs, batcher.Run({tokens_a, tokens_b}, ctx));
//
// Request lifecycle (queue entries):
//
//   Run() ──► queued ──► partly taken ──► fully taken (left the queue) ──► done
//               │             │                                  ▲
//               └─────────────┴── ctx cancelled / expired ─────► failed (never run further)
//
// Thread-safety: Run, RunAsync and the accessors may be called from any thread.
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

namespace modelrt {

struct SequenceBatcherOptions {
  std::string name;          // for logs (the alias)
  int max_sequences = 4;     // sequences per engine call
  int64_t max_tokens = 2048; // tokens per engine call (a longer single sequence still runs alone)
  int max_queue = 256;       // queued requests before ResourceExhausted
  int batch_wait_us = 500;   // how long a non-full batch waits for more requests
};

class SequenceBatcher {
 public:
  // One input: token ids, and the segment of each (0 first text, 1 second) for the engines
  // whose models take them (BERT's token_type_ids); empty = all 0.
  struct Sequence {
    std::vector<int32_t> ids;
    std::vector<int32_t> type_ids;
  };
  using Outputs = std::vector<std::vector<float>>;
  // The sequences of one engine call, each from some request (not owned; valid during the call).
  using Batch = std::vector<const Sequence*>;
  // Runs one batch on the worker thread: one output per sequence, in order, or an error that
  // fails every request with a sequence in the batch.
  using Engine = std::function<Result<Outputs>(const Batch& batch)>;

  // Starts the worker thread.
  SequenceBatcher(SequenceBatcherOptions options, Engine engine);
  // Stops the worker after the engine call in progress; queued requests fail with Unavailable.
  ~SequenceBatcher();
  SequenceBatcher(const SequenceBatcher&) = delete;
  SequenceBatcher& operator=(const SequenceBatcher&) = delete;

  // Runs every sequence (checked by the caller: non-empty, valid ids, within the engine's
  // length) and returns one output per sequence, in order. Blocks until done. Errors:
  // ResourceExhausted (queue full), Cancelled / DeadlineExceeded (ctx, checked while queued and
  // before each engine call), Unavailable (worker stopped), the engine's own errors.
  Result<Outputs> Run(std::vector<Sequence> sequences, const CallContext& ctx);
  // Run without waiting: `done` runs exactly once, on the worker's thread with the outputs or
  // the error (never under the batcher's lock), or here when the request is refused before it
  // is queued. A cancelled or expired request fails when the worker reaches it.
  using Done = std::function<void(Result<Outputs>)>;
  void RunAsync(std::vector<Sequence> sequences, const CallContext& ctx, Done done);

  bool alive() const { return alive_.load(); }
  // Counters since creation, for metrics and tests.
  struct Stats {
    int64_t runs = 0;       // engine calls
    int64_t sequences = 0;  // sequences run
    int64_t tokens = 0;     // tokens run (without padding)
  };
  Stats stats() const { return {runs_.load(), sequences_.load(), tokens_.load()}; }
  // Requests waiting to be taken into a batch.
  int queue_depth() const EXCLUDES(mu_);
  const SequenceBatcherOptions& options() const { return options_; }

 private:
  struct Request;
  struct Slot {
    std::shared_ptr<Request> request;
    size_t input;
  };
  // A request refused while the batch was taken, finished once the lock is released.
  struct Refusal {
    std::shared_ptr<Request> request;
    Status status;
  };

  void Loop();
  bool BatchFull() const REQUIRES(mu_);
  // Queues `request`; a refusal (stopped, queue full) is returned instead.
  Status Enqueue(const std::shared_ptr<Request>& request) EXCLUDES(mu_);
  std::vector<Slot> TakeBatch(std::vector<Refusal>* refused) REQUIRES(mu_);
  void RunBatch(const std::vector<Slot>& slots);

  const SequenceBatcherOptions options_;
  const Engine engine_;

  mutable Mutex mu_;
  CondVar cv_;
  std::deque<std::shared_ptr<Request>> queue_ GUARDED_BY(mu_);
  bool stop_ GUARDED_BY(mu_) = false;
  bool worker_waiting_ GUARDED_BY(mu_) = false;  // in cv_.wait: a new request must notify
  // Requests queued or being run (decremented when finished, on the worker thread).
  std::atomic<int> active_{0};
  // Most requests in flight at once since the worker last took a batch: how many a gather waits
  // for. Starts at max_sequences, so the first batch after start waits the full window.
  int peak_active_ GUARDED_BY(mu_);
  std::atomic<bool> alive_{false};
  std::atomic<int64_t> runs_{0}, sequences_{0}, tokens_{0};
  std::thread thread_;
};

}  // namespace modelrt
