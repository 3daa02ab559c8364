// The typed handles: thin wrappers that run each model method through RunInstrumentedCall.
#include <atomic>

#include "modelrt/runtime.h"
#include "runtime/instrumented_call.h"
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
  return internal::RunInstrumentedCall<EmbeddingModel, EmbedResult>(
      *core_, alias_, std::move(ctx),
      [&](EmbeddingModel& model, const CallContext& c) { return model.Embed(request, c); });
}

Result<RerankResult> RerankerHandle::Rerank(const RerankRequest& request, CallContext ctx) const {
  return internal::RunInstrumentedCall<RerankerModel, RerankResult>(
      *core_, alias_, std::move(ctx),
      [&](RerankerModel& model, const CallContext& c) { return model.Rerank(request, c); });
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
