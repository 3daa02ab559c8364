// Builds the llama.cpp sampler chain for one generation from SamplingParams, in llama-server's
// order: [logit bias ->] penalties -> top-k -> top-p -> min-p -> temperature -> dist(seed), or greedy when
// the temperature is 0. Plain greedy requests (no penalties) can skip the chain: GreedyToken
// picks the same token from the logits in place, without copying n_vocab candidates.
//
//   MODELRT_RETURN_IF_ERROR(ValidateSampling(request.sampling));
//   LlamaSamplerPtr chain = MakeSamplerChain(request.sampling, vocab, eog_tokens);
//   llama_token t = IsPlainGreedy(request.sampling)
//                       ? GreedyToken(llama_get_logits_ith(ctx, i), n_vocab, banned_mask)
//                       : llama_sampler_sample(chain.get(), ctx, output_index);
//
// Thread-safety: the functions are thread-safe; a chain is used by one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "modelrt/model.h"
#include "modelrt/status.h"
#include "providers/llama/llama_common.h"

namespace modelrt::llama {

// InvalidArgument naming the first out-of-range field (a logit_bias token must be < n_vocab).
Status ValidateSampling(const SamplingParams& params, int32_t n_vocab);

// When a grammar waits for a trigger (a tool call may start anywhere in a reply): it applies
// from the first match of a pattern (a regex over the reply so far) or token on.
struct GrammarTriggers {
  std::vector<std::string> patterns;
  std::vector<llama_token> tokens;
};

// `banned` tokens get a -inf logit bias (end-of-generation tokens for ignore_eos). The grammar
// is not in the chain: see MakeGrammarSampler and SampleWithGrammar.
LlamaSamplerPtr MakeSamplerChain(const SamplingParams& params, const llama_vocab* vocab,
                                 const std::vector<llama_token>& banned);

// llama.cpp's grammar sampler for params.grammar (null when there is none); `lazy` (optional)
// makes it wait for its triggers.
LlamaSamplerPtr MakeGrammarSampler(const SamplingParams& params, const llama_vocab* vocab,
                                   const GrammarTriggers* lazy = nullptr);

// One token from `logits` as llama.cpp's common sampler picks it under a grammar: the chain
// samples first, and only when the grammar refuses that token is the grammar applied to every
// candidate and the chain run again on what it allows. Checking one token instead of the whole
// vocabulary is what makes constrained sampling cheap on large vocabularies. Accepts the token
// into both. Throws what the grammar sampler throws (a grammar that cannot go on).
llama_token SampleWithGrammar(llama_sampler* chain, llama_sampler* grammar, const float* logits,
                              int32_t n_vocab, std::vector<llama_token_data>* scratch);

// True when the chain for `params` is only greedy, so GreedyToken may stand in.
bool IsPlainGreedy(const SamplingParams& params);

// InvalidArgument when `grammar` (non-empty) does not parse as GBNF with a root rule.
Status ValidateGrammar(const std::string& grammar, const llama_vocab* vocab);

// The token that chain picks from `logits` (n_vocab floats): the first highest logit, where a
// token with a nonzero `banned_mask` entry counts as its logit plus -inf, exactly as the logit
// bias sampler makes it. An empty mask bans nothing.
llama_token GreedyToken(const float* logits, int32_t n_vocab,
                        const std::vector<uint8_t>& banned_mask);

}  // namespace modelrt::llama
