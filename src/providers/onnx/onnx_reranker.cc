#include "providers/onnx/onnx_reranker.h"

#include <cmath>

namespace modelrt::onnx {

Result<std::shared_ptr<OnnxReranker>> OnnxReranker::Create(const ModelSpec& spec,
                                                           const OnnxModelOptions& options,
                                                           const CallContext& ctx) {
  MODELRT_ASSIGN_OR_RETURN(OnnxParts parts, LoadOnnxParts(spec, options, EncoderHead::kScores, ctx));
  return std::shared_ptr<OnnxReranker>(new OnnxReranker(std::move(parts), options));
}

Result<OnnxReranker::Tokenized> OnnxReranker::ToSequences(const RerankRequest& request) const {
  if (request.query.empty()) return InvalidArgumentError("query is empty");
  const bool truncate = request.truncate.value_or(options_.truncate);
  const auto limit = static_cast<size_t>(parts_.max_length);
  Tokenized out;
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

RerankResult OnnxReranker::Complete(int64_t prompt_tokens, bool sigmoid,
                                    const OnnxEncoder::Outputs& outputs) {
  RerankResult result;
  result.prompt_tokens = prompt_tokens;
  result.scores.reserve(outputs.size());
  for (const auto& logits : outputs) {
    const float score = logits.empty() ? 0.0f : logits[0];
    result.scores.push_back(sigmoid ? 1.0f / (1.0f + std::exp(-score)) : score);
  }
  return result;
}

Result<RerankResult> OnnxReranker::Rerank(const RerankRequest& request, const CallContext& ctx) {
  MODELRT_ASSIGN_OR_RETURN(Tokenized tokenized, ToSequences(request));
  MODELRT_ASSIGN_OR_RETURN(OnnxEncoder::Outputs outputs,
                           parts_.encoder->Run(std::move(tokenized.sequences), ctx));
  return Complete(tokenized.prompt_tokens, options_.sigmoid, outputs);
}

void OnnxReranker::RerankAsync(const RerankRequest& request, const CallContext& ctx,
                               RerankDone done) {
  Result<Tokenized> tokenized = ToSequences(request);
  if (!tokenized) return done(tokenized.error());
  parts_.encoder->RunAsync(std::move(tokenized->sequences), ctx,
                           [tokens = tokenized->prompt_tokens, sigmoid = options_.sigmoid,
                            done = std::move(done)](Result<OnnxEncoder::Outputs> outputs) {
                             if (!outputs) return done(outputs.error());
                             done(Complete(tokens, sigmoid, *outputs));
                           });
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
