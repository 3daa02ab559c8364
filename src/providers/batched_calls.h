// What the local embedders and rerankers (llama.cpp's and ONNX Runtime's) do alike once a
// request is token sequences: run them through the engine's SequenceBatcher and make the result
// from the outputs (L2-normalized vectors; the first logit as the score, raw or through a
// sigmoid). Each engine only tokenizes.
//
//   Result<Result<EmbedResult>> r = RunEmbed(batcher, ToSequences(request), ctx);
//   RunEmbedAsync(batcher, ToSequences(request), ctx, std::move(done));  // done on the worker
//
// A tokenizing error is the answer as it is, before the batcher sees the request.
// Thread-safety: as SequenceBatcher.
#pragma once

#include <cstdint>
#include <vector>

#include "modelrt/model.h"
#include "providers/sequence_batcher.h"

namespace modelrt {

struct EmbedSequences {
  std::vector<SequenceBatcher::Sequence> sequences;
  int64_t prompt_tokens = 0;
  bool normalize = true;
};
Result<EmbedResult> RunEmbed(SequenceBatcher& batcher, Result<EmbedSequences> tokenized,
                             const CallContext& ctx);
void RunEmbedAsync(SequenceBatcher& batcher, Result<EmbedSequences> tokenized,
                   const CallContext& ctx, EmbedDone done);

struct RerankSequences {
  std::vector<SequenceBatcher::Sequence> sequences;  // one (query, document) pair each
  int64_t prompt_tokens = 0;
  bool sigmoid = false;
};
Result<RerankResult> RunRerank(SequenceBatcher& batcher, Result<RerankSequences> tokenized,
                               const CallContext& ctx);
void RunRerankAsync(SequenceBatcher& batcher, Result<RerankSequences> tokenized,
                    const CallContext& ctx, RerankDone done);

}  // namespace modelrt
