#include "server/completions_handler.h"

#include "server/error_mapper.h"
#include "server/json_fields.h"
#include "server/model_availability.h"
#include "server/work_estimate.h"

namespace modelrt::server {
namespace {

HttpHeaders SseHeaders() {
  HttpHeaders headers;
  headers.Set("Content-Type", "text/event-stream");
  headers.Set("Cache-Control", "no-cache");
  headers.Set("X-Accel-Buffering", "no");  // tell nginx-style proxies not to buffer
  return headers;
}

void RecordTokens(const GenerateResult& result, RequestContext& ctx) {
  ctx.prompt_tokens = result.prompt_tokens;
  ctx.completion_tokens = result.completion_tokens;
}

}  // namespace

HttpResponse CompletionsHandler::operator()(const HttpRequest& request,
                                            RequestContext& ctx) const {
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
  if (call->stream && ctx.stream) return RunStreaming(*call, *handle, ctx);
  return RunWhole(*call, *handle, ctx);
}

HttpResponse CompletionsHandler::RunWhole(const GenerationCall& call,
                                          const GeneratorHandle& handle,
                                          RequestContext& ctx) const {
  Result<GenerateResult> result = handle.Generate(call.request, {}, ctx.call);
  if (!result) {
    return CallFailureResponse(deps_, call.model.alias, result.error());
  }
  RecordTokens(*result, ctx);
  ctx.generation = result->generation;
  CompletionFormatter format(kind_, call.model.name, false);
  return JsonResponse(200, format.Response(*result));
}

HttpResponse CompletionsHandler::RunStreaming(const GenerationCall& call,
                                              const GeneratorHandle& handle,
                                              RequestContext& ctx) const {
  CompletionFormatter format(kind_, call.model.name, call.include_usage);
  ResponseStream& stream = *ctx.stream;
  bool begun = false;
  bool gone = false;
  std::string held;  // text held back until its last UTF-8 character is complete

  auto write = [&](std::string event) {
    if (!gone && !event.empty() && !stream.Write(std::move(event))) gone = true;
    return !gone;
  };
  auto begin = [&] {
    if (!begun) {
      begun = true;
      if (!stream.Begin(200, SseHeaders())) gone = true;
      write(format.RoleChunk());
    }
    return !gone;
  };
  // Runs on the engine's thread, between decode steps: it only formats and queues.
  auto on_piece = [&](std::string_view piece) -> bool {
    if (gone) return false;
    held.append(piece);
    size_t ready = CompleteUtf8Prefix(held);
    if (ready == 0) return true;
    if (!begin()) return false;
    bool ok = write(format.ContentChunk(std::string_view(held).substr(0, ready)));
    held.erase(0, ready);
    return ok;
  };

  Result<GenerateResult> result = handle.Generate(call.request, on_piece, ctx.call);
  if (!result) {
    if (!begun) {
      return CallFailureResponse(deps_, call.model.alias, result.error());
    }
    write(CompletionFormatter::ErrorEvent(MapStatus(result.error())));
    write(CompletionFormatter::Done());
    return {};
  }
  RecordTokens(*result, ctx);
  if (!begin()) return {};
  if (!held.empty()) write(format.ContentChunk(held));
  write(format.FinishChunk(result->finish_reason));
  write(format.UsageChunk(*result));
  write(CompletionFormatter::Done());
  return {};
}

}  // namespace modelrt::server
