#include "providers/llama/generation_slot.h"

#include <algorithm>
#include <exception>

#include "providers/llama/sampler_chain.h"
#include "providers/llama/utf8.h"

namespace modelrt::llama {

void GenerationSlot::Start(std::shared_ptr<GenerationRequest> request, LlamaSamplerPtr sampler,
                           LlamaSamplerPtr grammar, int ctx_limit, int64_t cached_tokens) {
  request_ = std::move(request);
  sampler_ = std::move(sampler);
  grammar_ = std::move(grammar);
  const GenerationInput& in = request_->input();
  stops_.emplace(in.stop);
  pending_utf8_.clear();
  n_past_ = static_cast<int>(in.prompt.size());
  tokens_ = in.prompt;
  ctx_limit_ = ctx_limit;
  completion_tokens_ = 0;
  cached_tokens_ = cached_tokens;
  // A seed asks for the same text whatever else runs: only then are decode steps padded (see
  // GenerationEngine::DecodeStep). Greedy without a seed decodes like llama-server's slots: the
  // same text alone, but batch-dependent rounding may flip a near-tie under load.
  reproducible_ = in.sampling.seed.has_value();
  plain_greedy_ = IsPlainGreedy(in.sampling);
  // Repetition penalties count the prompt too, as in llama-server (the grammar is kept apart,
  // so it never takes the prompt as output).
  for (llama_token t : in.prompt) llama_sampler_accept(sampler_.get(), t);
  if (!grammar_) return;
  // A tool-call grammar may start with what the template already wrote at the end of the prompt
  // ("<|im_start|>assistant\n"): the grammar reads it first, as in llama.cpp's common sampler.
  try {
    for (llama_token t : in.grammar_prefill) llama_sampler_accept(grammar_.get(), t);
  } catch (const std::exception& e) {
    sample_error_ = std::string("the grammar does not accept the prompt's end: ") + e.what();
  }
}

bool GenerationSlot::Accept(llama_token token, const llama_vocab* vocab) {
  const GenerationInput& in = request_->input();
  if (token == LLAMA_TOKEN_NULL) {  // the sampler failed (GenerationEngine::Sample)
    Abort(InternalError("sampling failed: " + sample_error_), FinishReason::kStop);
    return true;
  }
  if (!in.ignore_eos && llama_vocab_is_eog(vocab, token)) {
    Finish(FinishReason::kStop);
    return true;
  }
  ++completion_tokens_;
  last_token_ = token;
  const bool shown = std::binary_search(in.shown_special.begin(), in.shown_special.end(), token);
  std::string piece = TokenToPiece(vocab, token, /*special=*/shown);
  if (next_logprob_) {
    next_logprob_->token = piece;
    logprobs_.push_back(*std::move(next_logprob_));
    next_logprob_.reset();
  }
  pending_utf8_ += piece;
  size_t complete = CompleteUtf8Prefix(pending_utf8_);
  request_->Emit(stops_->Push(std::string_view(pending_utf8_).substr(0, complete)));
  pending_utf8_.erase(0, complete);
  if (stops_->stopped()) {
    Finish(FinishReason::kStop);
    return true;
  }
  if (in.max_tokens > 0 && completion_tokens_ >= in.max_tokens) {
    Finish(FinishReason::kLength);
    return true;
  }
  // The token just sampled still has to be decoded at position n_past_: no room, no more.
  if (n_past_ >= ctx_limit_) {
    Finish(FinishReason::kLength);
    return true;
  }
  return false;
}

void GenerationSlot::Abort(Status status, FinishReason reason) {
  if (!request_) return;
  request_->Finish(
      {std::move(status), reason, completion_tokens_, std::move(logprobs_), cached_tokens_});
}

void GenerationSlot::Finish(FinishReason reason) {
  // Text held back as a possible stop-string start is real output after all. Bytes of an
  // unfinished character are dropped: they cannot be valid UTF-8 any more.
  request_->Emit(stops_->Flush());
  GenerationOutcome outcome{OkStatus(), reason, completion_tokens_, std::move(logprobs_),
                            cached_tokens_};
  if (stops_->stopped()) outcome.stop_sequence = stops_->matched();
  request_->Finish(std::move(outcome));
}

void GenerationSlot::Reset() {
  request_.reset();
  sampler_.reset();
  grammar_.reset();
  stops_.reset();
  pending_utf8_.clear();
  sample_error_.clear();
  next_logprob_.reset();
  logprobs_.clear();
  tokens_.clear();
  last_token_ = 0;
  n_past_ = 0;
  completion_tokens_ = 0;
  cached_tokens_ = 0;
  reproducible_ = false;
  plain_greedy_ = false;
}

}  // namespace modelrt::llama
