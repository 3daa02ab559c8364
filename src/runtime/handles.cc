// The typed handles: thin wrappers that run each model method through RunInstrumentedCall, and
// apply the request semantics that are the library's, not a model's (embedding `dimensions`,
// rerank order, `top_n`, `return_documents`).
#include <atomic>

#include "modelrt/runtime.h"
#include "runtime/embed_dimensions.h"
#include "runtime/instrumented_call.h"
#include "runtime/rerank_ranking.h"
#include "runtime/runtime_core.h"

namespace modelrt {

namespace internal {

CallContext WithCallTimeout(CallContext ctx, std::chrono::milliseconds timeout) {
  if (timeout.count() <= 0) return ctx;
  const auto now = Clock::now();
  if (ctx.deadline - now > timeout) ctx.deadline = now + timeout;
  return ctx;
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

}  // namespace modelrt
