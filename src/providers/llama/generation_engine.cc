#include "providers/llama/generation_engine.h"

#include <exception>

#include <algorithm>
#include <string>

#include "core/logging.h"
#include "providers/llama/sampler_chain.h"
#include "providers/llama/token_logprobs.h"

namespace modelrt::llama {
namespace {

// Decode steps carry at least this many rows (or `parallel`, if smaller), so that ggml picks
// the same matmul kernels for one generating sequence as for several (see the header).
constexpr int kMinDecodeRows = 4;

// llama.cpp splits n_batch into physical micro-batches of at most this many tokens.
constexpr int kMaxMicroBatch = 512;

// Fewer shared tokens than this are decoded rather than copied in: the copy would cost about
// what it saves, and a short entry would push longer ones out of the cache.
constexpr size_t kMinReuseTokens = 16;

// F16 K and V for every cell of every layer (llama.cpp's default cache type).
int64_t KvBytes(const llama_model* model, const llama_context* ctx) {
  int64_t n_head = std::max(1, llama_model_n_head(model));
  int64_t kv_dim = llama_model_n_embd(model) / n_head * llama_model_n_head_kv(model);
  return static_cast<int64_t>(llama_n_ctx(ctx)) * llama_model_n_layer(model) * 2 * kv_dim * 2;
}

// Where the prompt chunk starting at `start` of `n` tokens ends: at most `batch` tokens, and
// never leaving a last chunk of fewer than kMinDecodeRows rows, which takes other matmul kernels
// (see "Reproducibility"): a prompt's last chunk has that many rows however it was split.
size_t ChunkEnd(size_t start, size_t n, size_t batch) {
  size_t end = std::min(n, start + batch);
  const size_t rows = static_cast<size_t>(kMinDecodeRows);
  if (end < n && n - end < rows && end - start > rows) end = n - rows;
  return end;
}

}  // namespace

Result<std::unique_ptr<GenerationEngine>> GenerationEngine::Create(const llama_model* model,
                                                                   const Options& options,
                                                                   int threads) {
  if (options.parallel < 1) return InvalidArgumentError("options.parallel: must be >= 1");
  if (options.ctx < 2) return InvalidArgumentError("options.ctx: must be >= 2 for generation");
  Options o = options;
  o.batch = std::max(o.batch, o.parallel);  // a decode step holds one token per sequence
  llama_context_params p = llama_context_default_params();
  p.n_ctx = static_cast<uint32_t>(o.ctx) * static_cast<uint32_t>(o.parallel);
  p.n_seq_max = static_cast<uint32_t>(o.parallel);
  p.n_batch = static_cast<uint32_t>(o.batch);
  p.n_ubatch = static_cast<uint32_t>(std::min(o.batch, kMaxMicroBatch));
  std::shared_ptr<ComputePools> compute = ComputePools::Shared();
  threads = compute->ThreadsFor(threads);
  p.n_threads = threads;
  p.n_threads_batch = threads;
  p.kv_unified = false;  // one KV stream per sequence: see "Reproducibility" in the header
  p.no_perf = true;
  llama_context* raw = llama_init_from_model(const_cast<llama_model*>(model), p);
  if (!raw)
    return ResourceExhaustedError("llama.cpp could not create a context of " +
                                  std::to_string(p.n_ctx) + " tokens (" + std::to_string(o.parallel) +
                                  " x " + std::to_string(o.ctx) + "); out of memory?");
  std::unique_ptr<GenerationEngine> engine(new GenerationEngine(model, LlamaContextPtr(raw), o));
  engine->compute_ = std::move(compute);
  engine->threads_ = threads;
  engine->worker_ = std::thread([e = engine.get()] { e->Run(); });
  return engine;
}

GenerationEngine::GenerationEngine(const llama_model* model, LlamaContextPtr ctx,
                                   const Options& options)
    : model_(model),
      vocab_(llama_model_get_vocab(model)),
      ctx_(std::move(ctx)),
      memory_(llama_get_memory(ctx_.get())),
      options_(options),
      kv_bytes_(KvBytes(model, ctx_.get())),
      slots_(options.parallel),
      cache_(options.prompt_cache_bytes < 0 ? kv_bytes_ : options.prompt_cache_bytes) {
  ctx_limit_ = std::min<int>(options_.ctx, static_cast<int>(llama_n_ctx_seq(ctx_.get())));
  n_vocab_ = llama_vocab_n_tokens(vocab_);
  eog_mask_.assign(n_vocab_, 0);
  for (llama_token t = 0; t < n_vocab_; ++t) {
    if (llama_vocab_is_eog(vocab_, t)) {
      eog_tokens_.push_back(t);
      eog_mask_[t] = 1;
    }
  }
  llama_token bos = llama_vocab_bos(vocab_);
  pad_token_ = bos == LLAMA_TOKEN_NULL ? 0 : bos;
  batch_ = llama_batch_init(options_.batch, 0, 1);
}

GenerationEngine::~GenerationEngine() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  llama_batch_free(batch_);
}

