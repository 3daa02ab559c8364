#include "server/completions_handler.h"

#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "core/json.h"
#include "core/thread_annotations.h"
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

// One completion answered later, with its n choices: each its own generation (on a local
// engine they share the prompt's KV through the prompt cache). OnPiece and Done run on the
// engines' threads, Done last for each choice; choices may run on different threads (a
// fallback, a remote deployment), so one lock keeps the stream in order. They only format and
// queue.
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
        out_(ctx, SseHeaders()),
        choices_(static_cast<size_t>(call.n)),
        remaining_(call.n) {}

  bool streamed() const { return streamed_; }

  bool OnPiece(int index, std::string_view piece) {
    MutexLock lock(mu_);
    if (out_.gone()) return false;
    std::string text = choices_[index].held.Take(piece);
    if (text.empty()) return true;
    return Start(index) && out_.Write(format_.ContentChunk(text, index));
  }

  void Done(int index, Result<GenerateResult> result) {
    std::optional<HttpResponse> response;
    {
      MutexLock lock(mu_);
      if (streamed_ && result) EndStreamedChoice(index, *result);
      choices_[index].result = std::move(result);
      if (--remaining_ > 0) return;
      ticket_.Release();
      response = streamed_ ? Streamed() : Whole();
    }
    std::function<void(HttpResponse)> finish = std::move(finish_);
    finish(*std::move(response));
  }

 private:
  struct Choice {
    Utf8Holdback held;  // each choice's text is its own UTF-8 stream
    bool started = false;
    std::optional<Result<GenerateResult>> result;
  };

  // The first failed choice's error, if any.
  std::optional<Status> Failure() const REQUIRES(mu_) {
    for (const Choice& c : choices_) {
      if (!*c.result) return c.result->error();
    }
    return std::nullopt;
  }

  // The choices' results, moved out (once every choice has succeeded).
  std::vector<GenerateResult> TakeResults() REQUIRES(mu_) {
    std::vector<GenerateResult> results;
    for (Choice& c : choices_) results.push_back(*std::move(*c.result));
    return results;
  }

  HttpResponse Whole() REQUIRES(mu_) {
    if (std::optional<Status> error = Failure()) return CallFailureResponse(deps_, alias_, *error);
    const std::vector<GenerateResult> results = TakeResults();
    RecordTokens(results);
    ctx_.generation = results.front().generation;
    Json body = format_.Response(results);
    // A stream names its model before the answer is known; a whole answer names the fallback.
    const std::optional<std::string> fallback = FallbackThatServed(results.front().served_by, alias_);
    if (!fallback) return JsonResponse(200, body);
    body["model"] = *fallback;
    HttpResponse response = JsonResponse(200, body);
    response.SetHeader(kServedByHeader, *fallback);
    return response;
  }

  // Opens the stream and choice `index` (its role chunk) the first time each is needed.
  bool Start(int index) REQUIRES(mu_) {
    if (!out_.Begin()) return false;
    Choice& choice = choices_[index];
    if (choice.started) return true;
    choice.started = true;
    return out_.Write(format_.RoleChunk(index));
  }

  void EndStreamedChoice(int index, const GenerateResult& result) REQUIRES(mu_) {
    if (!Start(index)) return;
    Choice& choice = choices_[index];
    if (std::string rest = choice.held.TakeRest(); !rest.empty()) {
      out_.Write(format_.ContentChunk(rest, index));
    }
    out_.Write(format_.ReplyPartsChunk(result, index));
    out_.Write(format_.FinishChunk(result, index));
  }

  HttpResponse Streamed() REQUIRES(mu_) {
    if (std::optional<Status> error = Failure()) {
      // Before the first piece the client still gets a proper error response.
      if (!out_.begun()) return CallFailureResponse(deps_, alias_, *error);
      out_.Write(CompletionFormatter::ErrorEvent(MapStatus(*error)));
      out_.Write(CompletionFormatter::Done());
      return {};
    }
    const std::vector<GenerateResult> results = TakeResults();
    RecordTokens(results);
    if (!out_.Begin()) return {};
    out_.Write(format_.UsageChunk(CombinedUsage(results)));
    out_.Write(CompletionFormatter::Done());
    return {};
  }

  void RecordTokens(const std::vector<GenerateResult>& results) REQUIRES(mu_) {
    const GenerateResult usage = CombinedUsage(results);
    ctx_.prompt_tokens = usage.prompt_tokens;
    ctx_.completion_tokens = usage.completion_tokens;
  }

  const HandlerDeps deps_;
  const std::string alias_;
  CompletionFormatter format_;
  const bool streamed_;
  RequestContext& ctx_;  // alive until finish_ is called (it holds the session)
  AdmissionControl::Ticket ticket_;
  std::function<void(HttpResponse)> finish_;
  Mutex mu_;
  GenerationWriter out_ GUARDED_BY(mu_);
  std::vector<Choice> choices_ GUARDED_BY(mu_);
  int remaining_ GUARDED_BY(mu_);
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
  AdmissionControl::Admission admitted = deps_.admission->Admit(
      call->model.alias, EstimateWork(call->request) * call->n, ctx.call.start_by);
  if (!admitted.ticket) return RefusalResponse(admitted);
  Result<GeneratorHandle> handle = deps_.runtime->Generator(call->model.alias);
  if (!handle) return ErrorResponse(handle.error());

  auto pending = std::make_shared<PendingCompletion>(
      deps_, kind_, *call, ctx, std::move(*admitted.ticket), later.TakeFinish());
  // From here the request holds no thread: the engine calls back when it has text.
  for (int i = 0; i < call->n; ++i) {
    GenerateRequest choice = i + 1 < call->n ? call->request : std::move(call->request);
    // Seeded choices stay reproducible without being copies of each other.
    if (choice.sampling.seed) choice.sampling.seed = *choice.sampling.seed + static_cast<uint32_t>(i);
    TokenCallback on_piece;
    if (pending->streamed()) {
      on_piece = [pending, i](std::string_view piece) { return pending->OnPiece(i, piece); };
    }
    handle->GenerateAsync(
        std::move(choice), std::move(on_piece), ctx.call,
        [pending, i](Result<GenerateResult> result) { pending->Done(i, std::move(result)); });
  }
  return later.Pending();
}

}  // namespace modelrt::server
