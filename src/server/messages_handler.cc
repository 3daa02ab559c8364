#include "server/messages_handler.h"

#include <memory>
#include <utility>

#include "core/json.h"
#include "server/anthropic_messages.h"
#include "server/completion_format.h"
#include "server/error_mapper.h"
#include "server/generation_writer.h"
#include "server/json_fields.h"
#include "server/later_answer.h"
#include "server/model_availability.h"
#include "server/sse_headers.h"
#include "server/work_estimate.h"

namespace modelrt::server {
namespace {

// One message answered later; OnPiece and Done run on the engine's thread, Done last.
class PendingMessage {
 public:
  PendingMessage(const HandlerDeps& deps, const GenerationCall& call, RequestContext& ctx,
                 AdmissionControl::Ticket ticket, std::function<void(HttpResponse)> finish)
      : deps_(deps),
        alias_(call.model.alias),
        format_(call.model.name),
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
    if (!result) return AnthropicErrorResponse(CallFailureResponse(deps_, alias_, result.error()));
    Record(*result);
    return JsonResponse(200, format_.Message(*result));
  }

  HttpResponse Streamed(const Result<GenerateResult>& result) {
    if (!result) {
      HttpResponse failure = CallFailureResponse(deps_, alias_, result.error());
      if (!out_.begun()) return AnthropicErrorResponse(std::move(failure));
      out_.Write(AnthropicFormatter::ErrorEvent(failure));
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

  // message_start carries the prompt's size; a stream that starts with its first piece does not
  // know it yet (message_delta's usage then gives it).
  bool Begin(int64_t input_tokens) {
    return out_.Begin([&] { return format_.MessageStart(input_tokens); });
  }

  void Record(const GenerateResult& result) {
    ctx_.prompt_tokens = result.prompt_tokens;
    ctx_.completion_tokens = result.completion_tokens;
    ctx_.generation = result.generation;
  }

  const HandlerDeps deps_;
  const std::string alias_;
  AnthropicFormatter format_;
  const bool streamed_;
  RequestContext& ctx_;
  AdmissionControl::Ticket ticket_;
  std::function<void(HttpResponse)> finish_;
  GenerationWriter out_;
  bool text_started_ = false;
};

}  // namespace

HttpResponse MessagesHandler::operator()(const HttpRequest& request, RequestContext& ctx) const {
  Result<Json> body = ParseJsonObject(request.body);
  if (!body) return AnthropicErrorResponse(ErrorResponse(body.error()));
  return action_ == Action::kCreate ? Create(*body, ctx) : CountTokens(*body, ctx);
}

HttpResponse MessagesHandler::Create(const Json& body, RequestContext& ctx) const {
  LaterAnswer later(ctx);
  Result<GenerationCall> call =
      ParseAnthropicRequest(body, *deps_.resolver, *deps_.limits, /*need_max_tokens=*/true);
  if (!call) return AnthropicErrorResponse(ErrorResponse(call.error()));
  ctx.model = call->model.name;
  AdmissionControl::Admission admitted =
      deps_.admission->Admit(call->model.alias, EstimateWork(call->request), ctx.call.start_by);
  if (!admitted.ticket) return AnthropicErrorResponse(RefusalResponse(admitted));
  Result<GeneratorHandle> handle = deps_.runtime->Generator(call->model.alias);
  if (!handle) return AnthropicErrorResponse(ErrorResponse(handle.error()));
  auto pending = std::make_shared<PendingMessage>(deps_, *call, ctx, std::move(*admitted.ticket),
                                                  later.TakeFinish());
  TokenCallback on_piece;
  if (pending->streamed()) {
    on_piece = [pending](std::string_view piece) { return pending->OnPiece(piece); };
  }
  handle->GenerateAsync(
      std::move(call->request), std::move(on_piece), ctx.call,
      [pending](Result<GenerateResult> result) { pending->Done(std::move(result)); });
  return later.Pending();
}

HttpResponse MessagesHandler::CountTokens(const Json& body, RequestContext& ctx) const {
  // The prompt the template makes of the request, tokenized as the generation would.
  Result<Json> answer = [&]() -> Result<Json> {
    MODELRT_ASSIGN_OR_RETURN(GenerationCall call, ParseAnthropicRequest(body, *deps_.resolver, *deps_.limits,
                                                                        /*need_max_tokens=*/false));
    ctx.model = call.model.name;
    MODELRT_ASSIGN_OR_RETURN(GeneratorHandle model, deps_.runtime->Generator(call.model.alias));
    MODELRT_ASSIGN_OR_RETURN(std::string prompt, model.RenderPrompt(call.request, ctx.call));
    MODELRT_ASSIGN_OR_RETURN(std::vector<int32_t> tokens,
                             model.Tokenize(prompt, /*add_special=*/true, ctx.call));
    return Json{{"input_tokens", tokens.size()}};
  }();
  if (!answer) return AnthropicErrorResponse(ErrorResponse(answer.error()));
  return JsonResponse(200, *answer);
}

}  // namespace modelrt::server