Status GenerationEngine::Submit(std::shared_ptr<GenerationRequest> request) {
  {
    MutexLock lock(mu_);
    if (stopping_) return UnavailableError("generator is shutting down");
    // Requests that will get a free slot at the next iteration do not count as queued.
    int free_slots = options_.parallel - reserved_slots_;
    if (static_cast<int>(queue_.size()) >= options_.max_queue + std::max(0, free_slots))
      return ResourceExhaustedError("generation queue full (" + std::to_string(options_.max_queue) +
                                    " waiting, " + std::to_string(options_.parallel) +
                                    " generating); retry later");
    queue_.push_back(std::move(request));
  }
  cv_.notify_all();
  return OkStatus();
}

Status GenerationEngine::health() const {
  MutexLock lock(mu_);
  return health_;
}

void GenerationEngine::Run() {
  std::vector<std::shared_ptr<GenerationRequest>> admitted;
  while (true) {
    admitted.clear();
    Dropped dropped;
    bool stopping = false;
    {
      MutexLock lock(mu_);
      dropped = TakeDeadQueued();
      // Requests just dropped are answered before any wait: the queue may now be empty, and
      // nothing else would wake this thread to answer them (their callers would wait forever).
      cv_.wait(lock.native(), [&]() REQUIRES(mu_) {
        return stopping_ || n_active_ > 0 || !queue_.empty() || !dropped.empty();
      });
      stopping = stopping_;
      while (!stopping && reserved_slots_ < options_.parallel && !queue_.empty()) {
        admitted.push_back(std::move(queue_.front()));
        queue_.pop_front();
        ++reserved_slots_;
      }
    }
    // Finished outside the lock: an asynchronous caller's callback runs inside Finish.
    for (auto& [request, outcome] : dropped) request->Finish(std::move(outcome));
    if (stopping) break;
    ReapActive();
    if (n_active_ > 0) DecodeStep();
    for (auto& request : admitted) Admit(std::move(request));
    int64_t kv_used = 0;
    for (int i = 0; i < n_active_; ++i) kv_used += slots_[i].n_past();
    kv_used_tokens_.store(kv_used, std::memory_order_relaxed);
  }
  FailAll(UnavailableError("generator stopped"));
}

ModelOccupancy GenerationEngine::occupancy() const {
  ModelOccupancy out{.reported = true,
                     .kv_used_tokens = kv_used_tokens_.load(std::memory_order_relaxed),
                     .kv_capacity_tokens = int64_t{options_.parallel} * ctx_limit_};
  MutexLock lock(mu_);
  out.waiting = static_cast<int64_t>(queue_.size());
  out.running = reserved_slots_;
  return out;
}

GenerationEngine::Dropped GenerationEngine::TakeDeadQueued() {
  Dropped dropped;
  for (auto it = queue_.begin(); it != queue_.end();) {
    const GenerationRequest& r = **it;
    GenerationOutcome outcome{OkStatus(), FinishReason::kCancelled, 0};
    if (r.abandoned()) {
      // cancelled: OK, no text
    } else if (r.input().ctx.expired()) {
      outcome.status = DeadlineExceededError("deadline exceeded while queued for a generation slot");
    } else if (Status late = r.input().ctx.CheckStart(); !late.ok()) {
      outcome.status = std::move(late);
    } else {
      ++it;
      continue;
    }
    dropped.emplace_back(std::move(*it), std::move(outcome));
    it = queue_.erase(it);
  }
  return dropped;
}

void GenerationEngine::ReapActive() {
  // Descending, so that the sequence Release moves down has already been checked.
  for (int id = n_active_ - 1; id >= 0; --id) {
    const GenerationRequest& r = *slots_[id].request();
    if (r.abandoned()) {
      slots_[id].Abort(OkStatus(), FinishReason::kCancelled);
    } else if (r.input().ctx.expired()) {
      slots_[id].Abort(DeadlineExceededError("deadline exceeded during generation"));
    } else {
      continue;
    }
    Release(id, /*remember=*/true);
  }
}

