// One generating sequence inside the engine: its sampler, position, limits, and the text
// pipeline from sampled tokens to emitted pieces (UTF-8 hold-back, then stop strings).
//
//   slot.Start(request, MakeSamplerChain(...), MakeGrammarSampler(...), ctx_limit);
//   bool done = slot.Accept(llama_sampler_sample(slot.sampler(), ctx, i), vocab);
//   if (!done) batch.add(slot.last_token(), slot.n_past(), seq_id);  // next decode step
//
// Thread-safety: not thread-safe; owned by the engine's worker thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "providers/llama/generation_request.h"
#include "providers/llama/llama_common.h"
#include "providers/llama/stop_matcher.h"

namespace modelrt::llama {

class GenerationSlot {
 public:
  GenerationSlot() = default;
  GenerationSlot(GenerationSlot&&) = default;
  GenerationSlot& operator=(GenerationSlot&&) = default;

  // Takes a request whose prompt has just been decoded (n_past = prompt length), of which the
  // first `cached_tokens` were restored from earlier KV instead (reported in the outcome).
  // `ctx_limit` is the most tokens this sequence may hold.
  void Start(std::shared_ptr<GenerationRequest> request, LlamaSamplerPtr sampler,
             LlamaSamplerPtr grammar, int ctx_limit, int64_t cached_tokens = 0);

  // Handles the token sampled for this sequence: emits its text, checks end-of-generation,
  // stop strings, max_tokens and the context limit. Returns true when the generation is over
  // (the request has been finished and the slot must be released).
  bool Accept(llama_token token, const llama_vocab* vocab);

  // Ends the generation early: kCancelled with OK status, or an error status.
  void Abort(Status status, FinishReason reason = FinishReason::kCancelled);
  // Why the last Sample failed; Accept(LLAMA_TOKEN_NULL) then fails the request with it.
  void set_sample_error(std::string message) { sample_error_ = std::move(message); }
  // Whether Start could not set the sampler up (its grammar refused the prefill): the request
  // must then fail through Accept(LLAMA_TOKEN_NULL).
  bool failed_to_start() const { return !sample_error_.empty(); }
  // The log-probabilities of the token about to be Accepted (logprobs requests).
  void set_next_logprob(TokenLogprob logprob) { next_logprob_ = std::move(logprob); }

  // Records that last_token() was decoded at position n_past().
  void Advance() {
    tokens_.push_back(last_token_);
    ++n_past_;
  }

  // Clears the slot for reuse.
  void Reset();

  bool active() const { return request_ != nullptr; }
  // Whether the same request must give the same text again (seeded or greedy sampling), so
  // that its logits must not depend on what else is decoded beside it.
  bool reproducible() const { return reproducible_; }
  // Whether sampling is plain greedy (see IsPlainGreedy): the engine then picks the token from
  // the logits directly instead of through sampler().
  bool plain_greedy() const { return plain_greedy_; }
  const std::shared_ptr<GenerationRequest>& request() const { return request_; }
  llama_sampler* sampler() const { return sampler_.get(); }
  llama_sampler* grammar() const { return grammar_.get(); }  // null: no grammar
  llama_token last_token() const { return last_token_; }
  int n_past() const { return n_past_; }
  // The tokens in this sequence's KV, position 0 first (n_past() of them): what a prompt cache
  // entry or another prompt can reuse.
  const std::vector<llama_token>& tokens() const { return tokens_; }

 private:
  void Finish(FinishReason reason);

  std::shared_ptr<GenerationRequest> request_;
  LlamaSamplerPtr sampler_;
  LlamaSamplerPtr grammar_;
  std::optional<StopMatcher> stops_;
  std::string pending_utf8_;  // bytes of a character not yet complete
  std::string sample_error_;
  std::optional<TokenLogprob> next_logprob_;
  std::vector<TokenLogprob> logprobs_;
  std::vector<llama_token> tokens_;
  llama_token last_token_ = 0;
  int n_past_ = 0;
  int ctx_limit_ = 0;
  int64_t completion_tokens_ = 0;
  int64_t cached_tokens_ = 0;
  bool reproducible_ = false;
  bool plain_greedy_ = false;
};

}  // namespace modelrt::llama
