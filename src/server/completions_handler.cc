#include "server/completions_handler.h"

#include <memory>
#include <utility>

#include "core/json.h"
#include "server/error_mapper.h"
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
        finish_(std::move(finish)) {}

  bool streamed() const { return streamed_; }

  bool OnPiece(std::string_view piece) {
    if (gone_) return false;
    held_.append(piece);  // held back until its last UTF-8 character is complete
    size_t ready = CompleteUtf8Prefix(held_);
    if (ready == 0) return true;
    if (!Begin()) return false;
    bool ok = Write(format_.ContentChunk(std::string_view(held_).substr(0, ready)));
    held_.erase(0, ready);
    return ok;
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
      if (!begun_) return CallFailureResponse(deps_, alias_, result.error());
      Write(CompletionFormatter::ErrorEvent(MapStatus(result.error())));
      Write(CompletionFormatter::Done());
      return {};
    }
    RecordTokens(*result);
    if (!Begin()) return {};
    if (!held_.empty()) Write(format_.ContentChunk(held_));
    Write(format_.ReplyPartsChunk(*result));
    Write(format_.FinishChunk(*result));
    Write(format_.UsageChunk(*result));
    Write(CompletionFormatter::Done());
    return {};
  }

  bool Write(std::string event) {
    if (!gone_ && !event.empty() && !ctx_.stream->Write(std::move(event))) gone_ = true;
    return !gone_;
  }

  bool Begin() {
    if (!begun_) {
      begun_ = true;
      if (!ctx_.stream->Begin(200, SseHeaders())) gone_ = true;
      Write(format_.RoleChunk());
    }
    return !gone_;
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
  bool begun_ = false;
  bool gone_ = false;
  std::string held_;
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
