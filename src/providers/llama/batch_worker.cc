#include "providers/llama/batch_worker.h"

#include <algorithm>
#include <optional>

#include "core/logging.h"

namespace modelrt::llama {

struct BatchWorker::Request {
  std::vector<std::vector<llama_token>> inputs;
  CallContext ctx;
  size_t next = 0;  // first input not yet taken into a batch (under mu_)
  // Worker thread only:
  size_t remaining = 0;  // inputs without an output yet
  std::vector<std::vector<float>> outputs;
  bool finished = false;
  std::atomic<int>* active = nullptr;  // the worker's count of unfinished requests
  BatchWorker::Done done;              // RunAsync's; Run's caller waits below instead

  // Run's caller waits here for the result, or to be woken by its cancel signal.
  Mutex mu;
  CondVar cv;
  std::optional<Result<std::vector<std::vector<float>>>> result GUARDED_BY(mu);
  bool woken GUARDED_BY(mu) = false;

  void Finish(Result<std::vector<std::vector<float>>> out) {
    if (finished) return;
    finished = true;
    active->fetch_sub(1);
    if (done) {
      BatchWorker::Done call = std::move(done);
      call(std::move(out));
      return;
    }
    {
      MutexLock lock(mu);
      result = std::move(out);
    }
    cv.notify_all();
  }
  void Wake() {
    {
      MutexLock lock(mu);
      woken = true;
    }
    cv.notify_all();
  }
};

BatchWorkerOptions MakeBatchWorkerOptions(const ModelSpec& spec, const LlamaModelOptions& options,
                                          const llama_model* model) {
  BatchWorkerOptions out;
  out.name = spec.alias;
  const int trained = std::max(1, llama_model_n_ctx_train(model));
  out.ctx = options.ctx > 0 ? options.ctx : std::min(trained, 4096);
  if (out.ctx > trained) {
    Log("llama")->warn("{}: ctx {} is past the model's training context {}; using {}", spec.alias,
                       out.ctx, trained, trained);
    out.ctx = trained;
  }
  out.parallel = options.parallel;
  out.batch = options.batch > 0 ? options.batch : std::min(out.ctx * out.parallel, 8192);
  out.batch = std::max(out.batch, out.ctx);
  out.threads = options.threads;
  out.max_queue = options.max_queue;
  out.batch_wait_us = options.batch_wait_us;
  return out;
}

Result<std::unique_ptr<BatchWorker>> BatchWorker::Create(const llama_model* model,
                                                         BatchWorkerOptions options) {
  options.ctx = std::max(options.ctx, 1);
  options.parallel = std::clamp(options.parallel, 1, 256);
  // Non-causal models cannot split a sequence across micro-batches: one sequence must fit.
  options.batch = std::max(options.batch, options.ctx);
  llama_context_params params = llama_context_default_params();
  params.embeddings = true;
  params.pooling_type = options.pooling;
  params.n_seq_max = static_cast<uint32_t>(options.parallel);
  params.n_ctx = static_cast<uint32_t>(options.ctx) * params.n_seq_max;  // KV per sequence
  params.n_batch = static_cast<uint32_t>(options.batch);
  params.n_ubatch = params.n_batch;
  // The member compute_ takes this same instance while `compute` is alive.
  std::shared_ptr<ComputePools> compute = ComputePools::Shared();
  options.threads = compute->ThreadsFor(options.threads);
  params.n_threads = options.threads;
  params.n_threads_batch = params.n_threads;
  // One KV stream shared by all sequences: with a stream per sequence llama.cpp splits a batch
  // of unequal sequences into several micro-batches ("split_equal"), and pooling (mean, cls)
  // would then see only the last chunk of each sequence. Unified, the whole batch is one ubatch.
  params.kv_unified = true;
  params.no_perf = true;
  llama_context* context = llama_init_from_model(const_cast<llama_model*>(model), params);
  if (!context)
    return InvalidArgumentError("llama.cpp could not create an embedding context (ctx " +
                                std::to_string(options.ctx) + ", parallel " +
                                std::to_string(options.parallel) + ", batch " +
                                std::to_string(options.batch) + ")");
  return std::unique_ptr<BatchWorker>(new BatchWorker(LlamaContextPtr(context), std::move(options)));
}

BatchWorker::BatchWorker(LlamaContextPtr context, BatchWorkerOptions options)
    : options_(std::move(options)), context_(std::move(context)), peak_active_(options_.parallel) {
  const llama_model* model = llama_get_model(context_.get());
  pooling_ = llama_pooling_type(context_.get());
  output_size_ = pooling_ == LLAMA_POOLING_TYPE_RANK
                     ? static_cast<int>(llama_model_n_cls_out(model))
                     : llama_model_n_embd_out(model);
  // KV cache (f16 K and V per layer, only for models with memory) plus the output buffer.
  int64_t kv = 0;
  if (llama_get_memory(context_.get()) != nullptr) {
    const int64_t head_dim = llama_model_n_embd(model) / std::max(1, llama_model_n_head(model));
    kv = int64_t{llama_n_ctx(context_.get())} * llama_model_n_layer(model) * 2 * head_dim *
         llama_model_n_head_kv(model) * 2;
  }
  context_bytes_ = kv + int64_t{llama_n_batch(context_.get())} * llama_model_n_embd(model) * 4;
  alive_ = true;
  thread_ = std::thread([this] { Loop(); });
}

BatchWorker::~BatchWorker() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status BatchWorker::Enqueue(const std::shared_ptr<Request>& request) {
  request->remaining = request->inputs.size();
  request->outputs.resize(request->inputs.size());
  request->active = &active_;
  MutexLock lock(mu_);
  if (stop_ || !alive_) return UnavailableError("embedding worker is stopped");
  if (static_cast<int>(queue_.size()) >= options_.max_queue)
    return ResourceExhaustedError("queue full (" + std::to_string(options_.max_queue) +
                                  " requests waiting)");
  queue_.push_back(request);
  peak_active_ = std::max(peak_active_, active_.fetch_add(1) + 1);
  // Notified under the lock: from here on the caller touches only its own request, so the
  // worker may be stopped under a waiting caller without a use-after-free. A worker that is
  // decoding needs no wake-up (it looks at the queue next), which saves a futex call per
  // request under load.
  if (worker_waiting_) cv_.notify_all();
  return OkStatus();
}

void BatchWorker::RunAsync(std::vector<std::vector<llama_token>> sequences, const CallContext& ctx,
                           Done done) {
  if (Status status = ctx.Check(); !status.ok()) return done(status);
  if (sequences.empty()) return done(Outputs{});
  auto request = std::make_shared<Request>();
  request->inputs = std::move(sequences);
  request->ctx = ctx;
  request->done = std::move(done);
  if (Status queued = Enqueue(request); !queued.ok()) {
    Done call = std::move(request->done);
    call(queued);
  }
}

Result<BatchWorker::Outputs> BatchWorker::Run(std::vector<std::vector<llama_token>> sequences,
                                              const CallContext& ctx) {
  MODELRT_RETURN_IF_ERROR(ctx.Check());
  if (sequences.empty()) return Outputs{};
  auto request = std::make_shared<Request>();
  request->inputs = std::move(sequences);
  request->ctx = ctx;
  MODELRT_RETURN_IF_ERROR(Enqueue(request));
  // A cancelled or expired caller returns at once (the cancel signal wakes it; no polling); the
  // worker drops the request when it reaches it (the request shares the caller's context).
  const uint64_t key = ctx.cancel ? ctx.cancel->OnCancel([request] { request->Wake(); }) : 0;
  Result<std::vector<std::vector<float>>> out = CancelledError("cancelled");
  {
    MutexLock lock(request->mu);
    auto ready = [&]() REQUIRES(request->mu) { return request->result || request->woken; };
    if (ctx.deadline == Clock::time_point::max()) {
      request->cv.wait(lock.native(), ready);
    } else {
      request->cv.wait_until(lock.native(), ctx.deadline, ready);
    }
    if (request->result) out = std::move(*request->result);
  }
  if (key) ctx.cancel->Forget(key);
  if (out) return out;
  if (Status status = ctx.Check(); !status.ok()) return status;
  return out;
}

int BatchWorker::queue_depth() const {
  MutexLock lock(mu_);
  return static_cast<int>(queue_.size());
}

bool BatchWorker::BatchFull() const {
  int sequences = 0;
  int64_t tokens = 0;
  for (const auto& request : queue_) {
    for (size_t i = request->next; i < request->inputs.size(); ++i) {
      ++sequences;
      tokens += static_cast<int64_t>(request->inputs[i].size());
      if (sequences >= options_.parallel || tokens >= options_.batch) return true;
    }
  }
  return false;
}

std::vector<BatchWorker::Slot> BatchWorker::TakeBatch(std::vector<Refusal>* refused) {
  // Requests past their queue deadline are refused now, not when their turn would come.
  const Clock::time_point now = Clock::now();
  for (auto it = queue_.begin(); it != queue_.end();) {
    Request& request = **it;
    if (request.next == 0 && !request.finished && now >= request.ctx.start_by) {
      refused->push_back({*it, request.ctx.CheckStart()});
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
  std::vector<Slot> slots;
  int64_t tokens = 0;
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (static_cast<int>(slots.size()) >= options_.parallel) break;
    Request& request = **it;
    if (request.finished) {  // failed by an earlier decode: nothing more to run
      it = queue_.erase(it);
      continue;
    }
    // Checked before each decode that would include this request's inputs; before its first,
    // the queue deadline too.
    if (Status status = request.next == 0 ? request.ctx.CheckStart() : request.ctx.Check();
        !status.ok()) {
      refused->push_back({*it, std::move(status)});
      it = queue_.erase(it);
      continue;
    }
    while (request.next < request.inputs.size() &&
           static_cast<int>(slots.size()) < options_.parallel &&
           tokens + static_cast<int64_t>(request.inputs[request.next].size()) <= options_.batch) {
      tokens += static_cast<int64_t>(request.inputs[request.next].size());
      slots.push_back({*it, request.next++});
    }
    if (request.next == request.inputs.size()) {
      it = queue_.erase(it);  // fully taken: leaves the queue, frees a place for a new request
    } else {
      ++it;  // a later, shorter input of another request may still fit
    }
  }
  return slots;
}

void BatchWorker::Loop() {
  llama_batch batch = llama_batch_init(options_.batch, 0, 1);
  while (true) {
    std::vector<Slot> slots;
    std::vector<Refusal> refused;
    {
      MutexLock lock(mu_);
      worker_waiting_ = true;
      while (!stop_ && queue_.empty()) cv_.wait(lock.native());
      if (stop_) break;
      // Gather: a batch that is not full waits a little for more requests to join it, but only
      // while fewer requests are queued than were in flight together since the last batch was
      // taken. A lone caller (or clients that take turns) then never waits, and clients that
      // come back together after their answers are gathered into one decode again.
      const int expected = peak_active_;
      const auto gather_until = Clock::now() + std::chrono::microseconds(options_.batch_wait_us);
      while (!stop_ && !BatchFull() && static_cast<int>(queue_.size()) < expected &&
             Clock::now() < gather_until)
        cv_.wait_until(lock.native(), gather_until);
      worker_waiting_ = false;
      if (stop_) break;
      slots = TakeBatch(&refused);
      // The requests now in flight are where the next peak starts.
      peak_active_ = active_.load();
    }
    for (Refusal& r : refused) r.request->Finish(std::move(r.status));
    if (!slots.empty()) Decode(slots, batch);
  }
  llama_batch_free(batch);
  alive_ = false;
  std::deque<std::shared_ptr<Request>> left;
  {
    MutexLock lock(mu_);
    left.swap(queue_);
  }
  for (auto& request : left) request->Finish(UnavailableError("model was unloaded"));
}

void BatchWorker::Decode(const std::vector<Slot>& slots, llama_batch& batch) {
  llama_context* ctx = context_.get();
  batch.n_tokens = 0;
  for (size_t s = 0; s < slots.size(); ++s) {
    const auto& tokens = slots[s].request->inputs[slots[s].input];
    for (size_t j = 0; j < tokens.size(); ++j) {
      const int n = batch.n_tokens++;
      batch.token[n] = tokens[j];
      batch.pos[n] = static_cast<llama_pos>(j);
      batch.n_seq_id[n] = 1;
      batch.seq_id[n][0] = static_cast<llama_seq_id>(s);
      batch.logits[n] = true;
    }
  }
  llama_memory_t memory = llama_get_memory(ctx);
  // Causal models keep a KV cache; each batch starts from an empty one so a sequence sees only
  // itself. Encoder-only models (BERT) have no memory and run through llama_encode.
  llama_memory_clear(memory, true);
  const int32_t rc = compute_->Acquire(options_.threads, &cpu_share_).Decode(ctx, batch, /*encode=*/!memory);
  decodes_.fetch_add(1);
  sequences_.fetch_add(static_cast<int64_t>(slots.size()));
  tokens_.fetch_add(batch.n_tokens);
  for (size_t s = 0; s < slots.size(); ++s) {
    Request& request = *slots[s].request;
    if (request.finished) continue;
    const float* out = rc == 0 ? llama_get_embeddings_seq(ctx, static_cast<llama_seq_id>(s)) : nullptr;
    if (!out) {
      request.Finish(InternalError(
          rc != 0 ? "llama.cpp decode failed (code " + std::to_string(rc) + ")"
                  : std::string("llama.cpp returned no pooled output for a sequence")));
      continue;
    }
    request.outputs[slots[s].input].assign(out, out + output_size_);
    if (--request.remaining == 0) request.Finish(std::move(request.outputs));
  }
  if (rc != 0) Log("llama")->error("{}: decode of {} sequences failed with code {}", options_.name, slots.size(), rc);
}

}  // namespace modelrt::llama
