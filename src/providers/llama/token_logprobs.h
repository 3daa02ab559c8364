// Log-probabilities as OpenAI's `logprobs` reports them: the log-softmax of the model's raw
// logits (before any sampler: temperature, penalties and grammars change what is picked, not
// what the model thought), for the chosen token and the `top` most likely ones.
//
//   TokenLogprob lp = LogprobOf(llama_get_logits_ith(ctx, i), n_vocab, token, 5, vocab);
//
// Thread-safety: free functions.
#pragma once

#include <cstdint>

#include "modelrt/model.h"
#include "providers/llama/llama_common.h"

namespace modelrt::llama {

// `lp.token` is left empty (the caller knows how the token renders); the alternatives carry
// their text. Ties keep the lower token id first.
TokenLogprob LogprobOf(const float* logits, int32_t n_vocab, llama_token token, int top,
                       const llama_vocab* vocab);

}  // namespace modelrt::llama
