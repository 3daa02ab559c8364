// One generation in flight: its input, and the channel that carries text from the engine's
// worker thread to the caller's thread, where the caller's TokenCallback runs. Because pieces
// are queued here instead of being delivered by the worker, a slow callback never stalls the
// other sequences decoded in the same batch (and the output of one generation is bounded by
// its context, so the queue is too). An asynchronous caller (GenerateAsync: a server that holds
// no thread per request) gives a Listener instead; then the worker delivers, and the callback
// must be short (format and queue, as the server's is).
//
//   auto request = std::make_shared<GenerationRequest>(std::move(input));
//   engine.Submit(request);                                     // caller
//   request->Emit("Once");  request->Finish(OkStatus(), ...);   // worker
//   std::vector<std::string> pieces;
//   while (!request->Wait(&pieces, deadline)) deliver(pieces);  // caller
//
// Thread-safety: thread-safe. Emit/Finish come from the worker, Wait/Abandon from the caller.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/thread_annotations.h"
#include "modelrt/model.h"
#include "modelrt/status.h"
#include "providers/llama/llama_common.h"
#include "providers/llama/sampler_chain.h"

namespace modelrt::llama {

// What the caller asked for, already tokenized and validated.
struct GenerationInput {
  std::vector<llama_token> prompt;
  SamplingParams sampling;
  int max_tokens = 0;  // <= 0: until the sequence's context is full
  std::vector<std::string> stop;
  bool ignore_eos = false;
  CallContext ctx;
  // Whether the caller takes pieces as they come (a TokenCallback) or only the whole text at
  // the end; a non-streaming caller is not woken for every piece.
  bool stream = true;
  // A tool-call grammar that waits for its trigger (sampling.grammar applies from there on).
  std::optional<GrammarTriggers> lazy_grammar;
  // Tokens the chat template put at the end of the prompt that sampling.grammar starts with:
  // fed to the grammar before the first sampled token.
  std::vector<llama_token> grammar_prefill;
  // Tokens rendered as their text although special (<tool_call> in a Qwen vocabulary), sorted.
  std::vector<llama_token> shown_special;
  // Log-probabilities for each output token, with this many alternatives.
  bool logprobs = false;
  int top_logprobs = 0;
};

// How the worker ended the generation.
struct GenerationOutcome {
  Status status;  // non-OK: DeadlineExceeded, Unavailable (engine stopped), Internal
  FinishReason finish_reason = FinishReason::kStop;
  int64_t completion_tokens = 0;
  std::vector<TokenLogprob> logprobs;  // when GenerationInput::logprobs
  int64_t cached_tokens = 0;  // prompt tokens whose KV was reused instead of decoded
  std::string stop_sequence;  // the stop string that ended it (FinishReason::kStop)
};

class GenerationRequest {
 public:
  // An asynchronous caller (GeneratorModel::GenerateAsync) is told on the engine's thread
  // instead of waiting in Wait: each piece as it is emitted (false abandons the request), then
  // the outcome and the whole text, once. Neither is called with an engine lock held.
  struct Listener {
    TokenCallback on_piece;  // may be empty
    std::function<void(GenerationOutcome outcome, std::string text)> on_finish;
  };

  explicit GenerationRequest(GenerationInput input) : input_(std::move(input)) {}
  GenerationRequest(GenerationInput input, Listener listener)
      : input_(std::move(input)), listener_(std::move(listener)) {}
  GenerationRequest(const GenerationRequest&) = delete;
  GenerationRequest& operator=(const GenerationRequest&) = delete;

  const GenerationInput& input() const { return input_; }

  // ---- worker side
  // Queues text for the caller, or hands it to the listener (ignored once finished).
  void Emit(std::string text);
  // Ends the request; later calls are ignored.
  void Finish(GenerationOutcome outcome);
  // True when the caller no longer wants output, or its context is cancelled.
  bool abandoned() const {
    return abandoned_.load(std::memory_order_relaxed) || input_.ctx.cancelled();
  }

  // ---- caller side
  // Blocks until text is queued (streaming requests only), the request is finished, or
  // `deadline` passes; moves the queued text into `pieces` (cleared first). Returns true once
  // finished and fully drained.
  bool Wait(std::vector<std::string>* pieces, Clock::time_point deadline);
  // Tells the worker to stop this generation (callback said stop, or the caller gave up).
  void Abandon() { abandoned_.store(true, std::memory_order_relaxed); }
  // Blocks until the worker has finished the request (after Abandon: within one decode step).
  void WaitFinished();
  // Valid once finished.
  GenerationOutcome outcome() const;

 private:
  const GenerationInput input_;
  const Listener listener_;  // on_finish empty: a waiting (synchronous) caller
  std::string text_;         // what a listener has been given so far (engine thread only)
  std::atomic<bool> abandoned_{false};
  mutable Mutex mu_;
  CondVar cv_;
  std::deque<std::string> pieces_ GUARDED_BY(mu_);
  bool finished_ GUARDED_BY(mu_) = false;
  GenerationOutcome outcome_ GUARDED_BY(mu_);
};

}  // namespace modelrt::llama
