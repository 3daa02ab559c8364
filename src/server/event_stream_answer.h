// What Anthropic's Messages API and OpenAI's Responses API share once a request is parsed: one
// text block streamed as named SSE events between an opening and a closing sequence, or a whole
// JSON answer, with errors in the door's own shape. A Door says how:
//
//   struct Door {
//     using Formatter = ...;  // TextStart(), TextDelta(text), Finish(result, text_started)
//     static HttpResponse Shape(HttpResponse openai_shaped);  // an error in the door's shape
//     static std::string Opening(Formatter&, int64_t input_tokens);  // 0 when not known yet
//     static Json Whole(Formatter&, const GenerateResult&);
//     static std::string ErrorEvent(Formatter&, const HttpResponse& openai_shaped);
//   };
//   return AnswerLater<Door>(deps, std::move(call), Formatter(...), ctx, later);
//
// As every generation handler: no thread waits for the engine; a stream starts at the first
// piece, so errors before that are whole 4xx/5xx answers.
//
// Thread-safety: one generation's callbacks, one at a time (the engine's thread).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "server/error_mapper.h"
#include "server/generation_request.h"
#include "server/generation_writer.h"
#include "server/handler_deps.h"
#include "server/later_answer.h"
#include "server/model_availability.h"
#include "server/sse_headers.h"
#include "server/work_estimate.h"

namespace modelrt::server {

template <typename Door>
class PendingEventAnswer {
 public:
  using Formatter = typename Door::Formatter;

  PendingEventAnswer(const HandlerDeps& deps, const GenerationCall& call, Formatter format,
                     RequestContext& ctx, AdmissionControl::Ticket ticket,
                     std::function<void(HttpResponse)> finish)
      : deps_(deps),
        alias_(call.model.alias),
        format_(std::move(format)),
        streamed_(call.stream && ctx.stream),
        ctx_(ctx),
        ticket_(std::move(ticket)),
        finish_(std::move(finish)),
        out_(ctx, SseHeaders()) {}

  bool streamed() const { return streamed_; }

  bool OnPiece(std::string_view piece) {
    if (out_.gone()) return false;
    std::string text = out_.TakeText(piece);
    if (text.empty()) return true;
    if (!Begin(0)) return false;
    if (!text_started_) {
      text_started_ = true;
      out_.Write(format_.TextStart());
    }
    return out_.Write(format_.TextDelta(text));
  }

  void Done(Result<GenerateResult> result) {
    ticket_.Release();
    HttpResponse response = streamed_ ? Streamed(result) : Whole(result);
    std::function<void(HttpResponse)> finish = std::move(finish_);
    finish(std::move(response));
  }

 private:
  HttpResponse Whole(const Result<GenerateResult>& result) {
    if (!result) return Door::Shape(CallFailureResponse(deps_, alias_, result.error()));
    Record(*result);
    return JsonResponse(200, Door::Whole(format_, *result));
  }

  HttpResponse Streamed(const Result<GenerateResult>& result) {
    if (!result) {
      HttpResponse failure = CallFailureResponse(deps_, alias_, result.error());
      if (!out_.begun()) return Door::Shape(std::move(failure));
      out_.Write(Door::ErrorEvent(format_, failure));
      return {};
    }
    Record(*result);
    if (!Begin(result->prompt_tokens)) return {};
    if (std::string rest = out_.TakeRest(); !rest.empty()) {
      if (!text_started_) out_.Write(format_.TextStart());
      text_started_ = true;
      out_.Write(format_.TextDelta(rest));
    }
    out_.Write(format_.Finish(*result, text_started_));
    return {};
  }

  // The opening events carry the prompt's size where the door has one; a stream that starts
  // with its first piece does not know it yet (the closing events then give it).
  bool Begin(int64_t input_tokens) {
    return out_.Begin([&] { return Door::Opening(format_, input_tokens); });
  }

  void Record(const GenerateResult& result) {
    ctx_.prompt_tokens = result.prompt_tokens;
    ctx_.completion_tokens = result.completion_tokens;
    ctx_.generation = result.generation;
  }

  const HandlerDeps deps_;
  const std::string alias_;
  Formatter format_;
  const bool streamed_;
  RequestContext& ctx_;  // alive until finish_ is called (it holds the session)
  AdmissionControl::Ticket ticket_;
  std::function<void(HttpResponse)> finish_;
  GenerationWriter out_;
  bool text_started_ = false;
};

// Admits `call`, hands it to its generator and returns the handler's answer (later.Pending(),
// or a refusal in the door's shape).
template <typename Door>
HttpResponse AnswerLater(const HandlerDeps& deps, GenerationCall call,
                         typename Door::Formatter format, RequestContext& ctx, LaterAnswer& later) {
  ctx.model = call.model.name;
  AdmissionControl::Admission admitted =
      deps.admission->Admit(call.model.alias, EstimateWork(call.request), ctx.call.start_by);
  if (!admitted.ticket) return Door::Shape(RefusalResponse(admitted));
  Result<GeneratorHandle> handle = deps.runtime->Generator(call.model.alias);
  if (!handle) return Door::Shape(ErrorResponse(handle.error()));
  auto pending = std::make_shared<PendingEventAnswer<Door>>(
      deps, call, std::move(format), ctx, std::move(*admitted.ticket), later.TakeFinish());
  TokenCallback on_piece;
  if (pending->streamed()) {
    on_piece = [pending](std::string_view piece) { return pending->OnPiece(piece); };
  }
  handle->GenerateAsync(
      std::move(call.request), std::move(on_piece), ctx.call,
      [pending](Result<GenerateResult> result) { pending->Done(std::move(result)); });
  return later.Pending();
}

}  // namespace modelrt::server
