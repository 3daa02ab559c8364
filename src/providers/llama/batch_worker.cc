#include "providers/llama/batch_worker.h"

#include <algorithm>

#include "core/logging.h"

namespace modelrt::llama {

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
    : options_(std::move(options)), context_(std::move(context)) {
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
  batch_ = llama_batch_init(options_.batch, 0, 1);
  batcher_ = std::make_unique<SequenceBatcher>(
      SequenceBatcherOptions{.name = options_.name,
                             .max_sequences = options_.parallel,
                             .max_tokens = options_.batch,
                             .max_queue = options_.max_queue,
                             .batch_wait_us = options_.batch_wait_us},
      [this](const SequenceBatcher::Batch& batch) { return Decode(batch); });
}

BatchWorker::~BatchWorker() {
  batcher_.reset();  // joins the worker thread before the batch and the context go
  llama_batch_free(batch_);
}

std::vector<SequenceBatcher::Sequence> BatchWorker::ToBatcher(
    std::vector<std::vector<llama_token>> in) {
  std::vector<SequenceBatcher::Sequence> out(in.size());
  for (size_t i = 0; i < in.size(); ++i) out[i].ids = std::move(in[i]);
  return out;
}

Result<BatchWorker::Outputs> BatchWorker::Decode(const SequenceBatcher::Batch& sequences) {
  llama_context* ctx = context_.get();
  batch_.n_tokens = 0;
  for (size_t s = 0; s < sequences.size(); ++s) {
    const auto& tokens = sequences[s]->ids;
    for (size_t j = 0; j < tokens.size(); ++j) {
      const int n = batch_.n_tokens++;
      batch_.token[n] = tokens[j];
      batch_.pos[n] = static_cast<llama_pos>(j);
      batch_.n_seq_id[n] = 1;
      batch_.seq_id[n][0] = static_cast<llama_seq_id>(s);
      batch_.logits[n] = true;
    }
  }
  llama_memory_t memory = llama_get_memory(ctx);
  // Causal models keep a KV cache; each batch starts from an empty one so a sequence sees only
  // itself. Encoder-only models (BERT) have no memory and run through llama_encode.
  llama_memory_clear(memory, true);
  const int32_t rc =
      compute_->Acquire(options_.threads, &cpu_share_).Decode(ctx, batch_, /*encode=*/!memory);
  if (rc != 0) return InternalError("llama.cpp decode failed (code " + std::to_string(rc) + ")");
  Outputs outputs(sequences.size());
  for (size_t s = 0; s < sequences.size(); ++s) {
    const float* out = llama_get_embeddings_seq(ctx, static_cast<llama_seq_id>(s));
    if (!out) return InternalError("llama.cpp returned no pooled output for a sequence");
    outputs[s].assign(out, out + output_size_);
  }
  return outputs;
}

}  // namespace modelrt::llama
