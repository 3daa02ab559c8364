#include "providers/batched_calls.h"

#include <cmath>

#include "providers/vector_math.h"

namespace modelrt {
namespace {

EmbedResult MakeEmbedResult(int64_t prompt_tokens, bool normalize, SequenceBatcher::Outputs outputs) {
  EmbedResult result;
  result.prompt_tokens = prompt_tokens;
  result.embeddings = std::move(outputs);
  if (normalize) {
    for (auto& v : result.embeddings) L2Normalize(v);
  }
  return result;
}

RerankResult MakeRerankResult(int64_t prompt_tokens, bool sigmoid,
                              const SequenceBatcher::Outputs& outputs) {
  RerankResult result;
  result.prompt_tokens = prompt_tokens;
  result.scores.reserve(outputs.size());
  for (const auto& logits : outputs) {
    const float score = logits.empty() ? 0.0f : logits[0];
    result.scores.push_back(sigmoid ? 1.0f / (1.0f + std::exp(-score)) : score);
  }
  return result;
}

}  // namespace

Result<EmbedResult> RunEmbed(SequenceBatcher& batcher, Result<EmbedSequences> tokenized,
                             const CallContext& ctx) {
  if (!tokenized) return tokenized.error();
  MODELRT_ASSIGN_OR_RETURN(SequenceBatcher::Outputs outputs,
                           batcher.Run(std::move(tokenized->sequences), ctx));
  return MakeEmbedResult(tokenized->prompt_tokens, tokenized->normalize, std::move(outputs));
}

void RunEmbedAsync(SequenceBatcher& batcher, Result<EmbedSequences> tokenized,
                   const CallContext& ctx, EmbedDone done) {
  if (!tokenized) return done(tokenized.error());
  batcher.RunAsync(std::move(tokenized->sequences), ctx,
                   [tokens = tokenized->prompt_tokens, normalize = tokenized->normalize,
                    done = std::move(done)](Result<SequenceBatcher::Outputs> outputs) {
                     if (!outputs) return done(outputs.error());
                     done(MakeEmbedResult(tokens, normalize, *std::move(outputs)));
                   });
}

Result<RerankResult> RunRerank(SequenceBatcher& batcher, Result<RerankSequences> tokenized,
                               const CallContext& ctx) {
  if (!tokenized) return tokenized.error();
  MODELRT_ASSIGN_OR_RETURN(SequenceBatcher::Outputs outputs,
                           batcher.Run(std::move(tokenized->sequences), ctx));
  return MakeRerankResult(tokenized->prompt_tokens, tokenized->sigmoid, outputs);
}

void RunRerankAsync(SequenceBatcher& batcher, Result<RerankSequences> tokenized,
                    const CallContext& ctx, RerankDone done) {
  if (!tokenized) return done(tokenized.error());
  batcher.RunAsync(std::move(tokenized->sequences), ctx,
                   [tokens = tokenized->prompt_tokens, sigmoid = tokenized->sigmoid,
                    done = std::move(done)](Result<SequenceBatcher::Outputs> outputs) {
                     if (!outputs) return done(outputs.error());
                     done(MakeRerankResult(tokens, sigmoid, *outputs));
                   });
}

}  // namespace modelrt
