#include "server/completions_handler.h"

#include <memory>
#include <utility>

#include "core/json.h"
#include "server/error_mapper.h"
#include "server/generation_writer.h"
#include "server/json_fields.h"
#include "server/later_answer.h"
#include "server/model_availability.h"
#include "server/served_by.h"
#include "server/sse_headers.h"
#include "server/work_estimate.h"

namespace modelrt::server {
namespace {

// One generation answered later: what the engine thread's callbacks share. OnPiece and Done
// run on the engine's thread (one at a time, Done last); they only format and queue.
class PendingCompletion {
 public:
  PendingCompletion(const HandlerDeps& deps, CompletionKind kind, const GenerationCall& call,
                    RequestContext& ctx, AdmissionControl::Ticket ticket,
                    std::function<void(HttpResponse)> finish)
      : deps_(deps),
        alias_(call.model.alias),
        format_(kind, call.model.name, call.stream && call.include_usage, call.request.logprobs),
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
    return out_.Begin([&] { return format_.RoleChunk(); }) && out_.Write(format_.ContentChunk(text));
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
    RecordTokens(*result);
    ctx_.generation = result->generation;
    Json body = format_.Response(*result);
    // A stream names its model before the answer is known; a whole answer names the fallback.
    const std::optional<std::string> fallback = FallbackThatServed(result->served_by, alias_);
    if (!fallback) return JsonResponse(200, body);
    body["model"] = *fallback;
    HttpResponse response = JsonResponse(200, body);
    response.SetHeader(kServedByHeader, *fallback);
    return response;
  }

  HttpResponse Streamed(const Result<GenerateResult>& result) {
    if (!result) {
      // Before the first piece the client still gets a proper error response.
      if (!out_.begun()) return CallFailureResponse(deps_, alias_, result.error());
      out_.Write(CompletionFormatter::ErrorEvent(MapStatus(result.error())));
      out_.Write(CompletionFormatter::Done());
      return {};
    }
    RecordTokens(*result);
    if (!out_.Begin([&] { return format_.RoleChunk(); })) return {};
    if (std::string rest = out_.TakeRest(); !rest.empty()) out_.Write(format_.ContentChunk(rest));
    out_.Write(format_.ReplyPartsChunk(*result));
    out_.Write(format_.FinishChunk(*result));
    out_.Write(format_.UsageChunk(*result));
    out_.Write(CompletionFormatter::Done());
    return {};
  }

  void RecordTokens(const GenerateResult& result) {
    ctx_.prompt_tokens = result.prompt_tokens;
    ctx_.completion_tokens = result.completion_tokens;
  }

  const HandlerDeps deps_;
  const std::string alias_;
  CompletionFormatter format_;
  const bool streamed_;
  RequestContext& ctx_;  // alive until finish_ is called (it holds the session)
  AdmissionControl::Ticket ticket_;
  std::function<void(HttpResponse)> finish_;
  GenerationWriter out_;
};

}  // namespace

HttpResponse CompletionsHandler::operator()(const HttpRequest& request,
                                            RequestContext& ctx) const {
  LaterAnswer later(ctx);
  Result<Json> body = ParseJsonObject(request.body);
  if (!body) return ErrorResponse(body.error());
  Result<GenerationCall> call = kind_ == CompletionKind::kChat
                                    ? ParseChatRequest(*body, *deps_.resolver, *deps_.limits)
                                    : ParseCompletionRequest(*body, *deps_.resolver, *deps_.limits);
  if (!call) return ErrorResponse(call.error());
  ctx.model = call->model.name;
  AdmissionControl::Admission admitted =
      deps_.admission->Admit(call->model.alias, EstimateWork(call->request), ctx.call.start_by);
  if (!admitted.ticket) return RefusalResponse(admitted);
  Result<GeneratorHandle> handle = deps_.runtime->Generator(call->model.alias);
  if (!handle) return ErrorResponse(handle.error());

  auto pending = std::make_shared<PendingCompletion>(
      deps_, kind_, *call, ctx, std::move(*admitted.ticket), later.TakeFinish());
  TokenCallback on_piece;
  if (pending->streamed()) {
    on_piece = [pending](std::string_view piece) { return pending->OnPiece(piece); };
  }
  // From here the request holds no thread: the engine calls back when it has text.
  handle->GenerateAsync(
      std::move(call->request), std::move(on_piece), ctx.call,
      [pending](Result<GenerateResult> result) { pending->Done(std::move(result)); });
  return later.Pending();
}

}  // namespace modelrt::server
