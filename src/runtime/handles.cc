// The typed handles: thin wrappers that run each model method through RunInstrumentedCall, and
// apply the request semantics that are the library's, not a model's (embedding `dimensions`,
// rerank order, `top_n`, `return_documents`).
#include <atomic>
#include <optional>

#include "modelrt/runtime.h"
#include "runtime/embed_dimensions.h"
#include "runtime/instrumented_call.h"
#include "runtime/rerank_ranking.h"
#include "runtime/runtime_core.h"
#include "runtime/serial_queue.h"
#include "core/logging.h"

namespace modelrt {
namespace {

// The aliases to try once `alias` failed with `status`: its fallbacks of the same task, when the
// failure is one that another engine may not meet (IsRetryable: unavailable, an open breaker,
// a full queue, an upstream 5xx). Looked up only on failure: a call that succeeds pays nothing.
std::vector<std::string> FallbacksAfter(internal::RuntimeCore& core, const std::string& alias,
                                        const Status& status) {
  std::vector<std::string> out;
  if (!IsRetryable(status)) return out;
  Result<ModelSpec> spec = core.Spec(alias);
  if (!spec) return out;
  for (const std::string& fallback : spec->fallbacks) {
    Result<ModelSpec> other = core.Spec(fallback);
    if (other && other->task == spec->task) out.push_back(fallback);
  }
  return out;
}

bool MayFallBack(const Status& status, const CallContext& ctx) {
  return IsRetryable(status) && !ctx.cancelled() && !ctx.expired();
}

void LogFallback(const std::string& from, const Status& why, const std::string& to) {
  Log("runtime")->warn("{} failed ({}); falling back to {}", from, why.ToString(), to);
}

// The blocking form: `call(alias)` for the alias, then for each fallback while the failure is
// one a fallback may help with and `may` (a stream that sent nothing yet) allows it.
template <typename R>
Result<R> CallWithFallbacks(internal::RuntimeCore& core, const std::string& alias,
                            const CallContext& ctx, const std::function<Result<R>(const std::string&)>& call,
                            const std::function<bool()>& may = nullptr) {
  Result<R> result = call(alias);
  if (result) {
    result->served_by = alias;
    return result;
  }
  std::string failed = alias;
  for (const std::string& next : FallbacksAfter(core, alias, result.error())) {
    if (!MayFallBack(result.error(), ctx) || (may && !may())) break;
    LogFallback(failed, result.error(), next);
    result = call(next);
    if (result) {
      result->served_by = next;
      return result;
    }
    failed = next;
  }
  return result;
}

// 0 = not known yet (a remote embedder learns its size from its first answer).
std::optional<int> KnownDimensions(const EmbeddingModel& model) {
  const int dimensions = model.Info().dimensions;
  return dimensions > 0 ? std::optional<int>(dimensions) : std::nullopt;
}

}  // namespace

namespace internal {

CallContext WithCallTimeout(CallContext ctx, std::chrono::milliseconds timeout) {
  if (timeout.count() <= 0) return ctx;
  const auto now = Clock::now();
  if (ctx.deadline - now > timeout) ctx.deadline = now + timeout;
  return ctx;
}

Result<RuntimeCore::Lease> AcquireForCall(RuntimeCore& core, const std::string& alias,
                                          CallContext& ctx, bool counted) {
  const auto asked = Clock::now();
  Result<RuntimeCore::Lease> lease = core.Acquire(alias, ctx, counted);
  if (lease && ctx.start_by != Clock::time_point::max()) ctx.start_by += Clock::now() - asked;
  return lease;
}

}  // namespace internal

ModelSpec ModelHandle::spec() const {
  Result<ModelSpec> spec = core_->Spec(alias_);
  if (spec) return *std::move(spec);
  ModelSpec removed;  // the alias went away (Register failed): all we know is its name
  removed.alias = alias_;
  return removed;
}

Result<ModelInfo> ModelHandle::Load() const {
  return core_->Load(alias_, CallContext{});
}

Result<EmbedResult> EmbeddingHandle::Embed(const EmbedRequest& request, CallContext ctx) const {
  // A bad value fails before anything loads; the upper bound needs the engine, but not its work.
  MODELRT_RETURN_IF_ERROR(internal::CheckDimensions(request, std::nullopt, alias_));
  return CallWithFallbacks<EmbedResult>(*core_, alias_, ctx, [&](const std::string& alias) {
    return internal::RunInstrumentedCall<EmbeddingModel, EmbedResult>(
        *core_, alias, ctx,
        [&](EmbeddingModel& model, const CallContext& c) -> Result<EmbedResult> {
          if (request.dimensions) {
            MODELRT_RETURN_IF_ERROR(
                internal::CheckDimensions(request, KnownDimensions(model), alias));
          }
          MODELRT_ASSIGN_OR_RETURN(EmbedResult result, model.Embed(request, c));
          internal::ApplyDimensions(request, result);
          return result;
        });
  });
}

Result<RerankResult> RerankerHandle::Rerank(const RerankRequest& request, CallContext ctx) const {
  MODELRT_RETURN_IF_ERROR(internal::CheckRanking(request));
  return CallWithFallbacks<RerankResult>(*core_, alias_, ctx, [&](const std::string& alias) {
    return internal::RunInstrumentedCall<RerankerModel, RerankResult>(
        *core_, alias, ctx,
        [&](RerankerModel& model, const CallContext& c) -> Result<RerankResult> {
          MODELRT_ASSIGN_OR_RETURN(RerankResult result, model.Rerank(request, c));
          MODELRT_RETURN_IF_ERROR(internal::RankDocuments(request, result));
          return result;
        });
  });
}

Result<GenerateResult> GeneratorHandle::Generate(const GenerateRequest& request,
                                                 const TokenCallback& on_piece,
                                                 CallContext ctx) const {
  // Once text reached the caller a retry would repeat it: only retry before the first piece.
  std::atomic<bool> streamed{false};
  TokenCallback forward;
  if (on_piece) {
    forward = [&](std::string_view piece) {
      streamed.store(true);
      return on_piece(piece);
    };
  }
  return CallWithFallbacks<GenerateResult>(
      *core_, alias_, ctx,
      [&](const std::string& alias) {
        return internal::RunInstrumentedCall<GeneratorModel, GenerateResult>(
            *core_, alias, ctx,
            [&](GeneratorModel& model, const CallContext& c) {
              return model.Generate(request, forward, c);
            },
            [&] { return !streamed.load(); });
      },
      [&] { return !streamed.load(); });
}

namespace {

// What an asynchronous call holds until it is done. Always destroyed on SerialQueue::AfterCalls()
// (MakeAsyncCall's deleter), whichever thread drops the last reference: the lease may hold the
// last reference to the engine, `core` the last one to the runtime and `done` what the caller
// captured, and an engine's thread cannot destroy any of them (it would join itself; see
// serial_queue.h). Copies of the engine's callback can live anywhere in its chain, so the drop
// is made safe where it happens, not by moving references out of one copy. Counted by the core
// from start to drop (RuntimeCore::AsyncCallStarted).
template <typename R>
struct AsyncCall {
  AsyncCall(std::shared_ptr<internal::RuntimeCore> c, const CallContext& ctx)
      : core(std::move(c)), key(core->AsyncCallStarted(ctx.cancel)) {}
  ~AsyncCall() {
    lease.reset();  // first: the runtime's Shutdown waits until no engine is held here
    engine.reset();
    done = nullptr;
    core->AsyncCallEnded(key);
  }
  AsyncCall(const AsyncCall&) = delete;
  AsyncCall& operator=(const AsyncCall&) = delete;

