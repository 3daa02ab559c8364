#include "providers/llama/generation_request.h"

namespace modelrt::llama {

void GenerationRequest::Emit(std::string text) {
  if (text.empty()) return;
  if (listener_.on_finish) {
    // The caller gave up (a false callback, a cancelled context): the engine ends the sequence
    // at its next step; nothing more reaches the caller meanwhile.
    if (abandoned()) return;
    text_ += text;
    if (listener_.on_piece && !listener_.on_piece(text)) Abandon();
    return;
  }
  {
    MutexLock lock(mu_);
    if (finished_) return;
    pieces_.push_back(std::move(text));
  }
  // A waiting caller costs the worker a futex wake per piece: spent only when it streams.
  if (input_.stream) cv_.notify_all();
}

void GenerationRequest::Finish(GenerationOutcome outcome) {
  {
    MutexLock lock(mu_);
    if (finished_) return;
    finished_ = true;
    outcome_ = outcome;
  }
  cv_.notify_all();
  if (listener_.on_finish) listener_.on_finish(std::move(outcome), std::move(text_));
}

bool GenerationRequest::Wait(std::vector<std::string>* pieces, Clock::time_point deadline) {
  pieces->clear();
  MutexLock lock(mu_);
  auto ready = [&]() REQUIRES(mu_) { return finished_ || (input_.stream && !pieces_.empty()); };
  // time_point::max() means "no deadline"; some wait_until implementations overflow on it.
  if (deadline == Clock::time_point::max()) {
    cv_.wait(lock.native(), ready);
  } else {
    cv_.wait_until(lock.native(), deadline, ready);
  }
  while (!pieces_.empty()) {
    pieces->push_back(std::move(pieces_.front()));
    pieces_.pop_front();
  }
  return finished_;
}

void GenerationRequest::WaitFinished() {
  MutexLock lock(mu_);
  cv_.wait(lock.native(), [&]() REQUIRES(mu_) { return finished_; });
}

GenerationOutcome GenerationRequest::outcome() const {
  MutexLock lock(mu_);
  return outcome_;
}

}  // namespace modelrt::llama