void GenerationEngine::DecodeStep() {
  batch_.n_tokens = 0;
  for (int id = 0; id < n_active_; ++id)
    AddToken(slots_[id].last_token(), slots_[id].n_past(), id, true);
  // Padding rows live in free sequences at position 0 and are dropped right after the decode.
  // They are only needed while a sequence that must be reproducible is active: a lone sequence
  // with unseeded sampling decodes in one row (up to twice as fast on small models).
  bool pad = false;
  for (int id = 0; id < n_active_ && !pad; ++id) pad = slots_[id].reproducible();
  const int rows =
      pad ? std::max(n_active_, std::min(kMinDecodeRows, options_.parallel)) : n_active_;
  for (int id = n_active_; id < rows; ++id) AddToken(pad_token_, 0, id, true);
  const int rc = compute_->Acquire(threads_, &cpu_share_).Decode(ctx_.get(), batch_);
  for (int id = n_active_; id < rows; ++id) llama_memory_seq_rm(memory_, id, -1, -1);
  decode_steps_.fetch_add(1, std::memory_order_relaxed);
  padding_rows_.fetch_add(rows - n_active_, std::memory_order_relaxed);
  if (rc != 0) {
    Status error = InternalError("llama_decode failed during generation (code " +
                                 std::to_string(rc) + ")");
    Log("llama")->error("{}", error.message());
    if (rc < 0) {
      MutexLock lock(mu_);
      health_ = error;
    }
    for (int id = n_active_ - 1; id >= 0; --id) {
      slots_[id].Abort(error);
      Release(id, /*remember=*/false);
    }
    return;
  }
  std::vector<int> finished;
  for (int id = 0; id < n_active_; ++id) {
    GenerationSlot& slot = slots_[id];
    slot.Advance();
    if (slot.Accept(Sample(id, id), vocab_)) finished.push_back(id);
  }
  for (auto it = finished.rbegin(); it != finished.rend(); ++it) Release(*it, /*remember=*/true);
}

void GenerationEngine::Admit(std::shared_ptr<GenerationRequest> request) {
  const int id = n_active_;
  const GenerationInput& in = request->input();
  auto give_up = [&](GenerationOutcome outcome) {
    llama_memory_seq_rm(memory_, id, -1, -1);
    request->Finish(std::move(outcome));
    MutexLock lock(mu_);
    --reserved_slots_;
  };
  const size_t n = in.prompt.size();
  if (n == 0) return give_up({InvalidArgumentError("prompt is empty"), FinishReason::kStop, 0});
  const size_t reused = ReusePrefix(id, in.prompt);
  prompt_tokens_.fetch_add(static_cast<int64_t>(n), std::memory_order_relaxed);
  cached_tokens_.fetch_add(static_cast<int64_t>(reused), std::memory_order_relaxed);
  for (size_t start = reused, end = 0; start < n; start = end) {
    if (request->abandoned()) return give_up({OkStatus(), FinishReason::kCancelled, 0});
    if (in.ctx.expired())
      return give_up({DeadlineExceededError("deadline exceeded while decoding the prompt"),
                      FinishReason::kCancelled, 0});
    batch_.n_tokens = 0;
    end = ChunkEnd(start, n, static_cast<size_t>(options_.batch));
    for (size_t i = start; i < end; ++i)
      AddToken(in.prompt[i], static_cast<llama_pos>(i), id, i + 1 == n);
    const int rc = compute_->Acquire(threads_, &cpu_share_).Decode(ctx_.get(), batch_);
    if (rc != 0)
      return give_up({InternalError("llama_decode failed on the prompt (code " +
                                    std::to_string(rc) + ")"),
                      FinishReason::kCancelled, 0});
  }
  GenerationSlot& slot = slots_[id];
  static const std::vector<llama_token> kNone;
  slot.Start(std::move(request),
             MakeSamplerChain(in.sampling, vocab_, in.ignore_eos ? eog_tokens_ : kNone),
             MakeGrammarSampler(in.sampling, vocab_, in.lazy_grammar ? &*in.lazy_grammar : nullptr),
             ctx_limit_, static_cast<int64_t>(reused));
  ++n_active_;
  const llama_token first = slot.failed_to_start() ? LLAMA_TOKEN_NULL : Sample(id, batch_.n_tokens - 1);
  if (slot.Accept(first, vocab_)) Release(id, /*remember=*/!slot.failed_to_start());
}

size_t GenerationEngine::ReusePrefix(int id, const std::vector<llama_token>& prompt) {
  if (!cache_.enabled()) return 0;
  const size_t n = prompt.size();
  const size_t rows = static_cast<size_t>(kMinDecodeRows);
  const size_t most = n > rows ? n - rows : 0;  // the last rows are decoded again (header)
  if (most < kMinReuseTokens) return 0;
  int live = -1;
  size_t live_common = 0;
  for (int j = 0; j < n_active_; ++j) {
    const size_t common = CommonPrefix(slots_[j].tokens(), prompt);
    if (common > live_common) live = j, live_common = common;
  }
  const PromptCache::Match cached = cache_.Find(prompt);
  const size_t reuse = std::min(most, std::max(live_common, cached.common));
  if (reuse < kMinReuseTokens) return 0;
  bool restored = false;
  if (cached.common >= live_common) {
    const std::vector<uint8_t>& image = cached.entry->state;
    restored = llama_state_seq_set_data_ext(ctx_.get(), image.data(), image.size(), id, 0) > 0;
  } else {
    restored = CopySequence(live, id);
  }
  // Positions from `reuse` on are decoded for this prompt. A memory that cannot drop a tail
  // (recurrent models) starts from nothing instead.
  if (!restored || !llama_memory_seq_rm(memory_, id, static_cast<llama_pos>(reuse), -1)) {
    llama_memory_seq_rm(memory_, id, -1, -1);
    return 0;
  }
  return reuse;
}

