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

namespace modelrt {

namespace internal {

CallContext WithCallTimeout(CallContext ctx, std::chrono::milliseconds timeout) {
  if (timeout.count() <= 0) return ctx;
  const auto now = Clock::now();
  if (ctx.deadline - now > timeout) ctx.deadline = now + timeout;
  return ctx;
}

Result<RuntimeCore::Lease> AcquireForCall(RuntimeCore& core, const std::string& alias,
                                          CallContext& ctx) {
  const auto asked = Clock::now();
  Result<RuntimeCore::Lease> lease = core.Acquire(alias, ctx);
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
  return internal::RunInstrumentedCall<EmbeddingModel, EmbedResult>(
      *core_, alias_, std::move(ctx),
      [&](EmbeddingModel& model, const CallContext& c) -> Result<EmbedResult> {
        if (request.dimensions) {
          MODELRT_RETURN_IF_ERROR(
              internal::CheckDimensions(request, model.Info().dimensions, alias_));
        }
        MODELRT_ASSIGN_OR_RETURN(EmbedResult result, model.Embed(request, c));
        internal::ApplyDimensions(request, result);
        return result;
      });
}

Result<RerankResult> RerankerHandle::Rerank(const RerankRequest& request, CallContext ctx) const {
  MODELRT_RETURN_IF_ERROR(internal::CheckRanking(request));
  return internal::RunInstrumentedCall<RerankerModel, RerankResult>(
      *core_, alias_, std::move(ctx),
      [&](RerankerModel& model, const CallContext& c) -> Result<RerankResult> {
        MODELRT_ASSIGN_OR_RETURN(RerankResult result, model.Rerank(request, c));
        MODELRT_RETURN_IF_ERROR(internal::RankDocuments(request, result));
        return result;
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
  return internal::RunInstrumentedCall<GeneratorModel, GenerateResult>(
      *core_, alias_, std::move(ctx),
      [&](GeneratorModel& model, const CallContext& c) {
        return model.Generate(request, forward, c);
      },
      [&] { return !streamed.load(); });
}

namespace {

// What an asynchronous generation holds until it is done. Given to the engine's callback and,
// once that ran, dropped on SerialQueue::AfterCalls(): the lease may hold the last reference to
// the engine and `core` the last one to the runtime, and the engine's thread cannot destroy
// either (see serial_queue.h).
struct AsyncGeneration {
  AsyncGeneration(std::shared_ptr<internal::RuntimeCore> c, const CallContext& ctx)
      : core(std::move(c)), key(core->AsyncCallStarted(ctx.cancel)) {}
  ~AsyncGeneration() {
    lease.reset();  // first: the runtime's Shutdown waits until no engine is held here
    done = nullptr;
    core->AsyncCallEnded(key);
  }
  AsyncGeneration(const AsyncGeneration&) = delete;
  AsyncGeneration& operator=(const AsyncGeneration&) = delete;

  std::shared_ptr<internal::RuntimeCore> core;
  uint64_t key;
  std::shared_ptr<const ModelSpec> spec;
  std::shared_ptr<const internal::AliasMetrics> metrics;
  Clock::time_point start;
  std::optional<internal::RuntimeCore::Lease> lease;
  GenerateDone done;

  void Finish(Result<GenerateResult> result) {
    metrics->call_seconds->Observe(std::chrono::duration<double>(Clock::now() - start).count());
    if (result && lease) result->generation = lease->generation();
    if (!result) core->RecordError(*spec, result.error());
    GenerateDone call = std::move(done);
    call(std::move(result));
  }
};

}  // namespace

void GeneratorHandle::GenerateAsync(const GenerateRequest& request, TokenCallback on_piece,
                                    CallContext ctx, GenerateDone done) const {
  Result<internal::RuntimeCore::CallSetup> setup = core_->PrepareCall(alias_);
  if (!setup) return done(setup.error());
  auto call = std::make_shared<AsyncGeneration>(core_, ctx);
  call->spec = setup->spec;
  call->metrics = setup->metrics;
  call->done = std::move(done);
  ctx = internal::WithCallTimeout(std::move(ctx), call->spec->timeout);
  call->metrics->calls->Increment();
  call->start = Clock::now();
  Result<internal::RuntimeCore::Lease> lease = internal::AcquireForCall(*core_, alias_, ctx);
  if (!lease) return call->Finish(lease.error());
  call->lease.emplace(*std::move(lease));
  auto* model = dynamic_cast<GeneratorModel*>(&call->lease->model());
  if (model == nullptr) {
    return call->Finish(InternalError("model '" + alias_ + "' does not implement its task generate"));
  }
  if (Status status = ctx.Check(); !status.ok()) return call->Finish(std::move(status));
  model->GenerateAsync(request, std::move(on_piece), ctx,
                       [call](Result<GenerateResult> result) mutable {
                         call->Finish(std::move(result));
                         // Moved out: the engine's copy of this callback holds nothing now.
                         internal::SerialQueue::AfterCalls().Post([held = std::move(call)] {});
                       });
}

}  // namespace modelrt
