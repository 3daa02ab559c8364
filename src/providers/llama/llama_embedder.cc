#include "providers/llama/llama_embedder.h"

#include "core/logging.h"

namespace modelrt::llama {

enum llama_pooling_type PoolingFromOption(const std::string& pooling) {
  if (pooling == "mean") return LLAMA_POOLING_TYPE_MEAN;
  if (pooling == "cls") return LLAMA_POOLING_TYPE_CLS;
  if (pooling == "last") return LLAMA_POOLING_TYPE_LAST;
  return LLAMA_POOLING_TYPE_UNSPECIFIED;
}

std::string_view PoolingName(enum llama_pooling_type pooling) {
  switch (pooling) {
    case LLAMA_POOLING_TYPE_NONE: return "none";
    case LLAMA_POOLING_TYPE_MEAN: return "mean";
    case LLAMA_POOLING_TYPE_CLS: return "cls";
    case LLAMA_POOLING_TYPE_LAST: return "last";
    case LLAMA_POOLING_TYPE_RANK: return "rank";
    default: return "unspecified";
  }
}

Result<std::shared_ptr<LlamaEmbedder>> LlamaEmbedder::Create(const ModelSpec& spec,
                                                             const LlamaModelOptions& options,
                                                             const CallContext& ctx) {
  MODELRT_ASSIGN_OR_RETURN(LlamaModelPtr model, LoadLlamaModel(spec.model, options, ctx));
  BatchWorkerOptions worker_options = MakeBatchWorkerOptions(spec, options, model.get());
  worker_options.pooling = PoolingFromOption(options.pooling);
  MODELRT_ASSIGN_OR_RETURN(std::unique_ptr<BatchWorker> worker,
                           BatchWorker::Create(model.get(), worker_options));
  if (worker->pooling() == LLAMA_POOLING_TYPE_NONE)
    return InvalidArgumentError(spec.model + ": model has no pooling (per-token embeddings are not "
                                "supported); set options.pooling to mean, cls or last");
  if (worker->pooling() == LLAMA_POOLING_TYPE_RANK)
    return InvalidArgumentError(spec.model + ": model uses rank pooling (a reranker); load it with "
                                "task rerank, or set options.pooling");
  MODELRT_RETURN_IF_ERROR(ctx.Check());
  return std::shared_ptr<LlamaEmbedder>(
      new LlamaEmbedder(std::move(model), std::move(worker), options));
}

LlamaEmbedder::LlamaEmbedder(LlamaModelPtr model, std::unique_ptr<BatchWorker> worker,
                             LlamaModelOptions options)
    : model_(std::move(model)),
      vocab_(llama_model_get_vocab(model_.get())),
      worker_(std::move(worker)),
      options_(std::move(options)) {
  char desc[128];
  llama_model_desc(model_.get(), desc, sizeof(desc));
  description_ = std::string(desc) + ", ctx " + std::to_string(worker_->ctx()) + ", pooling " +
                 std::string(PoolingName(worker_->pooling())) + ", " +
                 std::to_string(worker_->output_size()) + " dims";
}

Result<std::vector<llama_token>> LlamaEmbedder::Prepare(const EmbedInput& input, size_t index,
                                                        bool truncate) const {
  const std::string name = "input " + std::to_string(index);
  std::vector<llama_token> tokens;
  bool from_text = false;
  if (!input.tokens.empty()) {
    const int32_t n_vocab = llama_vocab_n_tokens(vocab_);
    for (int32_t id : input.tokens) {
      if (id < 0 || id >= n_vocab)
        return InvalidArgumentError(name + ": token id " + std::to_string(id) +
                                    " is out of range [0, " + std::to_string(n_vocab) + ")");
    }
    tokens.assign(input.tokens.begin(), input.tokens.end());
  } else {
    if (input.text.empty()) return InvalidArgumentError(name + " is empty");
    tokens = Tokenize(vocab_, input.text, /*add_special=*/true, /*parse_special=*/true);
    if (tokens.empty()) return InvalidArgumentError(name + " has no tokens");
    from_text = true;
  }
  const size_t limit = static_cast<size_t>(worker_->ctx());
  if (tokens.size() > limit) {
    if (!truncate)
      return InvalidArgumentError(name + " has " + std::to_string(tokens.size()) +
                                  " tokens, more than the context of " + std::to_string(limit));
    // Keep the closing SEP/EOS the tokenizer added: pooled models are trained with it.
    const llama_token last = tokens.back();
    const bool closing = from_text && (last == llama_vocab_sep(vocab_) || last == llama_vocab_eos(vocab_));
    tokens.resize(limit);
    if (closing) tokens.back() = last;
  }
  return tokens;
}

Result<EmbedSequences> LlamaEmbedder::ToSequences(const EmbedRequest& request) const {
  if (request.inputs.empty()) return InvalidArgumentError("no inputs to embed");
  const bool truncate = request.truncate.value_or(options_.truncate);
  EmbedSequences out;
  out.normalize = request.normalize.value_or(options_.normalize);
  out.sequences.reserve(request.inputs.size());
  for (size_t i = 0; i < request.inputs.size(); ++i) {
    MODELRT_ASSIGN_OR_RETURN(std::vector<llama_token> tokens, Prepare(request.inputs[i], i, truncate));
    out.prompt_tokens += static_cast<int64_t>(tokens.size());
    out.sequences.push_back({.ids = std::move(tokens)});
  }
  return out;
}

Result<EmbedResult> LlamaEmbedder::Embed(const EmbedRequest& request, const CallContext& ctx) {
  return RunEmbed(worker_->batcher(), ToSequences(request), ctx);
}

void LlamaEmbedder::EmbedAsync(const EmbedRequest& request, const CallContext& ctx,
                               EmbedDone done) {
  // Tokenized here, on the caller's thread: the worker's thread only decodes.
  RunEmbedAsync(worker_->batcher(), ToSequences(request), ctx, std::move(done));
}

ModelInfo LlamaEmbedder::Info() const {
  ModelInfo info;
  info.description = description_;
  info.memory_bytes = static_cast<int64_t>(llama_model_size(model_.get())) + worker_->context_bytes();
  info.context_length = worker_->ctx();
  info.dimensions = worker_->output_size();
  info.parallel = worker_->parallel();
  return info;
}

Status LlamaEmbedder::Warmup() {
  EmbedRequest request;
  request.inputs.push_back({.text = "warmup"});
  return Embed(request, CallContext{}).status();
}

Status LlamaEmbedder::Health() const {
  return worker_->alive() ? OkStatus() : UnavailableError("embedding worker stopped");
}

Result<std::shared_ptr<EmbeddingModel>> CreateLlamaEmbedder(const ModelSpec& spec,
                                                            const LlamaModelOptions& options,
                                                            const CallContext& ctx) {
  MODELRT_ASSIGN_OR_RETURN(std::shared_ptr<LlamaEmbedder> embedder,
                           LlamaEmbedder::Create(spec, options, ctx));
  return std::shared_ptr<EmbeddingModel>(std::move(embedder));
}

}  // namespace modelrt::llama
