// The continuous-batching engine behind LlamaGenerator: one llama_context with `parallel`
// sequences, driven by one worker thread, in the manner of llama-server's slots. Each worker
// iteration (1) ends sequences whose caller cancelled or whose deadline passed, (2) decodes the
// next token of every generating sequence in one llama_decode and samples each, and (3) admits
// queued requests into free slots: decodes their prompts (in n_batch chunks) and samples their
// first token. New sequences therefore join between decode steps, and a finished one frees its
// slot at once.
//
// Reproducibility: a sequence's logits are bit-identical whether it runs alone or beside
// others (on CPU), which is what makes "same seed, same text" hold under load. Batched logits
// differ from single-sequence ones for three reasons, each handled here:
//   - ggml's CPU matmul takes a different kernel for one row than for several (llamafile
//     sgemm needs >= 2 rows, >= 4 on ARM): decode steps are padded with throw-away tokens in
//     free sequences to min(4, parallel) rows, so a lone sequence uses the batched kernels.
//     Only requests that can be reproduced (seeded or greedy sampling) need this: while none
//     is active, a lone sequence decodes in one row, which costs up to half as much.
//   - With a unified KV cache, a sequence's cells interleave with others' and get reused out
//     of position order, which changes attention's summation order: each sequence gets its own
//     KV stream (kv_unified = false), where its cells are always in position order.
//   - Per-stream batches split into one micro-batch per run of consecutive sequence ids: the
//     active sequences are kept at ids 0..n-1 by moving the last one into a freed id
//     (llama_memory_seq_cp across streams), and prompts are decoded in their own llama_decode
//     calls, so a prompt's chunks never depend on what else is running.
// The cost: a prompt delays the other sequences' next token by its own decode time (as a
// llama-server prompt would), and freeing a sequence may copy another's KV.
//
// Prompt cache: a prompt that starts with tokens whose KV exists already, in a generating
// sequence or in the PromptCache of ended ones, gets that KV copied into its own sequence and
// decodes only the rest. KV moves between sequences as llama_state_seq images (the used cells,
// copied at once), never as llama_memory_seq_cp across streams, which copies a whole stream
// and only at the next decode: an image written into a stream before that would be overwritten
// or copied on. The last kMinDecodeRows prompt tokens are always decoded again, so the prompt's
// last chunk takes the same matmul kernels with or without the cache (greedy: the same text).
//
// Lifecycle:  Create --> running --(destructor)--> stopping --> joined
//             queued and active requests fail with Unavailable when it stops.
//
// Thread-safety: Submit is thread-safe; everything else runs on the worker thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "core/thread_annotations.h"
#include "providers/llama/compute_pools.h"
#include "modelrt/status.h"
#include "providers/llama/generation_request.h"
#include "providers/llama/generation_slot.h"
#include "providers/llama/llama_common.h"
#include "providers/llama/prompt_cache.h"

namespace modelrt::llama {

class GenerationEngine {
 public:
  struct Options {
    int parallel = 1;   // sequences decoded together (the context has one KV stream each)
    int ctx = 512;      // tokens per sequence (prompt + completion)
    int batch = 512;    // most prompt tokens per llama_decode (n_batch)
    int max_queue = 256;  // requests waiting for a slot before Submit says ResourceExhausted
    // Host memory for the KV of ended sequences (PromptCache); -1 = kv_bytes(). 0 turns prefix
    // reuse off, also between generating sequences.
    int64_t prompt_cache_bytes = 0;
    // Diagnostics and tests: sees the logits each token of `request` is sampled from, on the
    // worker thread (keep it cheap). Empty = off.
    std::function<void(const GenerationRequest& request, const float* logits, int n_vocab)>
        observe_logits;
  };

  // Creates the context for `model` (which must outlive the engine) and starts the worker.
  static Result<std::unique_ptr<GenerationEngine>> Create(const llama_model* model,
                                                          const Options& options, int threads);
  ~GenerationEngine();
  GenerationEngine(const GenerationEngine&) = delete;
  GenerationEngine& operator=(const GenerationEngine&) = delete;

  // Queues a request; the worker finishes it through the request's channel. ResourceExhausted
  // when the queue is full, Unavailable once stopping.
  Status Submit(std::shared_ptr<GenerationRequest> request);

  // Tokens a sequence may hold (the requested ctx, or less if llama.cpp gave less).
  int ctx_limit() const { return ctx_limit_; }
  // Bytes of KV cache allocated for all sequences.
  int64_t kv_bytes() const { return kv_bytes_; }
  // Bytes the prompt cache may hold (allocated as it fills).
  int64_t prompt_cache_capacity() const { return cache_.capacity(); }
  // Non-OK after a llama_decode failure that is not the request's fault.
  Status health() const;