  std::shared_ptr<internal::RuntimeCore> core;
  uint64_t key;
  std::shared_ptr<const ModelSpec> spec;
  std::shared_ptr<const internal::AliasMetrics> metrics;
  Clock::time_point start;
  std::optional<internal::RuntimeCore::Lease> lease;
  std::shared_ptr<const void> engine;  // the lease's engine once checked in, until the drop
  std::function<void(Result<R>)> done;  // called once, kept until the drop
  bool answered = false;

  void Finish(Result<R> result) {
    if (answered) return;
    metrics->call_seconds->Observe(std::chrono::duration<double>(Clock::now() - start).count());
    if (result && lease) result->generation = lease->generation();
    if (result) internal::RecordUsage(*metrics, *result);
    // Checked in before `done`: whoever sees the answer finds the engine idle again.
    if (lease) engine = lease->CheckIn();
    lease.reset();
    if (!result) core->RecordError(*spec, result.error());
    answered = true;
    done(std::move(result));
  }
};

template <typename R>
std::shared_ptr<AsyncCall<R>> MakeAsyncCall(std::shared_ptr<internal::RuntimeCore> core,
                                            const CallContext& ctx) {
  return std::shared_ptr<AsyncCall<R>>(
      new AsyncCall<R>(std::move(core), ctx), [](AsyncCall<R>* call) {
        internal::SerialQueue::AfterCalls().Post([call] { delete call; });
      });
}

// Hands the call to its model once it holds a lease: `start` gives the request to the model with
// the callback that finishes the call.
template <typename M, typename R>
using AsyncStart = std::function<void(M&, const CallContext&, std::function<void(Result<R>)>)>;

template <typename M, typename R>
void StartOnEngine(const std::shared_ptr<AsyncCall<R>>& call, const std::string& alias,
                   const CallContext& ctx, const AsyncStart<M, R>& start) {
  auto* model = dynamic_cast<M*>(&call->lease->model());
  if (model == nullptr) {
    return call->Finish(InternalError("model '" + alias + "' does not implement its task " +
                                      std::string(ToString(call->spec->task))));
  }
  if (Status status = ctx.Check(); !status.ok()) return call->Finish(std::move(status));
  start(*model, ctx, [call](Result<R> result) { call->Finish(std::move(result)); });
}

// RunInstrumentedCall without a thread waiting: setup, timeout, metrics and a lease, then
// `start` (which must own what it reads: it may run on another thread). A live engine is used
// from this thread; a model that must load first is waited for on a waiter thread of the core
// (RuntimeCore::SpawnLoadWaiter), so the caller's thread never blocks on a load. Not retried: a
// failure reaches `done` as it is.
template <typename M, typename R>
void RunAsyncCall(const std::shared_ptr<internal::RuntimeCore>& core, const std::string& alias,
                  CallContext ctx, AsyncStart<M, R> start, std::function<void(Result<R>)> done) {
  Result<internal::RuntimeCore::CallSetup> setup = core->PrepareCall(alias);
  if (!setup) return done(setup.error());
  auto call = MakeAsyncCall<R>(core, ctx);
  call->spec = setup->spec;
  call->metrics = setup->metrics;
  call->done = std::move(done);
  ctx = internal::WithCallTimeout(std::move(ctx), call->spec->timeout);
  call->metrics->calls->Increment();
  call->start = Clock::now();
  Result<std::optional<internal::RuntimeCore::Lease>> live = core->TryAcquire(alias);
  if (!live) return call->Finish(live.error());
  if (*live) {
    call->lease.emplace(std::move(**live));
    return StartOnEngine<M, R>(call, alias, ctx, start);
  }
  auto wait = [call, alias, ctx, start = std::move(start)]() mutable {
    Result<internal::RuntimeCore::Lease> lease =
        internal::AcquireForCall(*call->core, alias, ctx, /*counted=*/true);
    if (!lease) return call->Finish(lease.error());
    call->lease.emplace(*std::move(lease));
    StartOnEngine<M, R>(call, alias, ctx, start);
  };
  if (!core->SpawnLoadWaiter(std::move(wait))) {
    call->Finish(CancelledError("the runtime is shutting down"));
  }
}

// RunAsyncCall for `alias`, then for its fallbacks while each failure allows one (as
// CallWithFallbacks). `may` (empty = always) is asked before each fallback.
template <typename M, typename R>
struct FallbackChain {
  std::shared_ptr<internal::RuntimeCore> core;
  CallContext ctx;
  AsyncStart<M, R> start;
  std::function<void(Result<R>)> done;
  std::function<bool()> may;
  std::vector<std::string> next;  // fallbacks still to try, once the first alias failed
  bool looked_up = false;
};

template <typename M, typename R>
void RunChainFrom(std::shared_ptr<FallbackChain<M, R>> chain, std::string alias) {
  auto core = chain->core;
  auto ctx = chain->ctx;
  auto start = chain->start;
  RunAsyncCall<M, R>(
      core, alias, std::move(ctx), std::move(start),
      [chain = std::move(chain), alias](Result<R> result) mutable {
        if (result) {
          result->served_by = alias;
          return chain->done(std::move(result));
        }
        if (!chain->looked_up) {
          chain->next = FallbacksAfter(*chain->core, alias, result.error());
          chain->looked_up = true;
        }
        if (chain->next.empty() || !MayFallBack(result.error(), chain->ctx) ||
            (chain->may && !chain->may())) {
          return chain->done(std::move(result));
        }
        std::string to = chain->next.front();
        chain->next.erase(chain->next.begin());
        LogFallback(alias, result.error(), to);
        RunChainFrom<M, R>(std::move(chain), std::move(to));
      });
}

template <typename M, typename R>
void RunAsyncWithFallbacks(const std::shared_ptr<internal::RuntimeCore>& core,
                           const std::string& alias, CallContext ctx, AsyncStart<M, R> start,
                           std::function<void(Result<R>)> done,
                           std::function<bool()> may = nullptr) {
  auto chain = std::make_shared<FallbackChain<M, R>>();
  chain->core = core;
  chain->ctx = std::move(ctx);
  chain->start = std::move(start);
  chain->done = std::move(done);
  chain->may = std::move(may);
  RunChainFrom<M, R>(std::move(chain), alias);
}

}  // namespace

void EmbeddingHandle::EmbedAsync(EmbedRequest request, CallContext ctx, EmbedDone done) const {
  if (Status bad = internal::CheckDimensions(request, std::nullopt, alias_); !bad.ok()) {
    return done(bad);
  }
  auto held = std::make_shared<const EmbedRequest>(std::move(request));
  RunAsyncWithFallbacks<EmbeddingModel, EmbedResult>(
      core_, alias_, std::move(ctx),
      [held, alias = alias_](EmbeddingModel& model, const CallContext& c, EmbedDone finish) {
        if (held->dimensions) {
          Status bad = internal::CheckDimensions(*held, KnownDimensions(model), alias);
          if (!bad.ok()) return finish(bad);
        }
        model.EmbedAsync(*held, c, [held, finish = std::move(finish)](Result<EmbedResult> result) {
          if (result) internal::ApplyDimensions(*held, *result);
          finish(std::move(result));
        });
      },
      std::move(done));
}

void RerankerHandle::RerankAsync(RerankRequest request, CallContext ctx, RerankDone done) const {
  if (Status bad = internal::CheckRanking(request); !bad.ok()) return done(bad);
  // The ranking reads the documents (return_documents) once the scores are in.
  auto held = std::make_shared<const RerankRequest>(std::move(request));
  RunAsyncWithFallbacks<RerankerModel, RerankResult>(
      core_, alias_, std::move(ctx),
      [held](RerankerModel& model, const CallContext& c, RerankDone finish) {
        model.RerankAsync(*held, c,
                          [held, finish = std::move(finish)](Result<RerankResult> result) {
                            if (result) {
                              Status ranked = internal::RankDocuments(*held, *result);
                              if (!ranked.ok()) return finish(ranked);
                            }
                            finish(std::move(result));
                          });
      },
      std::move(done));
}

void GeneratorHandle::GenerateAsync(GenerateRequest request, TokenCallback on_piece,
                                    CallContext ctx, GenerateDone done) const {
  auto held = std::make_shared<const GenerateRequest>(std::move(request));
  // A stream falls back only while nothing reached the caller.
  auto streamed = std::make_shared<std::atomic<bool>>(false);
  TokenCallback forward;
  if (on_piece) {
    forward = [streamed, on_piece = std::move(on_piece)](std::string_view piece) {
      streamed->store(true);
      return on_piece(piece);
    };
  }
  RunAsyncWithFallbacks<GeneratorModel, GenerateResult>(
      core_, alias_, std::move(ctx),
      [held, forward = std::move(forward)](GeneratorModel& model, const CallContext& c,
                                           GenerateDone finish) {
        model.GenerateAsync(*held, forward, c, std::move(finish));
      },
      std::move(done), [streamed] { return !streamed->load(); });
}

namespace {

// Runs `fn` on the alias's loaded generator (no retries, no fallbacks: these read the model's
// own tokenizer and template).
template <typename R>
Result<R> WithGenerator(internal::RuntimeCore& core, const std::string& alias, CallContext ctx,
                        const std::function<Result<R>(const GeneratorModel&)>& fn) {
  MODELRT_ASSIGN_OR_RETURN(internal::RuntimeCore::Lease lease,
                           internal::AcquireForCall(core, alias, ctx));
  const auto* model = dynamic_cast<const GeneratorModel*>(&lease.model());
  if (model == nullptr) return InvalidArgumentError("model '" + alias + "' does not generate text");
  return fn(*model);
}

}  // namespace

Result<std::vector<int32_t>> GeneratorHandle::Tokenize(std::string_view text, bool add_special,
                                                       CallContext ctx) const {
  return WithGenerator<std::vector<int32_t>>(
      *core_, alias_, std::move(ctx),
      [&](const GeneratorModel& m) { return m.Tokenize(text, add_special); });
}

Result<std::string> GeneratorHandle::Detokenize(const std::vector<int32_t>& tokens,
                                                CallContext ctx) const {
  return WithGenerator<std::string>(*core_, alias_, std::move(ctx),
                                    [&](const GeneratorModel& m) { return m.Detokenize(tokens); });
}

Result<std::string> GeneratorHandle::RenderPrompt(const GenerateRequest& request,
                                                  CallContext ctx) const {
  return WithGenerator<std::string>(
      *core_, alias_, std::move(ctx),
      [&](const GeneratorModel& m) { return m.RenderPrompt(request); });
}

}  // namespace modelrt
