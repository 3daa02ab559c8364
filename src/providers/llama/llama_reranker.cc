#include "providers/llama/llama_reranker.h"

namespace modelrt::llama {
namespace {

void ReplaceAll(std::string& text, std::string_view from, const std::string& to) {
  for (size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size()))
    text.replace(pos, from.size(), to);
}

}  // namespace

Result<std::shared_ptr<LlamaReranker>> LlamaReranker::Create(const ModelSpec& spec,
                                                             const LlamaModelOptions& options,
                                                             const CallContext& ctx) {
  MODELRT_ASSIGN_OR_RETURN(LlamaModelPtr model, LoadLlamaModel(spec.model, options, ctx));
  BatchWorkerOptions worker_options = MakeBatchWorkerOptions(spec, options, model.get());
  // The model's own pooling: forcing RANK on a model without a classifier head would crash
  // llama.cpp's graph build, so a model that does not declare it is refused.
  worker_options.pooling = LLAMA_POOLING_TYPE_UNSPECIFIED;
  MODELRT_ASSIGN_OR_RETURN(std::unique_ptr<BatchWorker> worker,
                           BatchWorker::Create(model.get(), worker_options));
  if (worker->pooling() != LLAMA_POOLING_TYPE_RANK || worker->output_size() < 1)
    return InvalidArgumentError(spec.model + ": model has no rank pooling (not a reranker)");
  MODELRT_RETURN_IF_ERROR(ctx.Check());
  return std::shared_ptr<LlamaReranker>(
      new LlamaReranker(std::move(model), std::move(worker), options));
}

LlamaReranker::LlamaReranker(LlamaModelPtr model, std::unique_ptr<BatchWorker> worker,
                             LlamaModelOptions options)
    : model_(std::move(model)),
      vocab_(llama_model_get_vocab(model_.get())),
      worker_(std::move(worker)),
      options_(std::move(options)) {
  if (const char* t = llama_model_chat_template(model_.get(), "rerank")) template_ = t;
  char desc[128];
  llama_model_desc(model_.get(), desc, sizeof(desc));
  description_ = std::string(desc) + ", ctx " + std::to_string(worker_->ctx()) + ", reranker";
}

std::vector<llama_token> LlamaReranker::FormatPair(const std::string& query,
                                                   const std::string& document) const {
  if (template_) {
    std::string prompt = *template_;
    ReplaceAll(prompt, "{query}", query);
    ReplaceAll(prompt, "{document}", document);
    return Tokenize(vocab_, prompt, /*add_special=*/false, /*parse_special=*/true);
  }
  std::vector<llama_token> q = Tokenize(vocab_, query, false, false);
  std::vector<llama_token> d = Tokenize(vocab_, document, false, false);
  llama_token eos = llama_vocab_eos(vocab_);
  if (eos == LLAMA_TOKEN_NULL) eos = llama_vocab_sep(vocab_);
  const bool add_eos = llama_vocab_get_add_eos(vocab_);
  const bool add_sep = llama_vocab_get_add_sep(vocab_);
  std::vector<llama_token> out;
  out.reserve(q.size() + d.size() + 5);
  if (llama_vocab_get_add_bos(vocab_)) out.push_back(llama_vocab_bos(vocab_));
  out.insert(out.end(), q.begin(), q.end());
  if (add_eos) out.push_back(eos);
  if (add_sep) out.push_back(llama_vocab_sep(vocab_));
  out.insert(out.end(), d.begin(), d.end());
  // The document is closed as the tokenizer closes any text: EOS and/or SEP.
  if (add_eos) out.push_back(eos);
  if (add_sep) out.push_back(llama_vocab_sep(vocab_));
  return out;
}

Result<RerankSequences> LlamaReranker::ToSequences(const RerankRequest& request) const {
  if (request.query.empty()) return InvalidArgumentError("query is empty");
  RerankSequences out;
  const bool truncate = request.truncate.value_or(options_.truncate);
  const size_t limit = static_cast<size_t>(worker_->ctx());
  out.sequences.reserve(request.documents.size());
  for (size_t i = 0; i < request.documents.size(); ++i) {
    std::vector<llama_token> tokens = FormatPair(request.query, request.documents[i]);
    if (tokens.size() > limit) {
      if (!truncate)
        return InvalidArgumentError("document " + std::to_string(i) + " with the query has " +
                                    std::to_string(tokens.size()) +
                                    " tokens, more than the context of " + std::to_string(limit));
      // Cut the end (the document's tail), keeping the closing token the format added.
      const llama_token last = tokens.back();
      const bool closing = !template_ && (llama_vocab_get_add_eos(vocab_) || llama_vocab_get_add_sep(vocab_));
      tokens.resize(limit);
      if (closing) tokens.back() = last;
    }
    if (tokens.empty()) return InvalidArgumentError("document " + std::to_string(i) + " has no tokens");
    out.prompt_tokens += static_cast<int64_t>(tokens.size());
    out.sequences.push_back({.ids = std::move(tokens)});
  }
  return out;
}

Result<RerankResult> LlamaReranker::Rerank(const RerankRequest& request, const CallContext& ctx) {
  return RunRerank(worker_->batcher(), ToSequences(request), ctx);
}

void LlamaReranker::RerankAsync(const RerankRequest& request, const CallContext& ctx,
                                RerankDone done) {
  // Tokenized on the caller's thread, as embeddings.
  RunRerankAsync(worker_->batcher(), ToSequences(request), ctx, std::move(done));
}

ModelInfo LlamaReranker::Info() const {
  ModelInfo info;
  info.description = description_;
  info.memory_bytes = static_cast<int64_t>(llama_model_size(model_.get())) + worker_->context_bytes();
  info.context_length = worker_->ctx();
  info.parallel = worker_->parallel();
  return info;
}

Status LlamaReranker::Warmup() {
  return Rerank({.query = "warmup", .documents = {"warmup"}}, CallContext{}).status();
}

Status LlamaReranker::Health() const {
  return worker_->alive() ? OkStatus() : UnavailableError("rerank worker stopped");
}

Result<std::shared_ptr<RerankerModel>> CreateLlamaReranker(const ModelSpec& spec,
                                                           const LlamaModelOptions& options,
                                                           const CallContext& ctx) {
  MODELRT_ASSIGN_OR_RETURN(std::shared_ptr<LlamaReranker> reranker,
                           LlamaReranker::Create(spec, options, ctx));
  return std::shared_ptr<RerankerModel>(std::move(reranker));
}

}  // namespace modelrt::llama
