// Builds the llama.cpp sampler chain for one generation from SamplingParams, in llama-server's
// order: penalties -> top-k -> top-p -> min-p -> temperature -> dist(seed), or greedy when
// the temperature is 0.
//
//   MODELRT_RETURN_IF_ERROR(ValidateSampling(request.sampling));
//   LlamaSamplerPtr chain = MakeSamplerChain(request.sampling, vocab, eog_tokens);
//   llama_token t = llama_sampler_sample(chain.get(), ctx, output_index);
//
// Thread-safety: the functions are thread-safe; a chain is used by one thread at a time.
#pragma once

#include <vector>

#include "modelrt/model.h"
#include "modelrt/status.h"
#include "providers/llama/llama_common.h"

namespace modelrt::llama {

// InvalidArgument naming the first out-of-range field.
Status ValidateSampling(const SamplingParams& params);

// `banned` tokens get a -inf logit bias (end-of-generation tokens for ignore_eos).
LlamaSamplerPtr MakeSamplerChain(const SamplingParams& params, const llama_vocab* vocab,
                                 const std::vector<llama_token>& banned);

}  // namespace modelrt::llama
