#include "server/responses_handler.h"

#include <memory>
#include <utility>

#include "core/json.h"
#include "server/error_mapper.h"
#include "server/generation_writer.h"
#include "server/json_fields.h"
#include "server/later_answer.h"
#include "server/model_availability.h"
#include "server/responses_api.h"
#include "server/sse_headers.h"
#include "server/work_estimate.h"

namespace modelrt::server {
namespace {

// One response answered later; OnPiece and Done run on the engine's thread, Done last.
class PendingResponse {
 public:
  PendingResponse(const HandlerDeps& deps, const GenerationCall& call, const Json& body,
                  RequestContext& ctx, AdmissionControl::Ticket ticket,
                  std::function<void(HttpResponse)> finish)
      : deps_(deps),
        alias_(call.model.alias),
        format_(call.model.name, body),
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
    if (!out_.Begin([&] { return format_.Created(); })) return false;
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
    if (!result) return CallFailureResponse(deps_, alias_, result.error());
    Record(*result);
    return JsonResponse(200, format_.Response(*result));
  }

  HttpResponse Streamed(const Result<GenerateResult>& result) {
    if (!result) {
      if (!out_.begun()) return CallFailureResponse(deps_, alias_, result.error());
      out_.Write(format_.Error(MapStatus(result.error())));
      return {};
    }
    Record(*result);
    if (!out_.Begin([&] { return format_.Created(); })) return {};
    if (std::string rest = out_.TakeRest(); !rest.empty()) {
      if (!text_started_) out_.Write(format_.TextStart());
      text_started_ = true;
      out_.Write(format_.TextDelta(rest));
    }
    out_.Write(format_.Finish(*result, text_started_));
    return {};
  }

  void Record(const GenerateResult& result) {
    ctx_.prompt_tokens = result.prompt_tokens;
    ctx_.completion_tokens = result.completion_tokens;
    ctx_.generation = result.generation;
  }

  const HandlerDeps deps_;
  const std::string alias_;
  ResponsesFormatter format_;
  const bool streamed_;
  RequestContext& ctx_;  // alive until finish_ is called (it holds the session)
  AdmissionControl::Ticket ticket_;
  std::function<void(HttpResponse)> finish_;
  GenerationWriter out_;
  bool text_started_ = false;
};

}  // namespace

HttpResponse ResponsesHandler::operator()(const HttpRequest& request, RequestContext& ctx) const {
  LaterAnswer later(ctx);
  Result<Json> body = ParseJsonObject(request.body);
  if (!body) return ErrorResponse(body.error());
  Result<GenerationCall> call = ParseResponsesRequest(*body, *deps_.resolver, *deps_.limits);
  if (!call) return ErrorResponse(call.error());
  ctx.model = call->model.name;
  AdmissionControl::Admission admitted =
      deps_.admission->Admit(call->model.alias, EstimateWork(call->request), ctx.call.start_by);
  if (!admitted.ticket) return RefusalResponse(admitted);
  Result<GeneratorHandle> handle = deps_.runtime->Generator(call->model.alias);
  if (!handle) return ErrorResponse(handle.error());
  auto pending = std::make_shared<PendingResponse>(deps_, *call, *body, ctx,
                                                   std::move(*admitted.ticket), later.TakeFinish());
  TokenCallback on_piece;
  if (pending->streamed()) {
    on_piece = [pending](std::string_view piece) { return pending->OnPiece(piece); };
  }
  handle->GenerateAsync(
      std::move(call->request), std::move(on_piece), ctx.call,
      [pending](Result<GenerateResult> result) { pending->Done(std::move(result)); });
  return later.Pending();
}

}  // namespace modelrt::server