  // Requests queued and in slots, and the KV cells the generating sequences hold (as of the
  // last worker iteration), out of parallel x ctx_limit. Thread-safe.
  ModelOccupancy occupancy() const;

  // Counters since creation (for tests and diagnostics).
  struct Stats {
    int64_t decode_steps = 0;  // llama_decode calls for generated tokens (prompts not counted)
    int64_t padding_rows = 0;  // throw-away rows added to those steps (see "Reproducibility")
    int64_t prompt_tokens = 0;  // of admitted prompts
    int64_t cached_tokens = 0;  // of those, reused instead of decoded ("Prompt cache")
    int64_t cache_entries = 0;  // PromptCache entries now
    int64_t cache_bytes = 0;    // and their bytes
  };
  Stats stats() const {
    return {decode_steps_.load(),  padding_rows_.load(), prompt_tokens_.load(),
            cached_tokens_.load(), cache_entries_.load(), cache_bytes_.load()};
  }

 private:
  GenerationEngine(const llama_model* model, LlamaContextPtr ctx, const Options& options);

  void Run();
  // Takes the queued requests that were cancelled, expired or passed their queue deadline while
  // waiting, with how each ends; the caller finishes them after unlocking.
  using Dropped = std::vector<std::pair<std::shared_ptr<GenerationRequest>, GenerationOutcome>>;
  Dropped TakeDeadQueued() REQUIRES(mu_);
  // Ends active sequences whose caller gave up or whose deadline passed.
  void ReapActive();
  // One llama_decode for the next token of every active sequence, then sampling.
  void DecodeStep();
  // Decodes the prompt of `request` into the next free sequence and samples its first token.
  void Admit(std::shared_ptr<GenerationRequest> request);
  // Restores into free sequence `id` the longest run of `prompt`'s leading tokens whose KV a
  // generating sequence or the prompt cache holds; returns how many (0: none, `id` is empty).
  size_t ReusePrefix(int id, const std::vector<llama_token>& prompt);
  // Keeps the KV of sequence `id` in the prompt cache, unless it would add nothing.
  void Remember(int id);
  // Copies sequence `from`'s KV into `to` (emptied first) through a state image.
  bool CopySequence(int from, int to);
  // Frees sequence `id`, moving the last active sequence into it to keep ids contiguous;
  // `remember`: its KV is valid and goes to the prompt cache.
  void Release(int id, bool remember);
  // Samples the next token of slots_[id] from output row `row` of the last decode.
  llama_token Sample(int id, int row);
  // Appends one token to batch_.
  void AddToken(llama_token token, llama_pos pos, llama_seq_id seq, bool logits);
  void FailAll(const Status& status);

  const llama_model* model_;
  const llama_vocab* vocab_;
  LlamaContextPtr ctx_;
  llama_memory_t memory_;
  std::shared_ptr<ComputePools> compute_;  // cores and threads, taken per decode
  int threads_ = 1;
  CpuShare cpu_share_;  // this engine's core-time: its turns on the cores (core/cpu_budget.h)
  const Options options_;
  int ctx_limit_ = 0;
  int64_t kv_bytes_ = 0;
  std::vector<llama_token> eog_tokens_;  // banned when ignore_eos
  std::vector<uint8_t> eog_mask_;        // the same, by token id (for GreedyToken)
  int32_t n_vocab_ = 0;
  llama_token pad_token_ = 0;

  // Worker-only state.
  llama_batch batch_{};
  std::vector<GenerationSlot> slots_;  // [0, n_active_) are generating, by sequence id
  std::vector<llama_token_data> candidates_;  // SampleWithGrammar's scratch
  int n_active_ = 0;
  PromptCache cache_;
  std::vector<uint8_t> image_;  // CopySequence's state image
  std::atomic<int64_t> decode_steps_{0}, padding_rows_{0};
  std::atomic<int64_t> prompt_tokens_{0}, cached_tokens_{0}, cache_entries_{0}, cache_bytes_{0};
  std::atomic<int64_t> kv_used_tokens_{0};

  mutable Mutex mu_;
  CondVar cv_;
  std::deque<std::shared_ptr<GenerationRequest>> queue_ GUARDED_BY(mu_);
  int reserved_slots_ GUARDED_BY(mu_) = 0;  // active + being admitted
  bool stopping_ GUARDED_BY(mu_) = false;
  Status health_ GUARDED_BY(mu_);
  std::thread worker_;
};

}  // namespace modelrt::llama