void GenerationEngine::Remember(int id) {
  const std::vector<llama_token>& tokens = slots_[id].tokens();
  if (!cache_.enabled() || tokens.size() < kMinReuseTokens + kMinDecodeRows) return;
  if (cache_.Covers(tokens)) return;
  const size_t size = llama_state_seq_get_size_ext(ctx_.get(), id, 0);
  if (size == 0 || static_cast<int64_t>(size) > cache_.capacity()) return;
  std::vector<uint8_t> image(size);
  if (llama_state_seq_get_data_ext(ctx_.get(), image.data(), size, id, 0) != size) return;
  cache_.Put(tokens, std::move(image));
  cache_entries_.store(static_cast<int64_t>(cache_.size()), std::memory_order_relaxed);
  cache_bytes_.store(cache_.bytes(), std::memory_order_relaxed);
}

bool GenerationEngine::CopySequence(int from, int to) {
  const size_t size = llama_state_seq_get_size_ext(ctx_.get(), from, 0);
  image_.resize(size);
  if (size == 0 || llama_state_seq_get_data_ext(ctx_.get(), image_.data(), size, from, 0) != size)
    return false;
  return llama_state_seq_set_data_ext(ctx_.get(), image_.data(), size, to, 0) > 0;
}

void GenerationEngine::Release(int id, bool remember) {
  if (remember) Remember(id);
  llama_memory_seq_rm(memory_, id, -1, -1);
  const int last = n_active_ - 1;
  // Keep active ids contiguous (see "Prompt cache" for why not llama_memory_seq_cp).
  const bool moved = id == last || CopySequence(last, id);
  if (id != last) {
    llama_memory_seq_rm(memory_, last, -1, -1);
    std::swap(slots_[id], slots_[last]);
  }
  slots_[last].Reset();
  --n_active_;
  {
    MutexLock lock(mu_);
    --reserved_slots_;
  }
  if (!moved) {  // the moved sequence lost its KV: it cannot go on
    slots_[id].Abort(InternalError("could not move a sequence's KV to another slot"));
    Release(id, /*remember=*/false);
  }
}

llama_token GenerationEngine::Sample(int id, int row) {
  GenerationSlot& slot = slots_[id];
  const GenerationInput& in = slot.request()->input();
  const float* logits = llama_get_logits_ith(ctx_.get(), row);
  if (options_.observe_logits) options_.observe_logits(*slot.request(), logits, n_vocab_);
  llama_token token = LLAMA_TOKEN_NULL;
  if (slot.plain_greedy() && logits) {
    // The chain would copy n_vocab candidates to find one maximum (~50 us for 32K tokens).
    static const std::vector<uint8_t> kNoneBanned;
    token = GreedyToken(logits, n_vocab_, in.ignore_eos ? eog_mask_ : kNoneBanned);
  } else {
    try {
      token = slot.grammar() && logits
                  ? SampleWithGrammar(slot.sampler(), slot.grammar(), logits, n_vocab_, &candidates_)
                  : llama_sampler_sample(slot.sampler(), ctx_.get(), row);
    } catch (const std::exception& e) {
      // llama.cpp's grammar sampler throws when a grammar cannot go on: that request fails, the
      // engine and the other slots go on.
      slot.set_sample_error(e.what());
      return LLAMA_TOKEN_NULL;
    }
  }
  if (in.logprobs && logits && token != LLAMA_TOKEN_NULL)
    slot.set_next_logprob(LogprobOf(logits, n_vocab_, token, in.top_logprobs, vocab_));
  return token;
}

void GenerationEngine::AddToken(llama_token token, llama_pos pos, llama_seq_id seq, bool logits) {
  const int i = batch_.n_tokens++;
  batch_.token[i] = token;
  batch_.pos[i] = pos;
  batch_.n_seq_id[i] = 1;
  batch_.seq_id[i][0] = seq;
  batch_.logits[i] = logits;
}

void GenerationEngine::FailAll(const Status& status) {
  for (int id = n_active_ - 1; id >= 0; --id) {
    slots_[id].Abort(status);
    Release(id, /*remember=*/false);
  }
  std::deque<std::shared_ptr<GenerationRequest>> queued;
  {
    MutexLock lock(mu_);
    queued.swap(queue_);
  }
  for (auto& request : queued) request->Finish({status, FinishReason::kCancelled, 0});
}

}  // namespace modelrt::llama
