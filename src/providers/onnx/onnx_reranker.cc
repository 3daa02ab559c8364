#include "providers/onnx/onnx_reranker.h"

namespace modelrt::onnx {

Result<std::shared_ptr<OnnxReranker>> OnnxReranker::Create(const ModelSpec& spec,
                                                           const OnnxModelOptions& options,
                                                           const CallContext& ctx) {
  MODELRT_ASSIGN_OR_RETURN(OnnxParts parts, LoadOnnxParts(spec, options, EncoderHead::kScores, ctx));
  return std::shared_ptr<OnnxReranker>(new OnnxReranker(std::move(parts), options));
}

Result<RerankSequences> OnnxReranker::ToSequences(const RerankRequest& request) const {
  if (request.query.empty()) return InvalidArgumentError("query is empty");
  const bool truncate = request.truncate.value_or(options_.truncate);
  const auto limit = static_cast<size_t>(parts_.max_length);
  RerankSequences out;
  out.sigmoid = options_.sigmoid;
  out.sequences.reserve(request.documents.size());
  for (size_t i = 0; i < request.documents.size(); ++i) {
    auto encoded = parts_.tokenizer->EncodePair(request.query, request.documents[i],
                                                {.max_length = limit, .truncate = truncate});
    if (!encoded) return encoded.error().WithPrefix("document " + std::to_string(i) + " with the query");
    out.prompt_tokens += static_cast<int64_t>(encoded->ids.size());
    out.sequences.push_back({std::move(encoded->ids), std::move(encoded->type_ids)});
  }
  return out;
}

Result<RerankResult> OnnxReranker::Rerank(const RerankRequest& request, const CallContext& ctx) {
  return RunRerank(parts_.encoder->batcher(), ToSequences(request), ctx);
}

void OnnxReranker::RerankAsync(const RerankRequest& request, const CallContext& ctx,
                               RerankDone done) {
  RunRerankAsync(parts_.encoder->batcher(), ToSequences(request), ctx, std::move(done));
}

ModelInfo OnnxReranker::Info() const {
  ModelInfo info;
  info.description = parts_.description + ", reranker";
  info.memory_bytes = parts_.encoder->memory_bytes();
  info.context_length = parts_.max_length;
  info.parallel = parts_.encoder->options().parallel;
  return info;
}

Status OnnxReranker::Warmup() {
  return Rerank({.query = "warmup", .documents = {"warmup"}}, CallContext{}).status();
}

Status OnnxReranker::Health() const {
  return parts_.encoder->alive() ? OkStatus() : UnavailableError("onnx worker stopped");
}

}  // namespace modelrt::onnx
